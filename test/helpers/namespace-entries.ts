/** Namespace entries (snapshot field `namespaces`, issue 10) with chosen counts, for collector-side tests. */
import { emptyStates } from '@tcpfleet/common';
import type { ContainerIdentity, NamespaceEntry, StateCounts } from '@tcpfleet/common';

/** One namespace entry with the given states (the rest 0, all IPv4) and the age of its counts. */
export function nsEntry(netns: number, container: ContainerIdentity | null, counts: Partial<StateCounts>, statesAgeMs = 0): NamespaceEntry {
  const states = { ...emptyStates(), ...counts };
  const estab = states.established + states.close_wait;
  return {
    netns,
    pid: netns % 100_000,
    container,
    states,
    ipv4: states,
    ipv6: emptyStates(),
    summary: { total: 999, estab, closed: 7, orphaned: 0, timewait: states.time_wait },
    sockstat: { sockets_used: 5, tcp_inuse: estab + states.listen, tcp_orphan: 0, tcp_tw: states.time_wait, tcp_alloc: 999, tcp_mem: 1, tcp6_inuse: 0 },
    snmp: { CurrEstab: estab, ActiveOpens: 1 },
    collect: { states_age_ms: statesAgeMs, states_unchanged: true, skipped: 0, errors: [] },
  };
}
