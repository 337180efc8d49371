/**
 * The per-namespace part of GET /metrics (issue 10): every network namespace other than the
 * host's, of live hosts, from the latest snapshots in memory (snapshot field `namespaces`).
 *
 *   tcpfleet_namespace_connections{host,netns,pod,namespace,container,state}   per-state counts
 *   tcpfleet_namespace_states_age_seconds{host,netns,pod,namespace,container}  how old they are
 *   tcpfleet_namespace_info{host,netns,pod,namespace,container,runtime,container_id,pod_uid}  always 1
 *   tcpfleet_namespace_series{status="exported"|"dropped"}                      what the cap left out
 *   tcpfleet_namespace_alert_firing{rule,host,netns,pod,namespace,container,severity}  container alerts
 *
 * Bounded: at most NAMESPACE_METRICS.maxNamespaces namespaces are exported (those holding the
 * most sockets first, then by host and netns), and every label value is cut to
 * NAMESPACE_METRICS.maxLabelLength characters. `netns` keeps each series unique whatever the cut.
 * `pod`, `namespace` and `container` are "" when unknown. The families are left out altogether
 * while no live host reports namespaces and no container alert fires.
 */
import { TCP_STATES, totalOfStates } from '@tcpfleet/common';
import type { NamespaceEntry } from '@tcpfleet/common';
import type { HostView } from '../api/fleet.js';
import type { FiringAlert } from './firing-alerts.js';
import { labelPairs } from './prometheus-text.js';
import type { PrometheusText } from './prometheus-text.js';

/** The bounds of the per-namespace series (docs/numbers.md). */
export const NAMESPACE_METRICS = Object.freeze({ maxNamespaces: 1000, maxLabelLength: 128 });

const cut = (v: string | undefined): string => (v === undefined ? '' : v.length <= NAMESPACE_METRICS.maxLabelLength ? v : v.slice(0, NAMESPACE_METRICS.maxLabelLength));

/** The labels naming one namespace of one host. */
function nsLabels(host: string, netns: number, c: NamespaceEntry['container'] | undefined): Record<string, string> {
  return { host: cut(host), netns: String(netns), pod: cut(c?.pod), namespace: cut(c?.namespace), container: cut(c?.name) };
}

/** Adds the per-namespace families to `t`. */
export function namespaceFamilies(t: PrometheusText, hosts: readonly HostView[], alerts: readonly FiringAlert[]): void {
  const all: { host: string; e: NamespaceEntry; n: number }[] = [];
  for (const h of hosts) {
    if (h.stale) continue;
    for (const e of h.namespaces ?? []) all.push({ host: h.host, e, n: totalOfStates(e.states) });
  }
  // A fleet without namespaces gets the exposition of before, byte for byte (test/compat).
  if (all.length === 0 && !alerts.some((a) => a.netns !== undefined)) return;
  let kept = all;
  if (all.length > NAMESPACE_METRICS.maxNamespaces) {
    kept = [...all].sort((a, b) => b.n - a.n || (a.host < b.host ? -1 : a.host > b.host ? 1 : a.e.netns - b.e.netns)).slice(0, NAMESPACE_METRICS.maxNamespaces);
  }
  // Each namespace's labels are escaped once and shared by its samples.
  const rows = kept.map((k) => ({ ...k, pairs: labelPairs(nsLabels(k.host, k.e.netns, k.e.container)) }));
  t.familyPairs(
    'tcpfleet_namespace_connections',
    'gauge',
    "Sockets in each TCP state in a network namespace other than the host's (as of its last walk: see tcpfleet_namespace_states_age_seconds).",
    rows.flatMap((r) => TCP_STATES.map((st) => [`${r.pairs},state="${st}"`, r.e.states[st]] as const)),
  );
  t.familyPairs(
    'tcpfleet_namespace_states_age_seconds',
    'gauge',
    "Age of the namespace's per-state counts when its latest snapshot was taken (0: walked for it).",
    rows.map((r) => [r.pairs, r.e.collect.states_age_ms / 1000] as const),
  );
  t.familyPairs(
    'tcpfleet_namespace_info',
    'gauge',
    'Always 1; who holds the namespace: container runtime, container id and Kubernetes pod uid ("" when unknown).',
    rows.map((r) => [`${r.pairs},${labelPairs({ runtime: r.e.container?.runtime ?? '', container_id: cut(r.e.container?.id), pod_uid: cut(r.e.container?.pod_uid) })}`, 1] as const),
  );
  t.family('tcpfleet_namespace_series', 'gauge', `Namespaces of live hosts exported above, and left out by the cap of ${NAMESPACE_METRICS.maxNamespaces}.`, [
    [{ status: 'exported' }, rows.length],
    [{ status: 'dropped' }, all.length - rows.length],
  ]);
  t.family(
    'tcpfleet_namespace_alert_firing',
    'gauge',
    'One sample per firing alert of a container-scope rule.',
    alerts.flatMap((a) => (a.netns === undefined ? [] : [[{ rule: a.rule, ...nsLabels(a.host ?? '', a.netns, a.container), severity: a.severity ?? '' }, 1] as const])),
  );
}
