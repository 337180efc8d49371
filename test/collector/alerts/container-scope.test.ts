/**
 * Alert rules of `scope: container` (issue 10) on the real engine and a real SQLite file, fed
 * snapshots that carry `namespaces`: the rules file accepts them and refuses what a namespace
 * cannot answer; each (host, netns) is its own alert with the pod in the payload; firing and
 * resolving are notified once per transition; a namespace that disappears resolves its alert
 * (also after a restart) and its series is dropped; baselines of spike rules are per namespace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { emptyStates } from '@tcpfleet/common';
import type { ContainerIdentity, NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { alertmanagerBody } from '../../../packages/collector/src/alerts/alertmanager.js';
import { HostSeries } from '../../../packages/collector/src/alerts/host-series.js';
import { MAX_NAMESPACES_PER_HOST, NamespaceSeriesSet } from '../../../packages/collector/src/alerts/container-scope.js';
import { sampleKeys } from '../../../packages/collector/src/alerts/metric.js';
import { RulesError, parseRules } from '../../../packages/collector/src/alerts/rules-file.js';
import { engineOnFile } from '../../helpers/alert-engine.js';
import { nsEntry } from '../../helpers/namespace-entries.js';

const T0 = 1_800_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const POD_A: ContainerIdentity = { runtime: 'containerd', id: 'a'.repeat(64), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'web-7d9f8c6b5-x2k4q', namespace: 'shop', name: 'nginx' };
const POD_B: ContainerIdentity = { runtime: 'containerd', id: 'b'.repeat(64), pod: 'db-0', namespace: 'shop', name: 'postgres' };
const POD_C: ContainerIdentity = { runtime: 'cri-o', id: 'c'.repeat(64), pod: 'web-5c4b3a-zz9', namespace: 'staging', name: 'nginx' };

/** One namespace entry with the given close_wait and established counts (and 2 listeners). */
const ns = (netns: number, container: ContainerIdentity | null, v: { close_wait?: number; established?: number }): NamespaceEntry => nsEntry(netns, container, { ...v, listen: 2 });

function snap(host: string, ts: number, seq: number, namespaces: NamespaceEntry[] | undefined, hostCloseWait = 0): Snapshot {
  const states = { ...emptyStates(), close_wait: hostCloseWait, listen: 1 };
  return {
    host,
    ts,
    seq,
    boot: 'aaaaaaaa-0000',
    interval_ms: 1000,
    labels: { env: 'prod' },
    states,
    ipv4: states,
    ipv6: emptyStates(),
    summary: { total: 0, estab: 0, closed: 0, orphaned: 0, timewait: 0 },
    sockstat: { sockets_used: 0, tcp_inuse: 0, tcp_orphan: 0, tcp_tw: 0, tcp_alloc: 0, tcp_mem: 0, tcp6_inuse: 0 },
    snmp: {},
    netstat: {},
    collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
    breakdown: { inbound: [], outbound: [], other: { inbound: emptyStates(), outbound: emptyStates() } },
    ...(namespaces === undefined ? {} : { namespaces }),
  };
}

/** An engine on a fresh (or given) database file; `deliveries()` gives the bodies queued. */
function setup(rulesYaml: string, file?: string) {
  const t = engineOnFile(rulesYaml, cleanups, T0, file);
  return { engine: t.engine, feed: t.feed, dbFile: t.dbFile, deliveries: () => t.deliveries().map((d) => d.body) };
}

const HOOK = `notifiers:\n  - { name: hook, type: webhook, url: "http://127.0.0.1:9/" }\n`;
const CW = `${HOOK}rules:\n  - { name: pod-cw, kind: threshold, scope: container, metric: states.close_wait, op: ">", value: 100, resolve_value: 20, for: 2s, grace: 0s, notify: [hook], match: { env: prod, namespace: shop } }\n`;

