import { describe, expect, it } from 'vitest';
import { BreakdownCollector, computeSsSummary, countNetTcp, parseNetNetstat, parseNetSnmp, parseSockstat, statesFromArray } from '@tcpfleet/common';
import { goldenPath, listCases, readCase, stableJson } from '../../helpers/fixtures.js';

// Golden files change only through `npm run test:update`; review their diff like code.
for (const [parser, family] of [['net-tcp', 4], ['net-tcp6', 6]] as const) {
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

describe('the seed document, end to end', () => {
  it('gives the seed\'s awk counts of net/tcp (08 1, 01 12, 0A 15, 06 3)', () => {
    const r = countNetTcp(readCase('net-tcp', 'seed-states.txt'), 'net/tcp', 4);
    expect(r.counts[0x08]).toBe(1);
    expect(r.counts[0x01]).toBe(12);
    expect(r.counts[0x0a]).toBe(15);
    expect(r.counts[0x06]).toBe(3);
    expect(r.sockets).toBe(31);
    expect(r.skipped).toBe(0);
  });

  it('computes the seed\'s ss -s line from its sockstat: total 49, closed 48-(27+10-1)=12', () => {
    const ss = parseSockstat(readCase('net-sockstat', 'seed.txt').toString(), readCase('net-sockstat', 'seed6.txt').toString());
    expect(ss).toEqual({ sockets_used: 1783, tcp_inuse: 27, tcp_orphan: 0, tcp_tw: 1, tcp_alloc: 48, tcp_mem: 16, tcp6_inuse: 10 });
    const snmp = parseNetSnmp(readCase('net-snmp', 'seed.txt').toString());
    expect(computeSsSummary(ss, snmp)).toEqual({ total: 49, estab: 11, closed: 12, orphaned: 0, timewait: 1 });
  });

  it('reads CurrEstab by name, as the seed\'s awk $10 does (11)', () => {
    expect(parseNetSnmp(readCase('net-snmp', 'seed.txt').toString())['CurrEstab']).toBe(11);
  });
});
