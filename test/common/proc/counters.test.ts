import { describe, expect, it } from 'vitest';
import type { ProcParseError } from '@tcpfleet/common';
import { parseNetNetstat, parseNetSnmp, parseSockstat } from '@tcpfleet/common';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return `${(err as ProcParseError).code} ${(err as Error).message}`;
  }
  return 'no error';
};

describe('net/snmp', () => {
  it('reads fields by name whatever their position', () => {
    const text = 'Tcp: CurrEstab ActiveOpens PassiveOpens InSegs OutSegs RetransSegs\nTcp: 7 1 2 3 4 5\n';
    expect(parseNetSnmp(text)).toMatchObject({ CurrEstab: 7, ActiveOpens: 1, RetransSegs: 5 });
  });
  it('keeps MaxConn -1', () => {
    expect(parseNetSnmp('Tcp: MaxConn ActiveOpens PassiveOpens CurrEstab InSegs OutSegs RetransSegs\nTcp: -1 0 0 0 0 0 0\n')['MaxConn']).toBe(-1);
  });
  it.each([
    { name: 'no Tcp lines', text: 'Ip: A\nIp: 1\n', want: 'no "Tcp:" lines' },
    { name: 'names without values', text: 'Tcp: A B\nUdp: 1 2\n', want: 'missing "Tcp:" values line' },
    { name: 'more names than values', text: 'Tcp: A B C\nTcp: 1 2\n', want: '3 names but 2 values' },
    { name: 'a value that is not a number', text: 'Tcp: ActiveOpens\nTcp: x\n', want: 'value of ActiveOpens is not an integer' },
    { name: 'a required field missing', text: 'Tcp: RtoMin\nTcp: 200\n', want: 'field ActiveOpens missing' },
  ])('refuses $name with TCPFLEET_ERR_PROC_PARSE', ({ text, want }) => {
    const msg = code(() => parseNetSnmp(text));
    expect(msg).toMatch(/^TCPFLEET_ERR_PROC_PARSE net\/snmp:\d+: /);
    expect(msg).toContain(want);
  });
});

describe('net/netstat', () => {
  it('reads TcpExt and ignores IpExt', () => {
    const text = 'TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\nIpExt: InNoRoutes\nIpExt: 9\n';
    expect(parseNetNetstat(text)).toEqual({ ListenOverflows: 3, ListenDrops: 4 });
  });
});

describe('net/sockstat', () => {
  it('treats a missing sockstat6 (IPv6 off) as zero TCP6 sockets', () => {
    expect(parseSockstat('sockets: used 5\nTCP: inuse 1 orphan 0 tw 2 alloc 3 mem 1\n', null).tcp6_inuse).toBe(0);
  });
  it.each([
    { name: 'no TCP line', text: 'sockets: used 5\n', want: '"TCP:" inuse missing' },
    { name: 'an odd word count', text: 'sockets: used 5\nTCP: inuse 1 orphan\n', want: 'odd number of key/value words' },
    { name: 'a negative value', text: 'sockets: used 5\nTCP: inuse -1 orphan 0 tw 2 alloc 3 mem 1\n', want: 'value of inuse is not an integer' },
  ])('refuses $name', ({ text, want }) => {
    const msg = code(() => parseSockstat(text, null));
    expect(msg).toMatch(/^TCPFLEET_ERR_PROC_PARSE net\/sockstat:/);
    expect(msg).toContain(want);
  });
});