describe('rules file: scope container', () => {
  it('accepts a container rule, splitting match into host labels and the container part (globs allowed)', () => {
    const set = parseRules(
      `rules:\n  - { name: r, kind: spike, scope: container, metric: states.established, window: 5m, factor: 3, match: { env: prod, pod: "web-*", namespace: shop, container: nginx, runtime: containerd } }\n`,
      'r.yml',
    );
    const r = set.rules[0]!;
    expect(r.scope).toBe('container');
    expect(r.match).toEqual({ env: 'prod' });
    expect(Object.keys(r.container ?? {}).sort()).toEqual(['container', 'namespace', 'pod', 'runtime']);
    expect(r.container?.pod?.test('web-7d9f8c6b5-x2k4q')).toBe(true);
    expect(r.container?.pod?.test('db-0')).toBe(false);
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('an old rules file is read as before: scope host, match keys named pod or namespace stay host labels', () => {
    const r = parseRules(`rules:\n  - { name: r, kind: threshold, metric: states.close_wait, op: ">", value: 5, match: { namespace: shop } }\n`, 'r.yml').rules[0]!;
    expect(r.scope).toBe('host');
    expect(r.match).toEqual({ namespace: 'shop' });
    expect(r.container).toBeUndefined();
  });

  it('refuses what a namespace cannot answer, one line per problem naming the line, rule and field', () => {
    const text = [
      'rules:',
      '  - { name: a, kind: absent, scope: container }',
      '  - { name: b, kind: threshold, scope: container, metric: netstat.ListenOverflows, op: ">", value: 1 }',
      '  - { name: c, kind: threshold, scope: container, metric: sockstat.tcp_alloc, op: ">", value: 1 }',
      '  - { name: d, kind: threshold, scope: container, metric: summary.total, op: ">", value: 1 }',
      '  - { name: e, kind: threshold, scope: container, metric: states.listen, op: "<", value: 1, match: { runtime: rkt } }',
      '  - { name: f, kind: threshold, scope: pod, metric: states.listen, op: "<", value: 1 }',
      '',
    ].join('\n');
    let problems: readonly string[] = [];
    try {
      parseRules(text, 'r.yml');
    } catch (err) {
      expect(err).toBeInstanceOf(RulesError);
      problems = (err as RulesError).problems;
    }
    expect(problems).toHaveLength(6);
    expect(problems[0]).toMatch(/^r\.yml:2: rule "a": field "scope": container applies to threshold and spike rules/);
    expect(problems[1]).toMatch(/^r\.yml:3: rule "b": field "metric": a namespace entry carries no netstat/);
    expect(problems[2]).toMatch(/^r\.yml:4: rule "c": field "metric": sockstat\.tcp_alloc is host-wide/);
    expect(problems[3]).toMatch(/^r\.yml:5: rule "d": field "metric": summary\.total is host-wide/);
    expect(problems[4]).toMatch(/^r\.yml:6: rule "e": field "match": runtime "rkt" is not one of docker, containerd, cri-o, podman, unknown/);
    expect(problems[5]).toMatch(/^r\.yml:7: rule "f": field "scope": .*"pod"/);
  });
});

describe('alert engine: scope container', () => {
  it('each matching (host, netns) is its own alert; the payload names the pod; firing and resolved are notified once each', () => {
    const t = setup(CW);
    let seq = 1;
    // Host h1: pod A leaks CLOSE_WAIT, pod B is fine, pod C (namespace staging) leaks but is not matched.
    // Host h2: a namespace with the same pod identity also leaks: a second alert.
    for (let i = 0; i < 4; i++) {
      t.feed(snap('h1', T0 + i * 1000, seq++, [ns(4026532001, POD_A, { close_wait: 150 }), ns(4026532002, POD_B, { close_wait: 3 }), ns(4026532003, POD_C, { close_wait: 500 })], 900));
      t.feed(snap('h2', T0 + i * 1000, seq++, [ns(4026532001, POD_A, { close_wait: 300 })]));
    }
    const open = t.engine.list(false);
    expect(open.map((a) => [a.status, a.host, a.netns, a.container?.pod, a.value]).sort()).toEqual([
      ['firing', 'h1', 4026532001, 'web-7d9f8c6b5-x2k4q', 150],
      ['firing', 'h2', 4026532001, 'web-7d9f8c6b5-x2k4q', 300],
    ]);
    const d = t.deliveries();
    expect(d).toHaveLength(2);
    const first = d.find((x) => x['host'] === 'h1')!;
    expect(Object.keys(first)).toEqual(['status', 'rule', 'severity', 'host', 'netns', 'container', 'labels', 'metric', 'value', 'startsAt', 'endsAt', 'evidence']);
    expect(first).toMatchObject({
      status: 'firing',
      rule: 'pod-cw',
      netns: 4026532001,
      container: POD_A,
      labels: { env: 'prod' },
      metric: 'states.close_wait',
      value: 150,
      startsAt: T0 + 2000,
      endsAt: null,
    });
    expect(first['evidence']).toMatchObject({ netns: 4026532001, pid: 32001, container: POD_A, states: { close_wait: 150, established: 0, listen: 2 }, states_age_ms: 0, states_unchanged: true });
    // The views' firing list names the namespace too; the one-line text names the pod and container.
    const f = t.engine.firing().find((a) => a.host === 'h1')!;
    expect(f).toMatchObject({ rule: 'pod-cw', netns: 4026532001, container: POD_A, value: 150 });
    expect(f.summary).toBe(
      `[FIRING] pod-cw on h1 pod shop/web-7d9f8c6b5-x2k4q container nginx (containerd ${'a'.repeat(12)}, netns 4026532001) (warning): states.close_wait = 150; states: close_wait 150, listen 2`,
    );

    // Posted to Alertmanager, each namespace is an alert of its own, named by its pod.
    const am = JSON.parse(
      alertmanagerBody(
        t.engine.list(false).find((x) => x.host === 'h1')!,
        null,
        T0 + 3000,
      ),
    ) as { labels: Record<string, string>; annotations: Record<string, string> }[];
    expect(am[0]!.labels).toEqual({ alertname: 'pod-cw', host: 'h1', severity: 'warning', netns: '4026532001', pod: POD_A.pod, namespace: 'shop', container: 'nginx', env: 'prod' });
    expect(am[0]!.annotations['summary']).toBe(`pod-cw on h1 pod shop/${POD_A.pod!} container nginx (containerd ${'a'.repeat(12)}, netns 4026532001): states.close_wait = 150`);

    // Still above resolve_value: nothing new. Then h1's pod A recovers: one resolved notification.
    t.feed(snap('h1', T0 + 4000, seq++, [ns(4026532001, POD_A, { close_wait: 50 }), ns(4026532003, POD_C, { close_wait: 500 })]));
    expect(t.deliveries()).toHaveLength(2);
    t.feed(snap('h1', T0 + 5000, seq++, [ns(4026532001, POD_A, { close_wait: 10 }), ns(4026532003, POD_C, { close_wait: 500 })]));
    t.feed(snap('h1', T0 + 6000, seq++, [ns(4026532001, POD_A, { close_wait: 5 })]));
    const after = t.deliveries();
    expect(after.map((x) => [x['status'], x['host'], x['netns'], x['value'], x['endsAt']])).toEqual([
      ['firing', 'h1', 4026532001, 150, null],
      ['firing', 'h2', 4026532001, 300, null],
      ['resolved', 'h1', 4026532001, 10, T0 + 5000],
    ]);
    expect(t.engine.list(false).map((a) => a.host)).toEqual(['h2']);
  });

  it('a namespace that disappears resolves its alert, also when the host stops sending namespaces; host rules still read the host numbers', () => {
    const t = setup(`${CW}  - { name: host-cw, kind: threshold, metric: states.close_wait, op: ">", value: 100, for: 0s, grace: 0s, notify: [hook] }\n`);
    let seq = 1;
    for (let i = 0; i < 3; i++) t.feed(snap('h1', T0 + i * 1000, seq++, [ns(7001, POD_A, { close_wait: 150 }), ns(7002, POD_B, { close_wait: 400 })]));
    expect(
      t.engine
        .list(false)
        .map((a) => [a.rule, a.netns ?? null])
        .sort(),
    ).toEqual([
      ['pod-cw', 7001],
      ['pod-cw', 7002],
    ]);
    // Pod A's namespace is gone from the next snapshot: its alert resolves with the last value it had.
    t.feed(snap('h1', T0 + 3000, seq++, [ns(7002, POD_B, { close_wait: 400 })]));
    expect(
      t
        .deliveries()
        .filter((d) => d['status'] === 'resolved')
        .map((d) => [d['netns'], d['value'], d['endsAt']]),
    ).toEqual([[7001, 150, T0 + 3000]]);
    // A snapshot without `namespaces` (the agent runs without --namespaces now): pod B's resolves too.
    // The host's own CLOSE_WAIT (900) is the host rule's business only.
    t.feed(snap('h1', T0 + 4000, seq++, undefined, 900));
    const d = t.deliveries();
    expect(d.filter((x) => x['status'] === 'resolved').map((x) => x['netns'])).toEqual([7001, 7002]);
    expect(d.filter((x) => x['rule'] === 'host-cw').map((x) => [x['status'], x['value'], 'netns' in x])).toEqual([['firing', 900, false]]);
  });

  it('an open container alert survives a restart and resolves when the first snapshot after it no longer lists its namespace', () => {
    const a = setup(CW);
    for (let i = 0; i < 3; i++) a.feed(snap('h1', T0 + i * 1000, i + 1, [ns(8001, POD_A, { close_wait: 150 })]));
    expect(a.engine.list(false)).toMatchObject([{ status: 'firing', netns: 8001 }]);
    const b = setup(CW, a.dbFile);
    expect(b.engine.list(false)).toMatchObject([{ status: 'firing', netns: 8001, container: POD_A }]);
    b.feed(snap('h1', T0 + 10_000, 11, [ns(8002, POD_B, { close_wait: 0 })]));
    expect(b.engine.list(false)).toEqual([]);
    expect(b.deliveries().map((d) => [d['status'], d['netns']])).toEqual([
      ['firing', 8001],
      ['resolved', 8001],
    ]);
  });

  it('spike: each namespace is compared with its own baseline (kept in memory), not with the host or other namespaces', () => {
    const t = setup(
      `${HOOK}rules:\n  - { name: pod-spike, kind: spike, scope: container, metric: states.established, window: 30s, factor: 3, min_delta: 50, for: 0s, grace: 0s, notify: [hook], match: { pod: "web-*" } }\n`,
    );
    let seq = 1;
    // Pod A steady at 100, pod C steady at 1000: then pod A goes to 400 (4x its own baseline, a
    // quarter of pod C's level); pod C stays.
    for (let i = 0; i < 10; i++) t.feed(snap('h1', T0 + i * 1000, seq++, [ns(9001, POD_A, { established: 100 }), ns(9003, POD_C, { established: 1000 })]));
    expect(t.engine.list(true)).toEqual([]);
    t.feed(snap('h1', T0 + 10_000, seq++, [ns(9001, POD_A, { established: 400 }), ns(9003, POD_C, { established: 1000 })]));
    expect(t.engine.list(false).map((a) => [a.status, a.netns, a.value, a.baseline])).toEqual([['firing', 9001, 400, 100]]);
  });

  it('the per-(host, netns) series are bounded: dropped when the namespace goes, at most MAX_NAMESPACES_PER_HOST per host', () => {
    const set = new NamespaceSeriesSet();
    const h = new HostSeries('h1', {}, T0, 1000, T0);
    const keys = sampleKeys([]);
    const many = (n: number): NamespaceEntry[] => Array.from({ length: n }, (_, i) => ns(1_000_000 + i, null, {}));
    let r = set.observe(h, snap('h1', T0, 1, many(MAX_NAMESPACES_PER_HOST + 10)), 60_000, keys, () => true);
    expect(set.size).toBe(MAX_NAMESPACES_PER_HOST);
    expect(r.added).toHaveLength(MAX_NAMESPACES_PER_HOST);
    r = set.observe(h, snap('h1', T0 + 1000, 2, many(3)), 60_000, keys, () => true);
    expect(set.size).toBe(3);
    expect(r.gone).toHaveLength(MAX_NAMESPACES_PER_HOST - 3);
    // An older snapshot (a replayed backlog) adds history but drops nothing.
    set.observe(h, snap('h1', T0 + 500, 3, []), 60_000, keys, () => true);
    expect(set.size).toBe(3);
    // Namespaces no rule wants are not kept.
    set.observe(h, snap('h1', T0 + 2000, 4, many(3)), 60_000, keys, () => false);
    expect(set.size).toBe(0);
  });
});
