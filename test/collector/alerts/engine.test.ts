/**
 * The alert engine on a real SQLite file with synthetic snapshot series and a controlled clock:
 * `for` measured in sample time, threshold hysteresis, spike min_delta and resolve_factor,
 * rate() over counters with resets, grace after a reconnect (a replayed backlog fires nothing),
 * absent hosts, and state that survives a new engine on the same database (a restart) without a
 * second firing notification while repeats still come when due.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { emptyStates } from '@tcpfleet/common';
import type { Breakdown, Snapshot } from '@tcpfleet/common';
import { parseRules } from '../../../packages/collector/src/alerts/rules-file.js';
import { engineOnFile } from '../../helpers/alert-engine.js';

const T0 = 1_800_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function snap(host: string, ts: number, seq: number, v: { established?: number; retrans?: number; boot?: string; port?: number }): Snapshot {
  const states = { ...emptyStates(), established: v.established ?? 0, listen: 1 };
  const inbound = v.port === undefined ? [] : [{ port: v.port, states: { ...emptyStates(), established: v.established ?? 0 } }];
  return {
    host,
    ts,
    seq,
    boot: v.boot ?? 'aaaaaaaa-0000',
    interval_ms: 1000,
    labels: { env: 'test' },
    states,
    ipv4: states,
    ipv6: emptyStates(),
    summary: { total: 0, estab: 0, closed: 0, orphaned: 0, timewait: 0 },
    sockstat: { sockets_used: 0, tcp_inuse: 0, tcp_orphan: 0, tcp_tw: 0, tcp_alloc: 0, tcp_mem: 0, tcp6_inuse: 0 },
    snmp: { RetransSegs: v.retrans ?? 0 },
    netstat: {},
    collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
    breakdown: { inbound, outbound: [], other: { inbound: emptyStates(), outbound: emptyStates() } },
  };
}

/** An engine on a fresh (or given) database file, with a clock the test moves. */
const setup = (rulesYaml: string, file?: string) => engineOnFile(rulesYaml, cleanups, T0, file);

const HOOK = `notifiers:\n  - { name: hook, type: webhook, url: "http://127.0.0.1:9/" }\n`;

