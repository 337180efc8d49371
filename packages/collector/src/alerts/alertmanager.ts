/**
 * The body of a post to Prometheus Alertmanager's POST /api/v2/alerts (its api/v2/openapi.yaml,
 * `postableAlerts`): an array holding one alert.
 *
 *   labels       alertname (the rule), host (host-scope alerts), severity, for container-scope
 *                alerts netns, pod, namespace, container (so each namespace is its own alert), and
 *                the host's labels (the rule's `match` for fleet alerts), names made valid for Alertmanager
 *   annotations  summary, value, baseline (spikes), top_ports, top_peers (when there is evidence),
 *                description (when the rule has one)
 *   startsAt     when it fired; the same in every re-post and in the resolution
 *   endsAt       only when resolved: when it resolved (never later than the moment it was queued,
 *                so Alertmanager sees it resolved on arrival). While firing it is left out and
 *                Alertmanager keeps the alert active for its resolve_timeout after each post.
 */
import type { AlertPayload } from './payload.js';
import { topPeers, topPorts } from './payload.js';
import { isNamespaceEvidence, namespaceText } from './container-scope.js';

/** One element of Alertmanager's postableAlerts. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
}

/**
 * A label name Alertmanager accepts (`[a-zA-Z_][a-zA-Z0-9_]*`): every other character becomes
 * `_`, and a leading digit gets a `_` before it (`k8s.io/zone` -> `k8s_io_zone`, `2fa` -> `_2fa`).
 */
export function labelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) || s === '' ? `_${s}` : s;
}

/**
 * The labels of an alert as Alertmanager sees them (and as `tcpfleet rules test` expects them,
 * without alertname). alertname, host and severity win over a host label of the same name; of
 * host labels that become the same name, the first in name order is kept. Empty values are left
 * out (Alertmanager treats an empty label as absent).
 */
export function alertLabels(p: Pick<AlertPayload, 'rule' | 'host' | 'severity' | 'labels'> & Partial<Pick<AlertPayload, 'netns' | 'container'>>): Record<string, string> {
  const out: Record<string, string> = { alertname: p.rule };
  if (p.host !== undefined) out['host'] = p.host;
  out['severity'] = p.severity;
  if (p.netns !== undefined) {
    // A container-scope alert: one per namespace; who holds it.
    out['netns'] = String(p.netns);
    const c = p.container ?? null;
    for (const [k, v] of [
      ['pod', c?.pod],
      ['namespace', c?.namespace],
      ['container', c?.name],
    ] as const)
      if (v !== undefined && v !== '') out[k] = v;
  }
  for (const k of Object.keys(p.labels).sort()) {
    const v = p.labels[k];
    const n = labelName(k);
    if (v === undefined || v === '' || n in out) continue;
    out[n] = v;
  }
  return out;
}

const num = (v: number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** The Alertmanager body of a notification queued at `now`: `[alert]`. */
export function alertmanagerBody(p: AlertPayload, description: string | null, now: number): string {
  const where = p.host !== undefined ? ` on ${p.host}${isNamespaceEvidence(p.evidence) ? ` ${namespaceText(p.evidence)}` : ''}` : ' (fleet)';
  const what = p.metric === null ? `no data for ${num(p.value)}s` : `${p.metric} = ${num(p.value)}${p.baseline !== undefined && p.baseline !== null ? ` (baseline ${p.baseline})` : ''}`;
  const annotations: Record<string, string> = { summary: `${p.rule}${where}: ${what}`, value: num(p.value) };
  if (p.baseline !== undefined && p.baseline !== null) annotations['baseline'] = String(p.baseline);
  const ports = topPorts(p.evidence);
  const peers = topPeers(p.evidence);
  if (ports.length > 0) annotations['top_ports'] = ports.join(', ');
  if (peers.length > 0) annotations['top_peers'] = peers.join(', ');
  if (description !== null) annotations['description'] = description;
  const alert: PostableAlert = { labels: alertLabels(p), annotations, startsAt: new Date(p.startsAt).toISOString() };
  if (p.status === 'resolved') alert.endsAt = new Date(Math.min(p.endsAt ?? now, now)).toISOString();
  return JSON.stringify([alert]);
}
