import { describe, expect, it } from 'vitest';
import { BreakdownCollector, NetTcpScanner, TCP_STATES, breakdownTotal, countNetTcp, statesFromArray, totalOfStates } from '@tcpfleet/common';
import { readCase } from '../../helpers/fixtures.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const v4 = (sl: number, st: string, lport = '0016', raddr = '0100007F', rport = '15B3'): string =>
  `${String(sl).padStart(4)}: 0100007F:${lport} ${raddr}:${rport} ${st} 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n`;

describe('countNetTcp: one line at a time', () => {
  it.each([
    { name: 'an ESTABLISHED line counts as state 1', line: v4(0, '01'), state: 1 },
    { name: 'a LISTEN line counts as state 10 (0A)', line: v4(0, '0A'), state: 10 },
    { name: 'lowercase hex state is accepted', line: v4(0, '0a'), state: 10 },
    { name: 'NEW_SYN_RECV (0C) is the twelfth state', line: v4(0, '0C'), state: 12 },
    { name: 'a slot number wider than four digits still parses', line: v4(123456, '06'), state: 6 },
  ])('$name', ({ line, state }) => {
    const r = countNetTcp(HEADER + line, 'net/tcp', 4);
    expect(r.counts[state]).toBe(1);
    expect(r.sockets).toBe(1);
    expect(r.skipped).toBe(0);
  });

  it.each([
    { name: 'state 00 is unknown', line: v4(0, '00'), reason: 'unknown state' },
    { name: 'state 0F is unknown', line: v4(0, '0F'), reason: 'unknown state' },
    { name: 'a non-hex state is refused', line: v4(0, 'ZZ'), reason: 'unknown state' },
    { name: 'a non-hex port is refused', line: v4(0, '01', '00G6'), reason: 'invalid port' },
    { name: 'a non-hex remote address is refused', line: v4(0, '01', '0016', '0100007X'), reason: 'invalid remote address' },
    { name: 'a line cut short is refused', line: '   0: 0100007F:0016 0100\n', reason: 'truncated line' },
    { name: 'a line without a slot is refused', line: 'garbage\n', reason: 'invalid slot' },
    { name: 'an IPv6-width address in net/tcp is refused', line: '   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0\n', reason: 'invalid address field' },
  ])('$name', ({ line, reason }) => {
    const r = countNetTcp(HEADER + line, 'net/tcp', 4);
    expect(r.sockets).toBe(0);
    expect(r.skipped).toBe(1);
    expect(r.firstError).toContain(`net/tcp:2: ${reason}`);
    expect(r.firstError).toContain(JSON.stringify(line.replace('\n', '')).slice(0, 20));
  });

  it('reports a missing header once and still counts the sockets after it', () => {
    const r = countNetTcp(v4(0, '01') + v4(1, '01'), 'net/tcp', 4);
    expect(r.firstError).toContain('net/tcp:1: missing header');
    expect(r.skipped).toBe(1);
    expect(r.sockets).toBe(1);
  });

  it('reports an empty file', () => {
    const r = countNetTcp('', 'net/tcp', 4);
    expect(r.sockets).toBe(0);
    expect(r.firstError).toContain('empty file');
  });

  it('counts garbage without throwing and reports the first bad line with its number', () => {
    const r = countNetTcp(readCase('net-tcp', 'garbage.txt'), 'net/tcp', 4);
    expect(r.sockets).toBe(2);
    expect(r.skipped).toBe(6);
    expect(r.firstError).toMatch(/^net\/tcp:3: invalid local address: /);
  });

  it('counts a truncated last line as skipped, and a last line without newline as a socket', () => {
    expect(countNetTcp(readCase('net-tcp', 'truncated.txt'), 'net/tcp', 4)).toMatchObject({ sockets: 2, skipped: 1 });
    expect(countNetTcp(readCase('net-tcp', 'no-final-newline.txt'), 'net/tcp', 4)).toMatchObject({ sockets: 2, skipped: 0 });
  });

  it('survives a runaway line longer than 4 KiB and resynchronises after it', () => {
    const s = new NetTcpScanner('net/tcp', 4);
    s.push(Buffer.from(HEADER + v4(0, '01')));
    for (let i = 0; i < 10; i++) s.push(Buffer.alloc(1000, 65));
    s.push(Buffer.from('\n' + v4(2, '0A')));
    const r = s.end();
    expect(r.sockets).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.firstError).toContain('longer than 4096 bytes');
  });
});

