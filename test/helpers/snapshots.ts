/** Snapshots for storage and protocol tests: real ones from the fixture procfs tree, and synthetic ones with chosen counts. */
import { fileURLToPath } from 'node:url';
import { takeSnapshot } from '../../packages/agent/src/sampler.js';
import { TCP_STATES, emptyStates } from '@tcpfleet/common';
import type { NamespaceEntry, Snapshot, StateCounts } from '@tcpfleet/common';

export const FIXTURE_PROC = fileURLToPath(new URL('../fixtures/proc', import.meta.url));

/** A real snapshot of the fixture tree with the given identity. */
export function fixtureSnapshot(over: Partial<Snapshot> & { seq: number }): Snapshot {
  const s = takeSnapshot(FIXTURE_PROC, { host: 'fixture-host', boot: '0123456789abcdef', seq: over.seq, interval_ms: 1000, labels: { env: 'test' } }, 10);
  return { ...s, ts: 1_795_000_000_000 + over.seq * 1000, ...over };
}

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

/** A namespace entry (issue 10) whose counts derive from `k`, held by `container` (null: none). */
export function synthNamespace(netns: number, k: number, container: NamespaceEntry['container'] = null): NamespaceEntry {
  const base = synthSnapshot('x', 0, 1, k);
  return {
    netns,
    pid: 1000 + (k % 5000),
    container,
    states: base.states,
    ipv4: base.ipv4,
    ipv6: base.ipv6,
    summary: base.summary,
    sockstat: base.sockstat,
    snmp: { ActiveOpens: 10 + k, PassiveOpens: 3 * k, CurrEstab: base.states.established + base.states.close_wait, InSegs: 100 * k, OutSegs: 90 * k },
    collect: { states_age_ms: (k % 3) * 10_000, states_unchanged: k % 2 === 0, skipped: 0, errors: k % 7 === 0 ? ['tcp6: vanished'] : [] },
  };
}
