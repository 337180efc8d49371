/**
 * What a notification says: the JSON payload (docs/alerting.md: a contract) and the
 * Slack-compatible text. `tcpfleet alerts --json` prints the same objects.
 */
import type { ContainerIdentity, StateCounts } from '@tcpfleet/common';
import type { AlertEvidence, AlertRecord, AlertStatus } from './alert-store.js';
import { isNamespaceEvidence, namespaceText, statesText } from './container-scope.js';

/** The JSON body of a `format: json` webhook, and one element of `tcpfleet alerts --json`. */
export interface AlertPayload {
  status: AlertStatus;
  rule: string;
  severity: string;
  host?: string;
  /** Container-scope alerts only: the network namespace and who holds it (null: no container known). */
  netns?: number;
  container?: ContainerIdentity | null;
  labels: Record<string, string>;
  metric: string | null;
  value: number | null;
  baseline?: number | null;
  startsAt: number;
  endsAt: number | null;
  evidence: AlertEvidence | null;
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);

/** The payload of an alert; `status` overrides the record's (a notification sent as it changes). */
export function toPayload(rec: AlertRecord, kind: 'threshold' | 'spike' | 'absent' | null, status: AlertStatus = rec.status): AlertPayload {
  const p: AlertPayload = {
    status,
    rule: rec.rule,
    severity: rec.severity,
    labels: rec.labels,
    metric: rec.metric,
    value: round(rec.value),
    startsAt: rec.startsAt ?? rec.pendingSince,
    endsAt: status === 'resolved' ? rec.endsAt : null,
    evidence: rec.evidence,
  };
  if (rec.host !== null) p.host = rec.host;
  const ns = isNamespaceEvidence(rec.evidence) ? rec.evidence : null;
  if (kind === 'spike' || (kind === null && rec.baseline !== null)) p.baseline = round(rec.baseline);
  // Keep the documented key order: status, rule, severity, host, (netns, container), labels, metric, value, baseline, startsAt, endsAt, evidence.
  const { status: s, rule, severity, host, labels, metric, value, baseline, startsAt, endsAt, evidence } = p;
  return {
    status: s,
    rule,
    severity,
    ...(host !== undefined ? { host } : {}),
    ...(ns !== null ? { netns: ns.netns, container: ns.container } : {}),
    labels,
    metric,
    value,
    ...('baseline' in p ? { baseline: baseline ?? null } : {}),
    startsAt,
    endsAt,
    evidence,
  };
}

const total = (s: StateCounts): number => Object.values(s).reduce((a, b) => a + b, 0);

/** The biggest listening ports of a breakdown, each as `:PORT CONNECTIONS`. */
export function topPorts(b: AlertEvidence | null, n = 3): string[] {
  return (b === null || isNamespaceEvidence(b) ? [] : b.inbound).slice(0, n).map((e) => `:${e.port} ${total(e.states)}`);
}

/** The biggest peers of a breakdown, each as `ADDR:PORT CONNECTIONS`. */
export function topPeers(b: AlertEvidence | null, n = 3): string[] {
  return (b === null || isNamespaceEvidence(b) ? [] : b.outbound).slice(0, n).map((e) => `${e.addr.includes(':') ? `[${e.addr}]` : e.addr}:${e.port} ${total(e.states)}`);
}

/** One line naming the biggest listening ports and peers of a breakdown (for a namespace: its biggest states). */
export function evidenceText(b: AlertEvidence | null, n = 3): string {
  if (b === null) return '';
  if (isNamespaceEvidence(b)) {
    const st = statesText(b.states);
    return st === '' ? '' : `states: ${st}`;
  }
  const inb = topPorts(b, n);
  const out = topPeers(b, n);
  const parts: string[] = [];
  if (inb.length > 0) parts.push(`top listening ports: ${inb.join(', ')}`);
  if (out.length > 0) parts.push(`top peers: ${out.join(', ')}`);
  return parts.join('; ');
}

/** One human line for logs and Slack. */
export function summaryText(p: AlertPayload): string {
  const ns = isNamespaceEvidence(p.evidence) ? ` ${namespaceText(p.evidence)}` : '';
  const where = p.host !== undefined ? ` on ${p.host}${ns}` : ' (fleet)';
  const what = p.metric === null ? `no data for ${p.value ?? '?'}s` : `${p.metric} = ${p.value ?? '?'}${p.baseline !== undefined && p.baseline !== null ? ` (baseline ${p.baseline})` : ''}`;
  const ev = evidenceText(p.evidence);
  return `[${p.status.toUpperCase()}] ${p.rule}${where} (${p.severity}): ${what}${ev === '' ? '' : `; ${ev}`}`;
}

/** The body a webhook of the given format receives. */
export function webhookBody(p: AlertPayload, format: 'json' | 'slack'): string {
  return format === 'json' ? JSON.stringify(p) : JSON.stringify({ text: summaryText(p) });
}
