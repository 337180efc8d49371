/**
 * The store conformance suite: the same cases against every driver (sqlite.test.ts,
 * postgres.test.ts). Each case opens a fresh, empty store through `open` and closes it after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../packages/collector/src/log.js';
import { hashToken } from '../../../packages/collector/src/ingest/auth.js';
import { DAY, HOUR, MINUTE } from '../../../packages/collector/src/store/rollups.js';
import { deliveryKey } from '../../../packages/collector/src/alerts/notify.js';
import type { HistoryPages, IngestItem, PageStream, Store, StoredSnapshot } from '../../../packages/collector/src/store/store.js';
import { fixtureSnapshot, synthNamespace, synthSnapshot } from '../../helpers/snapshots.js';
import { waitFor } from '../../helpers/procs.js';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { pendingSpike } from '../../helpers/alert-engine.js';

const log = createLogger('silent');
/** On an hour boundary plus a bit. */
const NOW = Date.UTC(2026, 10, 20, 12, 0, 30);
const BOOT = '00000000-0000-4000-8000-000000000001';

const item = (host: string, snapshots: Snapshot[], labels: Record<string, string> = { role: 'test' }): IngestItem => ({ host, labels, snapshots });
const series = (host: string, from: number, n: number, stepMs: number, seq0 = 1, boot = BOOT): Snapshot[] =>
  Array.from({ length: n }, (_, i) => synthSnapshot(host, from + i * stepMs, seq0 + i, seq0 + i + host.length, boot));

/** Every row of a page stream, parsed. */
async function rowsOf(p: PageStream): Promise<Record<string, unknown>[]> {
  let text = '';
  for (let i = 0; i < 10_000; i++) {
    const s = await p.pull();
    text += new TextDecoder().decode(s.text);
    if (s.done) break;
  }
  return JSON.parse(text) as Record<string, unknown>[];
}

type From = Parameters<HistoryPages['hostPage']>[5];

/** Walks every page `pageAt` gives (raw retention `retentionMs`); returns the rows and the number of pages. */
async function walkWith(
  store: Store,
  retentionMs: number,
  limit: number,
  pageAt: (pages: HistoryPages, from: From) => Promise<PageStream>,
): Promise<{ rows: Record<string, unknown>[]; pages: number; resolution: string }> {
  const pages = store.historyPages(retentionMs, log);
  try {
    const rows: Record<string, unknown>[] = [];
    let from: From = null;
    let resolution = '';
    for (let n = 1; n < 1000; n++) {
      const p = await pageAt(pages, from);
      resolution = p.resolution;
      const got = await rowsOf(p);
      expect(got.length).toBeLessThanOrEqual(limit);
      rows.push(...got);
      if (p.next === null) return { rows, pages: n, resolution };
      from = { resolution: p.resolution as 'raw', stage: p.next.stage as 'raw', key: p.next.key };
    }
    throw new Error('too many pages');
  } finally {
    await pages.close();
  }
}

/** Walks every page of a host's history. */
const walk = (store: Store, host: string, since: number, until: number, limit: number, now: number): ReturnType<typeof walkWith> =>
  walkWith(store, HOUR, limit, (p, from) => p.hostPage(host, since, until, limit, now, from));

/** Walks every page of one namespace series' history. */
const nsWalk = (store: Store, host: string, netns: number, since: number, until: number, limit: number, now: number): ReturnType<typeof walkWith> =>
  walkWith(store, DAY, limit, (p, from) => p.nsPage(host, netns, since, until, limit, now, from));

const POD = { runtime: 'containerd' as const, id: 'ab'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'shop-1', namespace: 'shop', name: 'nginx', other_ids: ['cd'.repeat(32)] };
const DOCKER = { runtime: 'docker' as const, id: 'ef'.repeat(32), name: 'redis' };

/** A snapshot of `host` carrying namespace `entries`. */
const withNs = (host: string, ts: number, seq: number, entries: NamespaceEntry[]): Snapshot => ({ ...synthSnapshot(host, ts, seq, seq, BOOT), namespaces: entries });

/** Rows of one resolution in db stats. */
async function statRows(s: Store, resolution: string): Promise<number> {
  return (await s.stats()).resolutions.find((r) => r.resolution === resolution)?.rows ?? -1;
}