function syntheticTable(n: number, family: 4 | 6, seed = 1): { text: Buffer; counts: number[] } {
  let x = seed;
  const rnd = (): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const counts = new Array<number>(13).fill(0);
  const parts: string[] = [HEADER];
  for (let i = 0; i < n; i++) {
    const st = 1 + Math.floor(rnd() * 11);
    counts[st]!++;
    const hex = st.toString(16).toUpperCase().padStart(2, '0');
    const a = family === 4 ? '0100007F' : '0000000000000000FFFF00000100007F';
    const port = (1024 + Math.floor(rnd() * 60000)).toString(16).toUpperCase().padStart(4, '0');
    parts.push(`${String(i).padStart(4)}: ${a}:${port} ${a}:1F90 ${hex} 00000000:00000000 00:00000000 00000000  1000        0 ${i} 1 0000000000000000 20 4 30 10 -1\n`);
  }
  return { text: Buffer.from(parts.join('')), counts };
}

describe('a large table', () => {
  it.each([4, 6] as const)('counts 100,000 IPv%d sockets exactly', (family) => {
    const { text, counts } = syntheticTable(100_000, family);
    const r = countNetTcp(text, 'net/tcp', family);
    expect(r.counts).toEqual(counts);
    expect(r.sockets).toBe(100_000);
    expect(r.skipped).toBe(0);
  });

  it.each([1, 7, 149, 150, 4096, 65536])('gives the same result fed in chunks of %d bytes', (size) => {
    const { text, counts } = syntheticTable(3000, 4, 9);
    const b1 = new BreakdownCollector();
    const s = new NetTcpScanner('net/tcp', 4, b1);
    for (let i = 0; i < text.length; i += size) s.push(text.subarray(i, i + size));
    const r = s.end();
    expect(r.counts).toEqual(counts);
    const b2 = new BreakdownCollector();
    countNetTcp(text, 'net/tcp', 4, b2);
    expect(b1.result(100)).toEqual(b2.result(100));
  });
});

describe('breakdown', () => {
  const mix =
    HEADER +
    v4(0, '0A', '0050', '00000000', '0000') + // LISTEN :80
    v4(1, '01', '0050', '0200007F', '9C40') + // inbound :80 from 127.0.0.2
    v4(2, '01', '0050', '0300007F', '9C41') +
    v4(3, '08', '0050', '0300007F', '9C42') + // inbound CLOSE_WAIT
    v4(4, '01', 'C350', '0A00000A', '01BB') + // outbound to 10.0.0.10:443
    v4(5, '06', 'C351', '0A00000A', '01BB') +
    v4(6, '01', 'C352', '0B00000A', '0CEA'); // outbound to 10.0.0.11:3306

  it('groups inbound by listening port and outbound by peer, ranked by total', () => {
    const b = new BreakdownCollector();
    const r = countNetTcp(mix, 'net/tcp', 4, b);
    const out = b.result(10);
    expect(out.inbound).toEqual([{ port: 80, states: expect.objectContaining({ established: 2, close_wait: 1 }) }]);
    expect(out.outbound.map((e) => `${e.addr}:${e.port}`)).toEqual(['10.0.0.10:443', '10.0.0.11:3306']);
    expect(out.outbound[0]?.states).toMatchObject({ established: 1, time_wait: 1 });
    expect(breakdownTotal(out) + (r.counts[10] ?? 0)).toBe(r.sockets);
  });

  it('puts what is beyond the top K into other, and still adds up', () => {
    const b = new BreakdownCollector();
    const r = countNetTcp(mix, 'net/tcp', 4, b);
    const out = b.result(1);
    expect(out.outbound).toHaveLength(1);
    expect(out.other.outbound.established).toBe(1);
    expect(breakdownTotal(out) + (r.counts[10] ?? 0)).toBe(r.sockets);
  });

  it.each([0, 1, 3, 10, 100])('adds up to the state totals with K=%d on every fixture', (k) => {
    for (const [file, fam] of [
      ['live-namespace.txt', 4],
      ['seed-states.txt', 4],
      ['all-states.txt', 4],
    ] as const) {
      const b = new BreakdownCollector();
      const r = countNetTcp(readCase('net-tcp', file), 'net/tcp', fam, b);
      const res = b.result(k);
      const states = statesFromArray(r.counts);
      // per state: inbound + outbound + other + listen = states
      const sum = Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as Record<string, number>;
      for (const e of [...res.inbound, ...res.outbound]) for (const s of TCP_STATES) sum[s]! += e.states[s];
      for (const s of TCP_STATES) sum[s]! += res.other.inbound[s] + res.other.outbound[s];
      sum['listen']! += states.listen;
      expect(sum).toEqual(states);
      expect(totalOfStates(states)).toBe(r.sockets);
    }
  });

  it('caps K at 100', () => {
    const b = new BreakdownCollector();
    countNetTcp(syntheticTable(5000, 4).text, 'net/tcp', 4, b);
    expect(b.result(1000).outbound.length).toBeLessThanOrEqual(100);
  });
});

