/**
 * The per-namespace families of /metrics, rendered from a real Fleet (the collector's in-memory
 * latest snapshots) that committed batches carrying `namespaces`: `promtool check metrics`
 * accepts the output, values equal the entries, stale hosts' namespaces are left out, the cap
 * keeps the namespaces holding the most sockets and counts the rest, label values are cut, and
 * container alerts get a family of their own while tcpfleet_alert_firing keeps its labels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TCP_STATES, emptyStates } from '@tcpfleet/common';
import type { ContainerIdentity, NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { Fleet } from '../../packages/collector/src/api/fleet.js';
import { renderMetrics } from '../../packages/collector/src/views/metrics.js';
import { NAMESPACE_METRICS } from '../../packages/collector/src/views/namespace-metrics.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';
import { nsEntry } from '../helpers/namespace-entries.js';
import { haveTools } from '../helpers/tools.js';
import { promSamples as samples, promtoolCheck } from '../helpers/prometheus.js';

const have = haveTools(['promtool'], 'prometheus');
const NOW = 1_800_000_000_000;
const GAUGES = { agentsConnected: 1, writeQueue: 0, snapshotsStored: 1, commits: 1, commitFailures: 0, uptimeMs: 1000, snapshotsPerSecond: 0 };
const tmp = tempDir('ns-metrics');
afterAll(() => tmp.cleanup());

/** An entry whose state i holds (k * (i + 1)) % 13 sockets, k seconds old. */
function entry(netns: number, container: ContainerIdentity | null, k: number): NamespaceEntry {
  const states = emptyStates();
  TCP_STATES.forEach((st, i) => (states[st] = (k * (i + 1)) % 13));
  return nsEntry(netns, container, states, k * 1000);
}

function promtool(text: string): void {
  const check = promtoolCheck(text, tmp.dir);
  expect(check.status, check.output).toBe(0);
  expect(check.output).toBe('');
}

function fleetOf(snaps: { s: Snapshot; recv: number }[]): Fleet {
  const f = new Fleet();
  for (const { s, recv } of snaps) f.apply([{ host: s.host, labels: s.labels, snapshots: [s] }], recv);
  return f;
}

const SHOP: ContainerIdentity = { runtime: 'containerd', id: 'ab'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'web-7d9f8c6b5-x2k4q', namespace: 'shop', name: 'nginx' };