export function conformance(driver: string, open: () => Promise<Store>): void {
  describe(`store conformance: ${driver}`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    const fresh = async (): Promise<Store> => {
      const s = await open();
      opened.push(s);
      return s;
    };

    it('ingest is idempotent by (host, boot, seq): a replay stores nothing twice', async () => {
      const s = await fresh();
      const snaps = series('h1', NOW - 60_000, 3, 10_000);
      expect(await s.ingest([item('h1', snaps)], NOW)).toEqual([{ stored: 3, duplicates: 0 }]);
      const more = [...snaps, ...series('h1', NOW - 30_000, 1, 10_000, 4)];
      expect(await s.ingest([item('h1', more)], NOW)).toEqual([{ stored: 1, duplicates: 3 }]);
      // The same seq under another boot is another snapshot.
      expect(await s.ingest([item('h1', series('h1', NOW - 60_000, 1, 10_000, 1, 'boot-2'))], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
      const h = await s.history('h1', 0, NOW + 1, 100);
      expect(h.map((x) => `${x.boot}/${x.seq}`).sort()).toEqual([`${BOOT}/1`, `${BOOT}/2`, `${BOOT}/3`, `${BOOT}/4`, 'boot-2/1'].sort());
      // Several items of one commit, the same host twice: outcomes per item.
      expect(await s.ingest([item('h2', series('h2', NOW - 5000, 2, 1000)), item('h2', series('h2', NOW - 5000, 3, 1000))], NOW)).toEqual([
        { stored: 2, duplicates: 0 },
        { stored: 1, duplicates: 2 },
      ]);
    });

    it('a batch is all or nothing: one bad snapshot stores nothing of the commit', async () => {
      const s = await fresh();
      const bad = series('h2', NOW - 10_000, 1, 1000);
      bad[0]!.seq = 1.5;
      await expect(s.ingest([item('h1', series('h1', NOW - 10_000, 2, 1000)), item('h2', bad)], NOW)).rejects.toThrow();
      expect(await s.history('h1', 0, NOW + 1, 100)).toEqual([]);
      expect(await s.latest()).toEqual([]);
      // The store goes on after the failed commit.
      expect(await s.ingest([item('h1', series('h1', NOW - 10_000, 2, 1000))], NOW)).toEqual([{ stored: 2, duplicates: 0 }]);
    });

    it('latest holds each host its newest snapshot, whatever order they come in', async () => {
      const s = await fresh();
      const a = fixtureSnapshot({ seq: 5, host: 'alpha', ts: NOW - 1000 });
      await s.ingest([item('alpha', [a], { env: 'test' })], NOW);
      await s.ingest([item('alpha', [fixtureSnapshot({ seq: 4, host: 'alpha', ts: NOW - 2000 })], { env: 'test' })], NOW + 1);
      await s.ingest([item('beta', series('beta', NOW - 3000, 2, 1000), { role: 'b' })], NOW + 2);
      const latest = await s.latest();
      expect(latest.map((l) => [l.host, l.seq])).toEqual([
        ['alpha', 5],
        ['beta', 2],
      ]);
      const l = latest[0]!;
      expect(l.states).toEqual(a.states);
      expect(l.snmp).toEqual(a.snmp);
      expect(l.labels).toEqual({ env: 'test' });
      expect(l.boot).toBe(a.boot);
      expect(l.breakdown).toEqual(a.breakdown);
      expect(latest[1]!.labels).toEqual({ role: 'b' });
    });

    it('history: raw rows in order, walked in pages with no row twice and none skipped', async () => {
      const s = await fresh();
      const snaps = series('h1', NOW - 20 * 1000, 20, 1000);
      await s.ingest([item('h1', snaps.slice(0, 9))], NOW);
      await s.ingest([item('h1', snaps.slice(9))], NOW);
      const h = await s.history('h1', NOW - 15_000, NOW, 100);
      expect(h.map((x) => x.seq)).toEqual(snaps.filter((x) => x.ts >= NOW - 15_000).map((x) => x.seq));
      expect(h[0]!.ipv4).toEqual(snaps[5]!.ipv4);
      const w = await walk(s, 'h1', NOW - 60_000, NOW + 1, 7, NOW);
      expect(w.resolution).toBe('raw');
      expect(w.pages).toBe(3);
      expect(w.rows.map((r) => r['seq'])).toEqual(snaps.map((x) => x.seq));
      expect((await walk(s, 'nobody', 0, NOW, 10, NOW)).rows).toEqual([]);
    });

    it('rollups: 1m and 1h history, fleet minutes, late snapshots rolled again, retention after rolling', async () => {
      const s = await fresh();
      const old = NOW - 3 * DAY - 30_000; // on an hour
      // Two hosts, a snapshot every 10 s for 2 hours three days ago, and the last 10 minutes.
      for (const h of ['r1', 'r2']) {
        await s.ingest([item(h, series(h, old, 720, 10_000))], old + 2 * HOUR);
        await s.ingest([item(h, series(h, NOW - 10 * MINUTE, 60, 10_000, 1000))], NOW);
      }
      const job = s.rollupJob({ rawRetentionMs: DAY, now: () => NOW, log });
      if (job === null) throw new Error('no rollup job');
      await job.runOnce();
      // 1m: ranges older than the raw retention; the raw rows of three days ago are gone.
      const m = await walk(s, 'r1', old, old + 2 * HOUR, 50, NOW);
      expect(m.resolution).toBe('1m');
      expect(m.rows).toHaveLength(120);
      expect(m.rows[0]!['ts']).toBe(old);
      expect((m.rows[0]!['rollup'] as { n: number }).n).toBe(6);
      expect((await s.history('r1', old, old + 2 * HOUR, 10_000)).length).toBe(0);
      expect((await s.history('r1', NOW - 10 * MINUTE, NOW, 10_000)).length).toBe(60);
      // 1h: asked from far enough in the future.
      const hr = await walk(s, 'r1', old, old + 2 * HOUR, 50, NOW + 40 * DAY);
      expect(hr.resolution).toBe('1h');
      expect(hr.rows.filter((r) => r['resolution'] === '1h').map((r) => r['ts'])).toEqual([old - (old % HOUR), old - (old % HOUR) + HOUR]);
      expect(hr.rows.filter((r) => r['resolution'] === '1h').map((r) => (r['rollup'] as { n: number }).n)).toEqual([360, 360]);
      // Fleet minutes: both hosts in each.
      const fp = s.historyPages(DAY, log);
      const fleet = await rowsOf(await fp.fleetPage(old, old + 10 * MINUTE, 100, null));
      await fp.close();
      expect(fleet).toHaveLength(10);
      expect(fleet.every((f) => f['hosts'] === 2)).toBe(true);
      // A late snapshot for a rolled minute (received now) makes it rolled again.
      const lateTs = NOW - 30 * MINUTE + 5000;
      const late = series('r1', lateTs, 1, 1000, 5000);
      await s.ingest([item('r1', late)], NOW);
      job.noteCommitted('r1', lateTs);
      await job.runOnce();
      const lm = await walk(s, 'r1', NOW - 30 * MINUTE, NOW - 29 * MINUTE, 10, NOW + 2 * DAY);
      expect(lm.rows.map((r) => (r['rollup'] as { n: number } | undefined)?.n)).toEqual([1]);
      await job.stop();
    });

    it('gaps: recorded once per (host, boot, first seq), extended, listed per host and for all', async () => {
      const s = await fresh();
      await s.ingest([item('g1', series('g1', NOW - 5000, 1, 1000))], NOW);
      const gap = { host: 'g1', boot: BOOT, from_seq: 10, to_seq: 20, count: 11, ts: NOW - 1000, recv_ts: NOW };
      await s.recordGap(gap);
      await s.recordGap({ ...gap, to_seq: 25, count: 16 });
      await s.recordGap({ ...gap, host: 'unknown' });
      expect(await s.gaps('g1', 0)).toEqual([{ ...gap, to_seq: 25, count: 16 }]);
      expect(await s.gaps(null, 0)).toHaveLength(1);
      expect(await s.gaps(null, NOW + 1)).toEqual([]);
    });

    it('host tokens: stored by hash, listed, revoked; a commit on a revoked or shadowed credential stores nothing', async () => {
      const s = await fresh();
      const hash = hashToken('t-1');
      await s.putToken('h1', hash, NOW);
      expect(await s.hostForToken(hash)).toBe('h1');
      expect(await s.hostHasToken('h1')).toBe(true);
      expect(await s.liveTokens()).toEqual(new Map([['h1', hash]]));
      const out = await s.ingest(
        [
          { ...item('h1', series('h1', NOW - 1000, 1, 1000)), auth: { kind: 'host', hash } },
          { ...item('h1', series('h1', NOW - 1000, 1, 1000, 2)), auth: { kind: 'fleet' } },
          { ...item('h2', series('h2', NOW - 1000, 1, 1000)), auth: { kind: 'fleet' } },
        ],
        NOW,
      );
      expect(out).toEqual([
        { stored: 1, duplicates: 0 },
        { stored: 0, duplicates: 0, refused: 'HOST_HAS_TOKEN' },
        { stored: 1, duplicates: 0 },
      ]);
      expect(await s.revokeToken('h1', NOW + 1)).toBe(true);
      expect(await s.revokeToken('h1', NOW + 2)).toBe(false);
      expect(await s.hostForToken(hash)).toBeNull();
      expect(await s.ingest([{ ...item('h1', series('h1', NOW - 500, 1, 1000, 3)), auth: { kind: 'host', hash } }], NOW)).toEqual([{ stored: 0, duplicates: 0, refused: 'REVOKED' }]);
      expect(await s.listTokens()).toEqual([{ host: 'h1', created: NOW, revoked: NOW + 1 }]);
      expect((await s.history('h1', 0, NOW + 1, 10)).map((x) => x.seq)).toEqual([1]);
    });

    it('read tokens: stored by hash, looked up by the guard, revoked', async () => {
      const s = await fresh();
      expect(await s.readTokens.anyLive()).toBe(false);
      await s.readTokens.put('ann', hashToken('r-1'), NOW);
      expect(await s.readTokens.anyLive()).toBe(true);
      const lookup = s.readTokens.lookup();
      await waitFor(() => lookup.nameFor(hashToken('r-1')) === 'ann', 'the guard to see the new read token', 5000);
      expect(lookup.anyLive()).toBe(true);
      expect(await s.readTokens.revoke('ann', NOW + 1)).toBe(true);
      expect(await s.readTokens.revoke('ann', NOW + 2)).toBe(false);
      await waitFor(() => lookup.nameFor(hashToken('r-1')) === null, 'the guard to refuse the revoked token', 5000);
      expect(await s.readTokens.list()).toEqual([{ name: 'ann', created: NOW, revoked: NOW + 1 }]);
    });

    it('host removals: latest only, or purge everything; recorded for running collectors; silent hosts only', async () => {
      const s = await fresh();
      for (const h of ['a', 'b', 'c']) await s.ingest([item(h, series(h, NOW - 5000, 3, 1000))], NOW);
      await s.recordGap({ host: 'b', boot: BOOT, from_seq: 9, to_seq: 9, count: 1, ts: NOW, recv_ts: NOW });
      expect(await s.removeHost('a', { purge: false, now: NOW })).toEqual({ found: true, latest: 1, snapshots: 0, rollups: 0, gaps: 0, namespaces: 0 });
      expect((await s.history('a', 0, NOW + 1, 10)).length).toBe(3);
      expect(await s.removeHost('b', { purge: true, now: NOW + 1 })).toEqual({ found: true, latest: 1, snapshots: 3, rollups: 0, gaps: 1, namespaces: 0 });
      expect(await s.history('b', 0, NOW + 1, 10)).toEqual([]);
      expect(await s.removeHost('zzz', { purge: true, now: NOW })).toMatchObject({ found: false });
      // c was seen at NOW: not silent since NOW - 1.
      expect((await s.removeHost('c', { purge: false, now: NOW, silentBefore: NOW - 1 })).found).toBe(false);
      expect((await s.latest()).map((l) => l.host)).toEqual(['c']);
      const r = await s.removalsSince(0, 10);
      expect(r.map((x) => [x.host, x.purged])).toEqual([
        ['a', false],
        ['b', true],
      ]);
      expect(await s.removalsSince(r[0]!.id, 10)).toHaveLength(1);
      // A purged host comes back with its next batch, with its old boot.
      expect(await s.ingest([item('b', series('b', NOW - 5000, 3, 1000))], NOW + 2)).toEqual([{ stored: 3, duplicates: 0 }]);
      expect((await s.latest()).map((l: StoredSnapshot) => l.host)).toEqual(['b', 'c']);
    });

    it('alert state and the notification outbox survive a reopen', async () => {
      const s = await fresh();
      const a1 = await s.openAlerts();
      const rec = a1.transaction(() => {
        const r = a1.insert({
          rule: 'many',
          key: 'h1',
          status: 'firing',
          severity: 'page',
          host: 'h1',
          labels: { env: 'x' },
          metric: 'states.ESTABLISHED',
          value: 5,
          baseline: null,
          pendingSince: NOW,
          startsAt: NOW,
          endsAt: null,
          lastNotified: null,
          evidence: null,
        });
        a1.enqueue(r.id, 'hook', '{"a":1}', NOW);
        a1.enqueue(r.id, 'hook2', '{"a":2}', NOW + 10_000);
        return r;
      });
      const pending = a1.insert({ ...rec, rule: 'other', status: 'pending', startsAt: null });
      a1.remove(pending.id);
      // Due once the transaction that queued them is durable (PostgreSQL writes behind).
      await a1.durable();
      expect(a1.due(NOW, 10).map((d) => d.notifier)).toEqual(['hook']);
      expect(a1.queued()).toBe(2);
      const [d1] = a1.due(NOW, 10);
      a1.sent(d1!.id, NOW + 1);
      const [d2] = a1.due(NOW + 10_000, 10);
      a1.retry(d2!.id, 1, NOW + 20_000, 'HTTP 500');
      expect(a1.due(NOW + 10_000, 10)).toEqual([]);
      a1.update({ ...rec, status: 'resolved', endsAt: NOW + 5 });
      await a1.close?.();
      const a2 = await s.openAlerts();
      expect(a2.open()).toEqual([]);
      expect(a2.all(10).map((a) => [a.id, a.rule, a.status, a.endsAt])).toEqual([[rec.id, 'many', 'resolved', NOW + 5]]);
      expect(a2.all(10)[0]!.labels).toEqual({ env: 'x' });
      expect(a2.queued()).toBe(1);
      expect(a2.due(NOW + 20_000, 10)).toEqual([{ id: d2!.id, alertId: rec.id, notifier: 'hook2', body: '{"a":2}', attempts: 1 }]);
      a2.failed(d2!.id, 2, 'gone');
      expect(a2.queued()).toBe(0);
      // A newer post of the same alert to the same notifier supersedes the queued one (PostgreSQL
      // already; SQLite once main's Alertmanager notifier is merged: the call is typed loosely here).
      const enqueue: (a: number, n: string, b: string, now: number, supersede?: boolean) => void = a2.enqueue.bind(a2);
      if (driver === 'postgres') {
        enqueue(rec.id, 'am', '{"v":1}', NOW);
        enqueue(rec.id, 'am', '{"v":2}', NOW, true);
        await a2.durable();
        expect(a2.due(NOW + 30_000, 10).map((d) => d.body)).toEqual(['{"v":2}']);
        const [d3] = a2.due(NOW + 30_000, 10);
        a2.sent(d3!.id, NOW + 1);
      }
      // New ids never collide with the ones handed out before.
      const again = a2.insert({ ...rec, status: 'pending' });
      expect(again.id).not.toBe(rec.id);
      expect(a2.prune(NOW + 6)).toBe(1);
      await a2.close?.();
      expect((await s.openAlerts()).all(10).map((a) => a.id)).toEqual([again.id]);
    });

    it('the outbox across leaders: a delivery is due once its transition is durable; the next leader resumes what was not marked sent, with the same key; every collector reads the same alerts', async () => {
      const s = await fresh();
      expect(await s.readAlerts(true, 10)).toEqual([]);
      const a1 = await s.openAlerts();
      const pending = a1.insert(pendingSpike('h1', NOW));
      // The transition and its delivery: one transaction.
      const rec = { ...pending, status: 'firing' as const, startsAt: NOW + 1000, lastNotified: NOW + 1000 };
      a1.transaction(() => {
        a1.update(rec);
        a1.enqueue(rec.id, 'hook', '{"status":"firing"}', NOW + 1000);
      });
      // Nothing is due that is not stored yet: on SQLite the call above committed; PostgreSQL has not been asked yet.
      const early = a1.due(NOW + 1000, 10);
      expect(early).toHaveLength(driver === 'postgres' ? 0 : 1);
      await a1.durable();
      const [d] = a1.due(NOW + 1000, 10);
      expect(d).toMatchObject({ alertId: rec.id, notifier: 'hook', body: '{"status":"firing"}', attempts: 0 });
      expect(early.every((e) => e.id === d!.id)).toBe(true);
      // a1 posts d and dies before marking it sent: the next leader loads the same delivery, with the same key.
      const a2 = await s.openAlerts();
      expect(a2.open().map((a) => [a.id, a.status, a.startsAt])).toEqual([[rec.id, 'firing', NOW + 1000]]);
      const again = a2.due(NOW + 1000, 10);
      expect(again).toEqual([d]);
      expect(deliveryKey(again[0]!)).toBe(deliveryKey(d!));
      expect(deliveryKey({ ...d!, body: '{"status":"resolved"}' })).not.toBe(deliveryKey(d!));
      a2.sent(d!.id, NOW + 1100);
      await a2.durable();
      expect((await s.openAlerts()).due(NOW + 1000, 10)).toEqual([]);
      // A collector that does not lead reads what the leader stored.
      expect(await s.readAlerts(false, 10)).toEqual(a2.open());
      a2.transaction(() => {
        a2.update({ ...rec, status: 'resolved', endsAt: NOW + 5000 });
        a2.enqueue(rec.id, 'hook', '{"status":"resolved"}', NOW + 5000);
      });
      await a2.durable();
      expect(await s.readAlerts(false, 10)).toEqual([]);
      expect(await s.readAlerts(true, 10)).toEqual(a2.all(10));
      expect((await s.readAlerts(true, 10)).map((a) => [a.id, a.status, a.endsAt])).toEqual([[rec.id, 'resolved', NOW + 5000]]);
      expect(a2.due(NOW + 5000, 10).map((x) => x.body)).toEqual(['{"status":"resolved"}']);
      await a2.close?.();
    });

    it('stats: hosts, rows and time span of each resolution', async () => {
      const s = await fresh();
      await s.ingest([item('s1', series('s1', NOW - 5000, 3, 1000)), item('s2', series('s2', NOW - 5000, 2, 1000))], NOW);
      const st = await s.stats();
      const raw = st.resolutions.find((r) => r.resolution === 'raw')!;
      expect(st.hosts).toBe(2);
      expect(raw.rows).toBe(5);
      expect(raw.oldest).toBe(NOW - 5000);
      expect(raw.newest).toBe(NOW - 3000);
      expect(st.resolutions.map((r) => r.resolution)).toEqual(['raw', '1m', '1h', 'fleet_1m', 'ns_raw', 'ns_1m', 'ns_1h']);
      expect(st.bytes).toBeGreaterThan(0);
    });
    it('namespaces: latest() gives the entries back as sent; series; history; a replay stores none of its entries again', async () => {
      const s = await fresh();
      // netns values are inode numbers: above 2^31.
      const entries = [synthNamespace(4026532463, 3, POD), synthNamespace(4026532500, 7, DOCKER), synthNamespace(4026532600, 14, null)];
      const snap = withNs('node-1', NOW - 20_000, 1, entries);
      expect(await s.ingest([item('node-1', [snap])], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
      const [latest] = await s.latest();
      expect(latest?.namespaces).toEqual(entries);
      expect((await s.namespaceSeries('node-1')).map((x) => [x.netns, x.container, x.first_seen, x.last_seen])).toEqual([
        [4026532463, POD, NOW, NOW],
        [4026532500, DOCKER, NOW, NOW],
        [4026532600, null, NOW, NOW],
      ]);
      expect(await s.namespaceHistory('node-1', 4026532500, 0, NOW, 100)).toEqual([{ host: 'node-1', ts: snap.ts, seq: 1, boot: BOOT, recv_ts: NOW, ...entries[1] }]);
      expect(await s.namespaceHistory('node-1', 1, 0, NOW, 100)).toEqual([]);
      expect(await s.namespaceSeries('nobody')).toEqual([]);
      // The same batch again (an agent replaying its outbox), changed entries in it: nothing stored again.
      const replay = { ...snap, namespaces: [synthNamespace(4026532463, 99, DOCKER), synthNamespace(5, 5)] };
      expect(await s.ingest([item('node-1', [replay])], NOW + 1)).toEqual([{ stored: 0, duplicates: 1 }]);
      expect(await statRows(s, 'ns_raw')).toBe(3);
      expect((await s.latest())[0]?.namespaces).toEqual(entries);
      expect((await s.namespaceSeries('node-1')).map((x) => x.netns)).toEqual([4026532463, 4026532500, 4026532600]);
      // Two copies of one snapshot in one commit: its entries stored once.
      const twice = withNs('node-1', NOW - 10_000, 2, [synthNamespace(4026532463, 4, POD)]);
      expect(await s.ingest([item('node-1', [twice]), item('node-1', [twice])], NOW + 2)).toEqual([
        { stored: 1, duplicates: 0 },
        { stored: 0, duplicates: 1 },
      ]);
      expect((await s.namespaceHistory('node-1', 4026532463, 0, NOW, 100)).map((r) => r.seq)).toEqual([1, 2]);
    });

    it("namespaces: the latest set follows the host's newest snapshot; an older snapshot changes nothing; none empties it", async () => {
      const s = await fresh();
      const a = synthNamespace(11, 1, DOCKER);
      const b = synthNamespace(12, 2, null);
      const c = synthNamespace(13, 3, POD);
      await s.ingest([item('h', [withNs('h', NOW - 30_000, 1, [a, b]), withNs('h', NOW - 20_000, 2, [a, c])])], NOW);
      expect((await s.latest())[0]?.namespaces?.map((e) => e.netns)).toEqual([11, 13]);
      await s.ingest([item('h', [withNs('h', NOW - 40_000, 3, [b])])], NOW);
      expect((await s.latest())[0]?.namespaces).toEqual([a, c]);
      expect((await s.namespaceHistory('h', 12, 0, NOW, 10)).map((r) => r.seq)).toEqual([3, 1]);
      // A container identity that changed is the series' identity now.
      await s.ingest([item('h', [withNs('h', NOW - 15_000, 4, [{ ...a, container: POD }])])], NOW + 1);
      expect((await s.namespaceSeries('h')).find((x) => x.netns === 11)?.container).toEqual(POD);
      await s.ingest([item('h', [synthSnapshot('h', NOW - 10_000, 5, 5, BOOT)])], NOW + 2);
      expect((await s.latest())[0]?.namespaces).toBeUndefined();
      expect(await statRows(s, 'ns_raw')).toBe(6);
    });

    it('namespaces: a refused or failed batch stores none of its entries, and the store goes on', async () => {
      const s = await fresh();
      await s.putToken('tok', 'hash-1', NOW);
      await s.revokeToken('tok', NOW);
      const refused = { ...item('tok', [withNs('tok', NOW - 10_000, 1, [synthNamespace(7, 7)])]), auth: { kind: 'host' as const, hash: 'hash-1' } };
      expect(await s.ingest([refused], NOW)).toEqual([{ stored: 0, duplicates: 0, refused: 'REVOKED' }]);
      expect(await s.namespaceSeries('tok')).toEqual([]);
      const bad = { ...synthNamespace(1, 1), netns: 1.5 };
      const items = [item('good', [withNs('good', NOW - 10_000, 1, [synthNamespace(7, 7)])]), item('bad', [withNs('bad', NOW - 10_000, 1, [bad])])];
      await expect(s.ingest(items, NOW)).rejects.toThrow(/cannot store batch/);
      expect(await s.latest()).toEqual([]);
      expect(await s.namespaceSeries('good')).toEqual([]);
      expect(await statRows(s, 'ns_raw')).toBe(0);
      expect(await s.ingest([items[0]!], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
      expect((await s.namespaceSeries('good')).length).toBe(1);
      expect(await statRows(s, 'ns_raw')).toBe(1);
    });

    it('namespaces: raw history walked in pages, no entry twice and none skipped', async () => {
      const s = await fresh();
      const snaps = Array.from({ length: 20 }, (_, i) => withNs('p', NOW - 20_000 + i * 1000, i + 1, [synthNamespace(21, i + 1, DOCKER), synthNamespace(22, i + 2, null)]));
      await s.ingest([item('p', snaps.slice(0, 9))], NOW);
      await s.ingest([item('p', snaps.slice(9))], NOW);
      const w = await nsWalk(s, 'p', 22, NOW - 60_000, NOW + 1, 7, NOW);
      expect(w.resolution).toBe('raw');
      expect(w.pages).toBe(3);
      expect(w.rows.map((r) => r['seq'])).toEqual(snaps.map((x) => x.seq));
      expect(w.rows.every((r) => r['netns'] === 22 && r['container'] === null && r['host'] === 'p')).toBe(true);
      expect(w.rows[4]).toEqual(JSON.parse(JSON.stringify((await s.namespaceHistory('p', 22, snaps[4]!.ts, snaps[4]!.ts + 1, 1))[0])));
      expect((await nsWalk(s, 'p', 99, NOW - 60_000, NOW + 1, 7, NOW)).rows).toEqual([]);
      expect((await nsWalk(s, 'nobody', 22, NOW - 60_000, NOW + 1, 7, NOW)).rows).toEqual([]);
    });

    it('namespaces: 1m and 1h rows after rollups, raw entries pruned with the raw retention, late entries rolled again', async () => {
      const s = await fresh();
      const old = NOW - 3 * DAY - 30_000; // on an hour
      const ns = (k: number): NamespaceEntry[] => [synthNamespace(31, k, DOCKER), synthNamespace(32, k + 1, null)];
      const snaps = Array.from({ length: 720 }, (_, i) => withNs('r1', old + i * 10_000, i + 1, ns(i)));
      await s.ingest([item('r1', snaps)], old + 2 * HOUR);
      await s.ingest(
        [
          item(
            'r1',
            Array.from({ length: 60 }, (_, i) => withNs('r1', NOW - 10 * MINUTE + i * 10_000, 1000 + i, ns(i))),
          ),
        ],
        NOW,
      );
      const job = s.rollupJob({ rawRetentionMs: DAY, now: () => NOW, log });
      if (job === null) throw new Error('no rollup job');
      await job.runOnce();
      const m = await nsWalk(s, 'r1', 31, old, old + 2 * HOUR, 50, NOW);
      expect(m.resolution).toBe('1m');
      expect(m.rows).toHaveLength(120);
      expect(m.rows[0]!['ts']).toBe(old);
      expect((m.rows[0]!['rollup'] as { n: number }).n).toBe(6);
      expect(m.rows.every((r) => r['netns'] === 31 && r['resolution'] === '1m')).toBe(true);
      expect(m.rows[0]!['container']).toEqual(DOCKER);
      // A minute's row holds the last entry of the minute.
      expect(m.rows[0]!['states']).toEqual(snaps[5]!.namespaces![0]!.states);
      expect(await s.namespaceHistory('r1', 31, old, old + 2 * HOUR, 10_000)).toEqual([]);
      expect((await s.namespaceHistory('r1', 31, NOW - 10 * MINUTE, NOW, 10_000)).length).toBe(60);
      const hr = await nsWalk(s, 'r1', 32, old, old + 2 * HOUR, 50, NOW + 40 * DAY);
      expect(hr.resolution).toBe('1h');
      expect(hr.rows.filter((r) => r['resolution'] === '1h').map((r) => [r['ts'], (r['rollup'] as { n: number }).n])).toEqual([
        [old - (old % HOUR), 360],
        [old - (old % HOUR) + HOUR, 360],
      ]);
      expect(await statRows(s, 'ns_1h')).toBe(4);
      expect(await statRows(s, 'ns_raw')).toBe(120);
      const st = (await s.stats()).resolutions.find((r) => r.resolution === 'ns_1m')!;
      expect(st.rolled_until).toBe(Math.floor((NOW - 2 * MINUTE) / MINUTE) * MINUTE);
      // A late snapshot for a rolled minute: its namespaces' minute is rolled again.
      const lateTs = NOW - 30 * MINUTE + 5000;
      await s.ingest([item('r1', [withNs('r1', lateTs, 5000, ns(1))])], NOW);
      job.noteCommitted('r1', lateTs);
      await job.runOnce();
      const lm = await nsWalk(s, 'r1', 31, NOW - 30 * MINUTE, NOW - 29 * MINUTE, 10, NOW + 2 * DAY);
      expect(lm.rows.map((r) => (r['rollup'] as { n: number } | undefined)?.n)).toEqual([1]);
      await job.stop();
    });

    it('namespaces: host rm drops the latest entries and keeps history; purge deletes every row; counts', async () => {
      const s = await fresh();
      await s.ingest([item('a', [withNs('a', NOW - 10_000, 1, [synthNamespace(1, 1), synthNamespace(2, 2)])])], NOW);
      await s.ingest([item('b', [withNs('b', NOW - 10_000, 1, [synthNamespace(1, 3)])])], NOW);
      const kept = await s.removeHost('a', { purge: false, now: NOW });
      expect(kept).toEqual({ found: true, latest: 1, snapshots: 0, rollups: 0, gaps: 0, namespaces: 2 });
      expect((await s.latest()).map((l) => [l.host, l.namespaces?.length])).toEqual([['b', 1]]);
      expect((await s.namespaceHistory('a', 2, 0, NOW, 10)).length).toBe(1);
      expect((await s.namespaceSeries('a')).length).toBe(2);
      expect(await s.removeHost('a', { purge: true, now: NOW })).toEqual({ found: true, latest: 0, snapshots: 1, rollups: 0, gaps: 0, namespaces: 2 });
      expect(await s.namespaceSeries('a')).toEqual([]);
      expect(await s.namespaceHistory('a', 2, 0, NOW, 10)).toEqual([]);
      expect(await statRows(s, 'ns_raw')).toBe(1);
      expect((await s.namespaceSeries('b')).length).toBe(1);
      // Purged with its latest row: latest entries and history both counted.
      expect(await s.removeHost('b', { purge: true, now: NOW })).toEqual({ found: true, latest: 1, snapshots: 1, rollups: 0, gaps: 0, namespaces: 2 });
      // After a purge the host comes back as new: its namespaces are stored again.
      await s.ingest([item('a', [withNs('a', NOW, 2, [synthNamespace(1, 5)])])], NOW + 1);
      expect((await s.latest()).find((x) => x.host === 'a')?.namespaces?.length).toBe(1);
    });
  });
}
