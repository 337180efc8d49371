/**
 * GET /metrics: the fleet and the collector in the Prometheus text format, so a fleet that
 * outgrows one collector can be scraped or federated into Prometheus, Thanos or Mimir.
 *
 *   tcpfleet_host_connections{host,state}       latest count of each state, every known host
 *   tcpfleet_host_ss{host,field}                 the ss -s summary of each host
 *                                                (these two and the fleet ones: the field table's
 *                                                sections with `prometheus`, docs/fields.md)
 *   tcpfleet_host_stale{host}                    1 when the host stopped reporting
 *   tcpfleet_host_last_seen_seconds{host}        collector clock of the host's last snapshot
 *   tcpfleet_fleet_connections{state}            sums over live hosts (as /api/v1/total)
 *   tcpfleet_fleet_ss{field}                     ss -s sums over live hosts
 *   tcpfleet_fleet_hosts{status="live"|"stale"}
 *   tcpfleet_agents_connected                    agents with a live session
 *   tcpfleet_ingest_snapshots_total              snapshots committed since start (counter)
 *   tcpfleet_ingest_snapshots_per_second         over the last minute
 *   tcpfleet_ingest_commits_total, tcpfleet_ingest_commit_failures_total
 *   tcpfleet_write_queue_depth                   batches waiting for the writer
 *   tcpfleet_alerts_firing                       number of firing alerts
 *   tcpfleet_alert_firing{rule,host,severity}    1 per firing alert of a host or fleet rule (host "" for fleet rules)
 *   tcpfleet_namespace_*                         per network namespace of live hosts (namespace-metrics.ts)
 *   tcpfleet_collector_uptime_seconds, tcpfleet_build_info{version}
 */
import { PLAN } from '@tcpfleet/common';
import type { Fleet } from '../api/fleet.js';
import type { FiringAlert } from './firing-alerts.js';
import { namespaceFamilies } from './namespace-metrics.js';
import { PrometheusText } from './prometheus-text.js';

/** Collector health figures the metrics read at scrape time. */
export interface CollectorGauges {
  agentsConnected: number;
  writeQueue: number;
  snapshotsStored: number;
  commits: number;
  commitFailures: number;
  uptimeMs: number;
  snapshotsPerSecond: number;
}

type Numbers = Readonly<Record<string, number>>;
/** The sections exported as a host family and a fleet family (states, summary), with their fields. */
const FAMILIES = PLAN.sections.flatMap((p) => (p.def.prometheus !== undefined && p.key !== null ? [{ key: p.key as 'states' | 'summary', names: p.names, ...p.def.prometheus }] : []));

/** Renders the exposition. */
export function renderMetrics(fleet: Fleet, gauges: CollectorGauges, alerts: readonly FiringAlert[], version: string, now: number): string {
  const hosts = fleet.hosts(now);
  const total = fleet.total(now);
  const t = new PrometheusText();
  for (const f of FAMILIES)
    t.family(
      f.host.name,
      'gauge',
      f.host.help,
      hosts.flatMap((h) => f.names.map((n) => [{ host: h.host, [f.label]: n }, (h[f.key] as Numbers)[n] ?? 0] as const)),
    );
  t.family(
    'tcpfleet_host_stale',
    'gauge',
    '1 when nothing arrived from the host for three of its intervals.',
    hosts.map((h) => [{ host: h.host }, h.stale ? 1 : 0] as const),
  );
  t.family(
    'tcpfleet_host_last_seen_seconds',
    'gauge',
    "Collector time the host's latest snapshot arrived, seconds since the epoch.",
    hosts.map((h) => [{ host: h.host }, h.recv_ts / 1000] as const),
  );
  for (const f of FAMILIES)
    t.family(
      f.fleet.name,
      'gauge',
      f.fleet.help,
      f.names.map((n) => [{ [f.label]: n }, (total[f.key] as Numbers)[n] ?? 0] as const),
    );
  t.family('tcpfleet_fleet_hosts', 'gauge', 'Hosts known to the collector, live or stale.', [
    [{ status: 'live' }, total.hosts],
    [{ status: 'stale' }, total.stale],
  ]);
  t.family('tcpfleet_agents_connected', 'gauge', 'Agents with a live WebSocket session.', [[{}, gauges.agentsConnected]]);
  t.family('tcpfleet_ingest_snapshots_total', 'counter', 'Snapshots committed to the database since the collector started.', [[{}, gauges.snapshotsStored]]);
  t.family('tcpfleet_ingest_snapshots_per_second', 'gauge', 'Snapshots committed per second over the last minute.', [[{}, gauges.snapshotsPerSecond]]);
  t.family('tcpfleet_ingest_commits_total', 'counter', 'Database commits since the collector started.', [[{}, gauges.commits]]);
  t.family('tcpfleet_ingest_commit_failures_total', 'counter', 'Failed database commits since the collector started.', [[{}, gauges.commitFailures]]);
  t.family('tcpfleet_write_queue_depth', 'gauge', 'Batches received and waiting to be committed.', [[{}, gauges.writeQueue]]);
  t.family('tcpfleet_alerts_firing', 'gauge', 'Alerts firing now.', [[{}, alerts.length]]);
  t.family(
    'tcpfleet_alert_firing',
    'gauge',
    // HELP text unchanged since 0.1.0 (test/compat); container-scope alerts are in tcpfleet_namespace_alert_firing.
    'One sample per firing alert (host is empty for fleet-wide rules).',
    alerts.filter((a) => a.netns === undefined).map((a) => [{ rule: a.rule, host: a.host ?? '', severity: a.severity ?? '' }, 1] as const),
  );
  namespaceFamilies(t, hosts, alerts);
  t.family('tcpfleet_collector_uptime_seconds', 'gauge', 'Seconds since the collector started.', [[{}, Math.round(gauges.uptimeMs / 100) / 10]]);
  t.family('tcpfleet_build_info', 'gauge', 'Always 1; the version is a label.', [[{ version }, 1]]);
  return t.toString();
}

/** Counts committed snapshots in one-second slots to give a rate over the last minute. */
export class IngestRate {
  readonly #slots = new Map<number, number>();

  /** Records `n` snapshots committed at `now`. */
  add(n: number, now: number): void {
    const s = Math.floor(now / 1000);
    this.#slots.set(s, (this.#slots.get(s) ?? 0) + n);
    for (const k of this.#slots.keys()) if (k < s - 60) this.#slots.delete(k);
  }

  /** Snapshots per second over the 60 s before `now`. */
  perSecond(now: number): number {
    const s = Math.floor(now / 1000);
    let n = 0;
    for (const [k, v] of this.#slots) if (k >= s - 60 && k < s) n += v;
    return Math.round((n / 60) * 1000) / 1000;
  }
}