describe('breakdown with many distinct peers', () => {
  // Reference: the same grouping done the plain way, with Map keys built from the text.
  function reference(lines: { lport: number; raddr: string; rport: number; st: number }[], listen: Set<number>, addrOf: (hex: string) => string): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const l of lines) {
      if (l.st === 10) continue;
      const key = listen.has(l.lport) ? `in:${l.lport}` : `out:${addrOf(l.raddr)}:${l.rport}`;
      const c = m.get(key) ?? new Array<number>(13).fill(0);
      c[l.st]!++;
      m.set(key, c);
    }
    return m;
  }

  it.each([4, 6] as const)('IPv%d: 20,000 sockets to 6,000 peers group exactly as a plain Map does (the table grows many times)', async (family) => {
    const { hexToIPv4, hexToIPv6 } = await import('@tcpfleet/common');
    let x = 7;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return Math.floor((x / 2147483648) * n);
    };
    const hex = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');
    const lines: { lport: number; raddr: string; rport: number; st: number }[] = [];
    const listen = new Set<number>([80, 443]);
    for (const p of listen) lines.push({ lport: p, raddr: family === 4 ? '00000000' : '0'.repeat(32), rport: 0, st: 10 });
    for (let i = 0; i < 20_000; i++) {
      const peer = rnd(6000);
      // words with the top bit set too (addresses above 128.0.0.0), where int32 keys go negative
      const w = hex((peer * 2654435761) % 4294967296, 8);
      const raddr = family === 4 ? w : `${hex(peer, 8)}${w}0000FFFF${w}`;
      const st = 1 + rnd(11);
      const lport = i % 10 === 0 ? 80 : 30000 + rnd(30000);
      // the remote port varies independently of the address, so it must be part of the key
      lines.push({ lport, raddr, rport: 1000 + rnd(3), st: st === 10 ? 1 : st });
    }
    const text =
      HEADER +
      lines
        .map(
          (l, i) =>
            `${String(i).padStart(4)}: ${family === 4 ? '0100007F' : '0'.repeat(31) + '1'}:${hex(l.lport, 4)} ${l.raddr}:${hex(l.rport, 4)} ${hex(l.st, 2)} 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n`,
        )
        .join('');
    const b = new BreakdownCollector();
    const r = countNetTcp(text, 'net/tcp', family, b);
    expect(r.sockets).toBe(lines.length);
    const ref = reference(lines, listen, (h) => (family === 4 ? hexToIPv4(h) : hexToIPv6(h)) ?? 'bad');
    const res = b.result(100);
    // every entry in the top 100 matches the reference, and the rest adds up to what is left
    const seen = new Set<string>();
    for (const e of res.inbound) {
      expect(statesFromArray(ref.get(`in:${e.port}`)!)).toEqual(e.states);
      seen.add(`in:${e.port}`);
    }
    for (const e of res.outbound) {
      expect(statesFromArray(ref.get(`out:${e.addr}:${e.port}`)!)).toEqual(e.states);
      seen.add(`out:${e.addr}:${e.port}`);
    }
    const rest = { in: new Array<number>(13).fill(0), out: new Array<number>(13).fill(0) };
    for (const [k, c] of ref) if (!seen.has(k)) for (let s = 1; s < 13; s++) rest[k.startsWith('in:') ? 'in' : 'out'][s]! += c[s]!;
    expect(res.other.inbound).toEqual(statesFromArray(rest.in));
    expect(res.other.outbound).toEqual(statesFromArray(rest.out));
    // the ranking is the reference's: totals descending
    const totals = res.outbound.map((e) => totalOfStates(e.states));
    expect([...totals].sort((a, b2) => b2 - a)).toEqual(totals);
    const refTop = [...ref]
      .filter(([k]) => k.startsWith('out:'))
      .map(([, c]) => c.reduce((a, v) => a + v, 0))
      .sort((a, b2) => b2 - a)
      .slice(0, 100);
    expect(totals).toEqual(refTop);
  });
});