describe('alert engine', () => {
  it('threshold: fires once the condition held for `for` in sample time, stays firing above resolve_value, resolves below it', () => {
    const t = setup(`${HOOK}rules:\n  - { name: cw, kind: threshold, metric: states.established, op: ">", value: 500, resolve_value: 400, for: 2s, grace: 0s, notify: [hook] }\n`);
    let seq = 1;
    const at = (i: number, v: number): Snapshot => snap('h', T0 + i * 1000, seq++, { established: v });
    // All in one batch, received at once: `for` still counts sample time.
    t.feed([at(0, 100), at(1, 600), at(2, 600)], T0 + 10_000);
    expect(t.engine.list(false)).toMatchObject([{ status: 'pending', startsAt: T0 + 1000 }]);
    t.feed(at(3, 600));
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing', startsAt: T0 + 3000, value: 600 }]);
    expect(t.engine.firing()).toEqual([{ rule: 'cw', host: 'h', since: T0 + 3000, value: 600, severity: 'warning', summary: '[FIRING] cw on h (warning): states.established = 600' }]);
    t.feed(at(4, 450)); // under value, above resolve_value: still firing
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing' }]);
    t.feed(at(5, 390));
    expect(t.engine.list(false)).toEqual([]);
    expect(t.deliveries().map((d) => [d.body['status'], d.body['value'], d.body['startsAt'], d.body['endsAt']])).toEqual([
      ['firing', 600, T0 + 3000, null],
      ['resolved', 390, T0 + 3000, T0 + 5000],
    ]);
  });

  it('threshold: a condition that stops holding before `for` clears the pending alert and notifies nothing', () => {
    const t = setup(`${HOOK}rules:\n  - { name: cw, kind: threshold, metric: states.established, op: ">", value: 500, for: 5s, grace: 0s, notify: [hook] }\n`);
    for (let i = 0; i < 4; i++) t.feed(snap('h', T0 + i * 1000, i + 1, { established: 600 }));
    expect(t.engine.list(false)).toMatchObject([{ status: 'pending' }]);
    t.feed(snap('h', T0 + 4000, 5, { established: 10 }));
    expect(t.engine.list(true)).toEqual([]);
    expect(t.deliveries()).toEqual([]);
  });

  it('spike: a small absolute change under min_delta does not fire; a big one does, with the evidence of its sample; it keeps its baseline while it lasts and resolves under resolve_factor x baseline', () => {
    const t = setup(`${HOOK}rules:\n  - { name: sp, kind: spike, metric: states.established, window: 30s, factor: 3, min_delta: 40, for: 1s, grace: 0s, notify: [hook] }\n`);
    let i = 0;
    const feedN = (host: string, n: number, v: number, port?: number): void => {
      for (let k = 0; k < n; k++, i++) t.feed(snap(host, T0 + i * 1000, i + 1, { established: v, ...(port === undefined ? {} : { port }) }));
    };
    feedN('quiet', 10, 2);
    feedN('quiet', 5, 8); // 4x the baseline, but +6
    expect(t.engine.list(true)).toEqual([]);
    i = 0;
    feedN('busy', 10, 4);
    feedN('busy', 3, 84, 8443);
    const [a] = t.engine.list(false);
    expect(a).toMatchObject({ status: 'firing', host: 'busy', value: 84, baseline: 4 });
    expect((a!.evidence as Breakdown).inbound).toEqual([{ port: 8443, states: expect.objectContaining({ established: 84 }) as unknown }]);
    feedN('busy', 40, 84, 8443); // longer than the 30 s window: the spike does not become its own baseline
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing', baseline: 4 }]);
    feedN('busy', 1, 30); // 30 > 2 x 4 (resolve_factor defaults to 2) and 30 - 4 >= min_delta / 2: still firing
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing' }]);
    feedN('busy', 1, 7);
    expect(t.engine.list(false)).toEqual([]);
    expect(t.deliveries().map((d) => d.body['status'])).toEqual(['firing', 'resolved']);
  });

  it('grace: a host back after a silence replays its backlog, and nothing fires during grace, burst or not', () => {
    const t = setup(`${HOOK}rules:\n  - { name: sp, kind: spike, metric: states.established, window: 60s, factor: 3, min_delta: 10, for: 1s, grace: 10s, notify: [hook] }\n`);
    t.clock.now = T0 + 20_000; // past the start-up grace of the engine
    let seq = 1;
    for (let i = 20; i < 40; i++) t.feed(snap('h', T0 + i * 1000, seq++, { established: 5 }));
    // Silent for 30 s (the collector was unreachable); then the spooled backlog arrives in one batch.
    const backlog: Snapshot[] = [];
    for (let i = 40; i < 70; i++) backlog.push(snap('h', T0 + i * 1000, seq++, { established: i >= 50 && i < 55 ? 100 : 5 }));
    t.feed(backlog, T0 + 70_000);
    expect(t.engine.list(true)).toEqual([]);
    // A real burst once the grace period is over does fire.
    for (let i = 70; i < 80; i++) t.feed(snap('h', T0 + i * 1000, seq++, { established: 5 }));
    expect(t.engine.list(true)).toEqual([]);
    for (let i = 80; i < 83; i++) t.feed(snap('h', T0 + i * 1000, seq++, { established: 100 }));
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing', startsAt: T0 + 81_000, baseline: 5 }]);
  });

  it('rate(): the per-second increase of a counter; a reset (new agent boot) gives no rate rather than a negative one', () => {
    const t = setup(`rules:\n  - { name: rt, kind: threshold, metric: rate(snmp.RetransSegs), op: ">", value: 10, for: 0s, grace: 0s }\n`);
    t.clock.now = T0;
    t.feed(snap('h', T0, 1, { retrans: 1000 }));
    t.feed(snap('h', T0 + 2000, 2, { retrans: 1010 })); // 5/s
    expect(t.engine.list(true)).toEqual([]);
    t.feed(snap('h', T0 + 4000, 3, { retrans: 1110 })); // 50/s
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing', value: 50, metric: 'rate(snmp.RetransSegs)' }]);
    t.feed(snap('h', T0 + 5000, 1, { retrans: 3, boot: 'bbbbbbbb-0000' })); // agent restarted: no rate
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing', value: 50 }]);
    t.feed(snap('h', T0 + 6000, 2, { retrans: 5, boot: 'bbbbbbbb-0000' })); // 2/s
    expect(t.engine.list(false)).toEqual([]);
  });

  it('absent: fires when a host sent nothing for `for`, resolves when it is back', () => {
    const t = setup(`${HOOK}rules:\n  - { name: down, kind: absent, for: 10s, grace: 0s, notify: [hook] }\n`);
    t.feed(snap('h', T0, 1, {}));
    t.clock.now = T0 + 5000;
    t.engine.tick();
    expect(t.engine.list(false)).toMatchObject([{ status: 'pending', startsAt: T0 }]);
    t.clock.now = T0 + 10_000;
    t.engine.tick();
    expect(t.engine.list(false)).toMatchObject([{ status: 'firing', host: 'h', metric: null, value: 10 }]);
    t.feed(snap('h', T0 + 12_000, 2, {}));
    expect(t.engine.list(false)).toEqual([]);
    expect(t.deliveries().map((d) => d.body['status'])).toEqual(['firing', 'resolved']);
  });

  it('a new engine on the same database (a restart) keeps the firing alert without notifying it again; repeats come when due', () => {
    const rules = `${HOOK}rules:\n  - { name: cw, kind: threshold, metric: states.established, op: ">", value: 500, for: 0s, grace: 5s, repeat: 1m, notify: [hook] }\n`;
    const a = setup(rules);
    a.feed(snap('h', T0 + 1000, 1, { established: 600 })); // first contact: the host's grace starts
    expect(a.deliveries()).toHaveLength(0);
    for (let i = 2; i <= 10; i++) a.feed(snap('h', T0 + i * 1000, i, { established: 600 }));
    expect(a.deliveries()).toHaveLength(1);
    const firing = a.engine.list(false)[0]!;
    a.db.close();
    cleanups.pop();

    const b = setup(rules, a.dbFile);
    b.clock.now = T0 + 11_000;
    for (let i = 11; i <= 20; i++) b.feed(snap('h', T0 + i * 1000, i, { established: 600 })); // through the restart grace
    b.engine.tick();
    expect(b.engine.list(false)).toMatchObject([{ status: 'firing', startsAt: firing.startsAt }]);
    expect(b.deliveries()).toHaveLength(1);
    // The repeat interval counts from the last notification, also across the restart.
    b.clock.now = T0 + 10_000 + 60_000;
    b.engine.tick();
    expect(b.deliveries().map((d) => [d.body['status'], d.body['startsAt']])).toEqual([
      ['firing', firing.startsAt],
      ['firing', firing.startsAt],
    ]);
    b.engine.tick();
    expect(b.deliveries()).toHaveLength(2);
  });

  it('fleet scope: sums live matching hosts on each tick', () => {
    const t = setup(`rules:\n  - { name: fl, kind: threshold, metric: states.established, op: ">=", value: 100, scope: fleet, match: { env: test }, for: 0s, grace: 0s }\n`);
    t.feed(snap('a', T0, 1, { established: 60 }));
    t.feed(snap('b', T0, 1, { established: 30 }));
    t.engine.tick();
    expect(t.engine.list(true)).toEqual([]);
    t.feed(snap('b', T0 + 1000, 2, { established: 40 }));
    t.engine.tick();
    const [f] = t.engine.list(false);
    expect(f).toMatchObject({ status: 'firing', value: 100, labels: { env: 'test' } });
    expect(f).not.toHaveProperty('host');
  });

  it('an alert ends when its host stops matching the rule, and when a reload removes its rule', () => {
    const yaml = (extra: string): string =>
      `${HOOK}rules:\n  - { name: a, kind: threshold, metric: states.established, op: ">", value: 5, for: 0s, grace: 0s, match: { env: test }, notify: [hook] }\n${extra}`;
    const t = setup(yaml(`  - { name: b, kind: threshold, metric: states.established, op: ">", value: 5, for: 0s, grace: 0s, notify: [hook] }\n`));
    t.feed(snap('h', T0, 1, { established: 9 }));
    expect(
      t.engine
        .list(false)
        .map((x) => x.rule)
        .sort(),
    ).toEqual(['a', 'b']);
    const moved = { ...snap('h', T0 + 1000, 2, { established: 9 }), labels: { env: 'prod' } };
    t.engine.ingest([{ host: 'h', labels: { env: 'prod' }, snapshots: [moved] }], T0 + 1000);
    expect(t.engine.list(false).map((x) => x.rule)).toEqual(['b']);
    expect(
      t
        .deliveries()
        .filter((d) => d.body['rule'] === 'a')
        .map((d) => d.body['status']),
    ).toEqual(['firing', 'resolved']);
    t.engine.setRules(parseRules(yaml(''), 'r.yml'));
    expect(t.engine.list(false)).toEqual([]);
    expect(
      t.engine
        .list(true)
        .map((x) => [x.rule, x.status])
        .sort(),
    ).toEqual([
      ['a', 'resolved'],
      ['b', 'resolved'],
    ]);
  });
});
