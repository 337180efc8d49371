/**
 * Namespace entries (snapshot `namespaces`) for protocol tests, shaped like what the agent sends
 * on a Kubernetes node: netns inodes in order, containerd pods with names, the host-wide sockstat
 * fields equal to the snapshot's own, the Tcp counters of the fixture kernel, and a session of
 * snapshots where a tenth of the namespaces are busy and the rest quiet.
 */
import { TCP_STATES, computeSsSummary, emptyStates } from '@tcpfleet/common';
import type { ContainerIdentity, NamespaceEntry, NamespacesCollect, Snapshot, StateCounts } from '@tcpfleet/common';

const hex = (n: number, len: number): string => {
  let s = '';
  let x = (n * 7919 + 97) % 2147483648;
  while (s.length < len) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += ((x >> 16) % 16).toString(16);
  }
  return s;
};

/** The container of namespace i: containerd pods, a docker container, a podman one, a bare namespace. */
export function containerOf(i: number): ContainerIdentity | null {
  if (i % 10 === 9) return null;
  if (i % 10 === 8) return { runtime: 'docker', id: hex(i, 64), name: `web-${i}` };
  if (i % 10 === 7) return { runtime: 'podman', id: hex(i, 64) };
  const uid = `${hex(i + 1000, 8)}-${hex(i + 2000, 4)}-4${hex(i + 3000, 3)}-8${hex(i + 4000, 3)}-${hex(i + 5000, 12)}`;
  return {
    runtime: 'containerd',
    id: hex(i, 64),
    pod_uid: uid,
    pod: `shop-${i}-7d9f8c6b5-x2k4q`,
    namespace: i % 2 === 0 ? 'shop' : 'payments',
    name: i % 3 === 0 ? 'nginx' : 'app',
    ...(i % 4 === 0 ? { other_ids: [hex(i + 7000, 64)] } : {}),
  };
}

function states(k: number, seed: number): StateCounts {
  const s = emptyStates();
  TCP_STATES.forEach((st, i) => {
    if (st === 'new_syn_recv') return;
    s[st] = ((seed + 1) * (i + 3) * (k % 5 === 0 ? 7 : 1)) % (st === 'established' || st === 'time_wait' ? 400 : 9);
  });
  return s;
}

const TCP_KEYS = [
  'RtoAlgorithm',
  'RtoMin',
  'RtoMax',
  'MaxConn',
  'ActiveOpens',
  'PassiveOpens',
  'AttemptFails',
  'EstabResets',
  'CurrEstab',
  'InSegs',
  'OutSegs',
  'RetransSegs',
  'InErrs',
  'OutRsts',
  'InCsumErrors',
];

/**
 * Entry i of a session at step t (0, 1, 2, ...): namespaces with i % 10 === 0 are busy (their
 * states and segment counters move every step), the others quiet (only their age grows).
 */
export function nsEntry(top: Snapshot, i: number, t: number, intervalMs: number): NamespaceEntry {
  const busy = i % 10 === 0;
  const step = busy ? t : 0;
  const ipv4 = states(i, i + step);
  const ipv6 = states(i + 1, (i >> 1) + step);
  const all = emptyStates();
  for (const st of TCP_STATES) all[st] = ipv4[st] + ipv6[st];
  const inuse = all.established + all.listen + all.close_wait + all.syn_sent;
  const sockstat = { ...top.sockstat, sockets_used: inuse + 5, tcp_inuse: inuse - (ipv6.established + ipv6.listen), tcp_tw: all.time_wait, tcp6_inuse: ipv6.established + ipv6.listen };
  const base = 1000 * (i + 1);
  const snmp: Record<string, number> = {};
  const values = [
    1,
    200,
    120000,
    -1,
    base + 3 * step,
    base / 2 + 5 * step,
    i % 7,
    i % 3,
    all.established + all.close_wait,
    50 * base + 997 * step,
    48 * base + 1003 * step,
    i + (busy ? t : 0),
    0,
    11 * i + step,
    0,
  ];
  TCP_KEYS.forEach((k, j) => (snmp[k] = values[j]!));
  return {
    netns: 4026532200 + 3 * i + (i % 2),
    pid: 10_000 + 37 * i,
    container: containerOf(i),
    states: all,
    ipv4,
    ipv6,
    summary: computeSsSummary(sockstat, snmp),
    sockstat,
    snmp,
    collect: busy ? { states_age_ms: 0, states_unchanged: true, skipped: 0, errors: [] } : { states_age_ms: 30_000 + t * intervalMs, states_unchanged: true, skipped: 0, errors: [] },
  };
}

/** The snapshot's collect.namespaces for n entries. */
export function nsCollect(n: number, t: number): NamespacesCollect {
  return { found: n, reported: n, overflow: 0, pending: 0, walked: Math.ceil(n / 10), unchanged: n - Math.ceil(n / 10), stale: 0, ms: 12.345 + t, cpu_ms: 9.876, errors: [] };
}

/** `top` with n namespace entries at step t of a session (ts advancing by its interval). */
export function withNamespaces(top: Snapshot, n: number, t: number): Snapshot {
  const ts = top.ts + t * top.interval_ms;
  const host = { ...top, ts, seq: top.seq + t, sockstat: { ...top.sockstat, tcp_alloc: top.sockstat.tcp_alloc + 17 * t, tcp_orphan: t % 3, tcp_mem: top.sockstat.tcp_mem + t } };
  return {
    ...host,
    collect: { ...host.collect, namespaces: nsCollect(n, t) },
    namespaces: Array.from({ length: n }, (_, i) => nsEntry(host, i, t, top.interval_ms)),
  };
}