describe.skipIf(!have)('/metrics per network namespace', () => {
  it('exports each namespace of live hosts with bounded labels; promtool accepts it; values equal the entries', () => {
    const quote: ContainerIdentity = { runtime: 'docker', id: 'cd'.repeat(32), name: 'we"ird\\name\nx' };
    const long: ContainerIdentity = { runtime: 'cri-o', id: 'ef'.repeat(32), pod: 'p'.repeat(253), namespace: 'n'.repeat(63), name: 'c'.repeat(200) };
    const live = { ...synthSnapshot('node-1', NOW - 1000, 1, 3), namespaces: [entry(4026532001, SHOP, 5), entry(4026532002, null, 2), entry(4026532003, quote, 3), entry(4026532004, long, 4)] };
    const stale = { ...synthSnapshot('node-old', NOW - 600_000, 1, 4), namespaces: [entry(4026539999, SHOP, 7)] };
    const plain = synthSnapshot('node-2', NOW - 1000, 1, 5);
    const f = fleetOf([
      { s: live, recv: NOW - 1000 },
      { s: stale, recv: NOW - 600_000 },
      { s: plain, recv: NOW - 1000 },
    ]);
    const alerts = [
      { rule: 'host-rule', host: 'node-1', since: NOW, severity: 'warning' },
      { rule: 'pod-cw', host: 'node-1', netns: 4026532001, container: SHOP, since: NOW, severity: 'critical' },
      { rule: 'pod-cw', host: 'node-1', netns: 4026532002, container: null, since: NOW, severity: 'critical' },
    ];
    const text = renderMetrics(f, GAUGES, alerts, '0.0.0-test', NOW);
    promtool(text);
    const m = samples(text);
    const shop = 'host="node-1",netns="4026532001",pod="web-7d9f8c6b5-x2k4q",namespace="shop",container="nginx"';
    for (const st of TCP_STATES) expect(m.get(`tcpfleet_namespace_connections{${shop},state="${st}"}`), st).toBe(live.namespaces[0]!.states[st]);
    expect(m.get(`tcpfleet_namespace_states_age_seconds{${shop}}`)).toBe(5);
    expect(m.get(`tcpfleet_namespace_info{${shop},runtime="containerd",container_id="${'ab'.repeat(32)}",pod_uid="1f2e3d4c-5b6a-4789-8abc-def012345678"}`)).toBe(1);
    // No container: empty labels.
    expect(m.get('tcpfleet_namespace_connections{host="node-1",netns="4026532002",pod="",namespace="",container="",state="established"}')).toBe(2);
    // Escaped, and cut to the documented length.
    expect(m.has('tcpfleet_namespace_states_age_seconds{host="node-1",netns="4026532003",pod="",namespace="",container="we\\"ird\\\\name\\nx"}')).toBe(true);
    const L = NAMESPACE_METRICS.maxLabelLength;
    expect(m.has(`tcpfleet_namespace_states_age_seconds{host="node-1",netns="4026532004",pod="${'p'.repeat(L)}",namespace="${'n'.repeat(63)}",container="${'c'.repeat(L)}"}`)).toBe(true);
    // The stale host's namespaces are not exported; host families are unchanged.
    expect(text).not.toContain('4026539999');
    expect(m.get('tcpfleet_namespace_series{status="exported"}')).toBe(4);
    expect(m.get('tcpfleet_namespace_series{status="dropped"}')).toBe(0);
    expect(m.get('tcpfleet_host_connections{host="node-2",state="established"}')).toBe(plain.states.established);
    // Container alerts: their own family, unique per netns; tcpfleet_alert_firing keeps host/fleet ones.
    expect(m.get('tcpfleet_alert_firing{rule="host-rule",host="node-1",severity="warning"}')).toBe(1);
    expect([...m.keys()].filter((k) => k.startsWith('tcpfleet_alert_firing{'))).toHaveLength(1);
    expect(m.get(`tcpfleet_namespace_alert_firing{rule="pod-cw",${shop},severity="critical"}`)).toBe(1);
    expect(m.get('tcpfleet_namespace_alert_firing{rule="pod-cw",host="node-1",netns="4026532002",pod="",namespace="",container="",severity="critical"}')).toBe(1);
    expect(m.get('tcpfleet_alerts_firing')).toBe(3);
  });

  it('caps the namespaces exported, keeping those holding the most sockets, and counts the rest', () => {
    const over = NAMESPACE_METRICS.maxNamespaces + 37;
    // Two hosts; the entry of global index g holds g sockets (all established), so the cap must keep g >= 37.
    const mk = (host: string, from: number, n: number): Snapshot => ({
      ...synthSnapshot(host, NOW - 1000, 1, 1),
      namespaces: Array.from({ length: n }, (_, i) => {
        const e = entry(5_000_000 + from + i, { runtime: 'docker', id: (from + i).toString(16).padStart(12, '0') }, 0);
        e.states = { ...emptyStates(), established: from + i };
        return e;
      }),
    });
    const f = fleetOf([
      { s: mk('node-b', 600, over - 600), recv: NOW - 1000 },
      { s: mk('node-a', 0, 600), recv: NOW - 1000 },
    ]);
    const text = renderMetrics(f, GAUGES, [], '0.0.0-test', NOW);
    promtool(text);
    const m = samples(text);
    expect(m.get('tcpfleet_namespace_series{status="exported"}')).toBe(NAMESPACE_METRICS.maxNamespaces);
    expect(m.get('tcpfleet_namespace_series{status="dropped"}')).toBe(37);
    expect([...m.keys()].filter((k) => k.startsWith('tcpfleet_namespace_connections{'))).toHaveLength(NAMESPACE_METRICS.maxNamespaces * TCP_STATES.length);
    const kept = [...m.keys()].filter((k) => k.startsWith('tcpfleet_namespace_states_age_seconds{')).map((k) => Number(/netns="(\d+)"/.exec(k)![1]) - 5_000_000);
    expect(kept.sort((x, y) => x - y)).toEqual(Array.from({ length: NAMESPACE_METRICS.maxNamespaces }, (_, i) => 37 + i));
  });
});
