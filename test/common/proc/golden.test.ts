import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BreakdownCollector, computeSsSummary, countNetTcp, parseNetNetstat, parseNetSnmp, parseSockstat, statesFromArray } from '@tcpfleet/common';
import { FIXTURES, goldenPath, listCases, readCase, stableJson } from '../../helpers/fixtures.js';

// Golden files change only through `npm run test:update`; review their diff like code.
for (const [parser, family] of [
  ['net-tcp', 4],
  ['net-tcp6', 6],
] as const) {
  describe.each(listCases(parser))(`${parser} golden: %s`, (file) => {
    it('matches its golden output', async () => {
      const b = new BreakdownCollector();
      const r = countNetTcp(readCase(parser, file), `${parser.replace('-', '/')} (${file})`, family, b);
      const out = { states: statesFromArray(r.counts), sockets: r.sockets, skipped: r.skipped, firstError: r.firstError, bytes: r.bytes, breakdown: b.result(10) };
      await expect(stableJson(out)).toMatchFileSnapshot(goldenPath(parser, file));
    });
  });
}

describe.each(listCases('net-snmp'))('net-snmp golden: %s', (file) => {
  it('matches its golden output', async () => {
    await expect(stableJson(parseNetSnmp(readCase('net-snmp', file).toString('latin1')))).toMatchFileSnapshot(goldenPath('net-snmp', file));
  });
});

describe.each(listCases('net-netstat'))('net-netstat golden: %s', (file) => {
  it('matches its golden output', async () => {
    await expect(stableJson(parseNetNetstat(readCase('net-netstat', file).toString('latin1')))).toMatchFileSnapshot(goldenPath('net-netstat', file));
  });
});

// The goldens above are written by the implementation (`npm run test:update`), so a bug in the parser
// would be written into them. These checks count the same fixtures another way: awk over the text,
// with the kernel's state table (include/net/tcp_states.h) and the line format of tcp4_seq_show /
// tcp6_seq_show: "N: ADDR:PORT ADDR:PORT ST ..." in upper-case hex, ST 01..0C. Any other line after
// the header is one the parser must skip.
const TCP_AWK = `
NR == 1 && /^ *sl +local_address/ { next }
{
  ok = $1 ~ /^[0-9]+:$/ && addr($2) && addr($3) && $4 ~ /^[0-9A-F][0-9A-F]$/ && NF >= 10
  st = (index(H, substr($4, 1, 1)) - 1) * 16 + index(H, substr($4, 2, 1)) - 1
  if (ok && st >= 1 && st <= 12) { n[name[st]]++; sockets++ } else skipped++
}
function addr(a) { return length(a) == W + 5 && substr(a, W + 1, 1) == ":" && a !~ /[^0-9A-F:]/ && index(substr(a, W + 2), ":") == 0 }
BEGIN { H = "0123456789ABCDEF"; split("established syn_sent syn_recv fin_wait1 fin_wait2 time_wait close close_wait last_ack listen closing new_syn_recv", name, " ") }
END { for (s in n) print s, n[s]; print "sockets", sockets + 0; print "skipped", skipped + 0 }`;

/** awk's "name value" lines as a record. */
function pairs(out: string): Record<string, number> {
  const rows = out.trim().split('\n');
  return Object.fromEntries(rows.map((l) => [l.split(' ')[0] ?? '', Number(l.split(' ')[1])]));
}

/** awk's count of one net/tcp or net/tcp6 fixture: state name -> count, plus "sockets" and "skipped". */
function awkCount(path: string, addrHexDigits: number): Record<string, number> {
  const out = execFileSync('awk', ['-v', `W=${addrHexDigits}`, TCP_AWK, path], { encoding: 'utf8', timeout: 10_000 });
  return pairs(out);
}

