/** Synthetic snapshots with chosen counts, for storage tests. */
import { TCP_STATES, emptyStates } from '@tcpfleet/common';
import type { Snapshot, StateCounts } from '@tcpfleet/common';

/** A snapshot of `host` at `ts` whose counts derive from `k` (different k, different numbers). */
export function synthSnapshot(host: string, ts: number, seq: number, k: number, boot = '00000000-0000-4000-8000-000000000001'): Snapshot {
  const ipv4 = emptyStates();
  const ipv6 = emptyStates();
  TCP_STATES.forEach((st, i) => {
    ipv4[st] = (k * (i + 3)) % 97;
    ipv6[st] = (k * (i + 7)) % 31;
  });
  const states = {} as StateCounts;
  for (const st of TCP_STATES) states[st] = ipv4[st] + ipv6[st];
  return {
    host,
    ts,
    seq,
    boot,
    interval_ms: 10_000,
    labels: { role: 'test' },
    states,
    ipv4,
    ipv6,
    summary: { total: 100 + (k % 50), estab: states.established, closed: k % 7, orphaned: 0, timewait: states.time_wait },
    sockstat: { sockets_used: 200 + (k % 13), tcp_inuse: 50 + (k % 11), tcp_orphan: 0, tcp_tw: states.time_wait, tcp_alloc: 60, tcp_mem: 3, tcp6_inuse: 9 },
    snmp: { RtoAlgorithm: 1, ActiveOpens: 1000 + k, CurrEstab: states.established },
    netstat: { ListenOverflows: 0, TCPTimeouts: k },
    collect: { ms: 0.5, bytes: 5000, skipped: 0, errors: [], states_age_ms: 0 },
  };
}