/** awk's reading of one section ("Tcp:", "TcpExt:") of a /proc/net/snmp-style file: the header line names, the next line values. */
function awkSection(path: string, prefix: string): Record<string, number> {
  const prog = '$1 == P { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 } else { for (i = 2; i <= NF; i++) print k[i], $i; exit } }';
  const out = execFileSync('awk', ['-v', `P=${prefix}`, prog, path], { encoding: 'utf8', timeout: 10_000 });
  return pairs(out);
}

const golden = (parser: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(goldenPath(parser, file), 'utf8')) as Record<string, unknown>;

describe('goldens against an independent count (awk over the fixture)', () => {
  for (const [parser, digits] of [
    ['net-tcp', 8],
    ['net-tcp6', 32],
  ] as const) {
    it.each(listCases(parser))(`${parser}/%s: states, sockets, skipped lines and bytes`, (file) => {
      const path = `${FIXTURES}proc-cases/${parser}/${file}`;
      const g = golden(parser, file);
      const awk = awkCount(path, digits);
      const states = g['states'] as Record<string, number>;
      expect(Object.keys(states)).toHaveLength(12);
      for (const [state, count] of Object.entries(states)) expect(count, `${file}: ${state}`).toBe(awk[state] ?? 0);
      expect(g['sockets']).toBe(awk['sockets']);
      // An empty file has no header: the parser counts the missing header as one skipped line, awk sees no line at all.
      expect(g['skipped']).toBe(statSync(path).size === 0 ? 1 : awk['skipped']);
      expect(g['bytes']).toBe(statSync(path).size);
    });
  }

  it('the awk count itself sees every state and every kind of bad line', () => {
    // Guards the check above against an awk program that counts nothing.
    const all = awkCount(`${FIXTURES}proc-cases/net-tcp/all-states.txt`, 8);
    expect(Object.keys(all).filter((k) => k !== 'sockets' && k !== 'skipped')).toHaveLength(12);
    expect(awkCount(`${FIXTURES}proc-cases/net-tcp/garbage.txt`, 8)).toMatchObject({ sockets: 2, skipped: 6 });
  });

  for (const [parser, prefix] of [
    ['net-snmp', 'Tcp:'],
    ['net-netstat', 'TcpExt:'],
  ] as const) {
    it.each(listCases(parser))(`${parser}/%s: every ${prefix} counter`, (file) => {
      const awk = awkSection(`${FIXTURES}proc-cases/${parser}/${file}`, prefix);
      expect(Object.keys(awk).length).toBeGreaterThan(5);
      expect(golden(parser, file)).toEqual(awk);
    });
  }
});

describe('the seed document, end to end', () => {
  it("gives the seed's awk counts of net/tcp (08 1, 01 12, 0A 15, 06 3)", () => {
    const r = countNetTcp(readCase('net-tcp', 'seed-states.txt'), 'net/tcp', 4);
    expect(r.counts[0x08]).toBe(1);
    expect(r.counts[0x01]).toBe(12);
    expect(r.counts[0x0a]).toBe(15);
    expect(r.counts[0x06]).toBe(3);
    expect(r.sockets).toBe(31);
    expect(r.skipped).toBe(0);
  });

  it("computes the seed's ss -s line from its sockstat: total 49, closed 48-(27+10-1)=12", () => {
    const ss = parseSockstat(readCase('net-sockstat', 'seed.txt').toString(), readCase('net-sockstat', 'seed6.txt').toString());
    expect(ss).toEqual({ sockets_used: 1783, tcp_inuse: 27, tcp_orphan: 0, tcp_tw: 1, tcp_alloc: 48, tcp_mem: 16, tcp6_inuse: 10 });
    const snmp = parseNetSnmp(readCase('net-snmp', 'seed.txt').toString());
    expect(computeSsSummary(ss, snmp)).toEqual({ total: 49, estab: 11, closed: 12, orphaned: 0, timewait: 1 });
  });

  it("reads CurrEstab by name, as the seed's awk $10 does (11)", () => {
    expect(parseNetSnmp(readCase('net-snmp', 'seed.txt').toString())['CurrEstab']).toBe(11);
  });
});
