/**
 * Issue 14: history answered in pages, against a real SQLite file. A walk that follows the next
 * position gives every row of its range exactly once and in order, whatever the page size and
 * across the 1h -> 1m -> raw stages; rows with the same ts from two boots are told apart; rows
 * written during a walk ahead of its position are seen, none twice. And the overview cache's
 * bound (views/overview-cache.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { HOUR, MINUTE, RollupJob } from '../../packages/collector/src/store/rollups.js';
import { RollupReader } from '../../packages/collector/src/store/rollup-history.js';
import type { RollupSnapshot } from '../../packages/collector/src/store/rollup-history.js';
import type { HistoryPosition } from '../../packages/collector/src/store/store.js';
import type { Resolution, StoredSnapshot } from '../../packages/collector/src/store/store.js';
import { TtlLru } from '../../packages/collector/src/views/overview-cache.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NOW = Date.UTC(2026, 10, 20, 12, 0, 30);

function setup(): SqliteStore {
  const t = tempDir('pages');
  const store = new SqliteStore({ path: join(t.dir, 'db.sqlite'), durability: 'normal' });
  cleanups.push(t.cleanup, () => store.close());
  return store;
}

async function fill(store: SqliteStore, host: string, start: number, end: number, stepMs: number, boot?: string): Promise<number> {
  const snaps = [];
  let seq = 1;
  for (let ts = start; ts < end; ts += stepMs) snaps.push(synthSnapshot(host, ts, seq, seq++ * 7, boot));
  for (let i = 0; i < snaps.length; i += 500) await store.ingest([{ host, labels: { role: 'test' }, snapshots: snaps.slice(i, i + 500) }], end);
  return snaps.length;
}

/** Every row of a walk with pages of `limit`, and the number of pages. */
function walk(reader: RollupReader, host: string, since: number, until: number, limit: number, onPage?: (n: number) => void): { rows: StoredSnapshot[]; pages: number; resolutions: Set<Resolution> } {
  const rows: StoredSnapshot[] = [];
  const resolutions = new Set<Resolution>();
  let from: HistoryPosition | null = null;
  let pages = 0;
  for (; pages < 100_000;) {
    const { resolution, page } = reader.historyPage(host, since, until, limit, NOW, from);
    resolutions.add(resolution);
    pages++;
    const got: StoredSnapshot[] = [];
    for (let r = page.read(13); r.length > 0; r = page.read(13)) got.push(...r);
    expect(got.length).toBe(page.rows);
    expect(got.length).toBeLessThanOrEqual(limit);
    rows.push(...got);
    onPage?.(pages);
    if (page.next === null) break;
    expect(got.length).toBe(limit);
    from = { resolution, stage: page.next.stage as HistoryPosition['stage'], key: page.next.key };
  }
  return { rows, pages, resolutions };
}

const keyOf = (r: StoredSnapshot): string => `${(r as Partial<RollupSnapshot>).resolution ?? 'raw'} ${r.ts} ${r.boot} ${r.seq}`;

describe('history pages', () => {
  it('a walk gives every row once, in order, across 1h, 1m and raw, whatever the page size', async () => {
    const store = setup();
    const start = NOW - 30_000 - 5 * HOUR;
    await fill(store, 'h', start, NOW, 10_000);
    await new RollupJob(store.db, { rawRetentionMs: 48 * HOUR, now: () => NOW }).runOnce();
    // Raw kept 30 min, minutes 2 h: a 5 h range is answered 1h, then 1m, then raw.
    const reader = new RollupReader(store.db, store, 30 * MINUTE, 2 * HOUR);
    const whole = walk(reader, 'h', start, NOW + 1, 10_000);
    expect(whole.pages).toBe(1);
    const stages = whole.rows.map((r) => (r as Partial<RollupSnapshot>).resolution ?? 'raw');
    expect([...new Set(stages)]).toEqual(['1h', '1m', 'raw']);
    expect(stages.filter((s) => s === '1h').length).toBeGreaterThanOrEqual(3);
    expect(stages.filter((s) => s === 'raw').length).toBeGreaterThan(6);
    for (let i = 1; i < whole.rows.length; i++) expect(whole.rows[i]!.ts).toBeGreaterThan(whole.rows[i - 1]!.ts);
    for (const limit of [1, 7, 60, 181]) {
      const paged = walk(reader, 'h', start, NOW + 1, limit);
      expect(paged.rows.map(keyOf)).toEqual(whole.rows.map(keyOf));
      expect(paged.pages).toBe(Math.ceil(whole.rows.length / limit));
      expect(paged.resolutions).toEqual(new Set(['1h']));
    }
  });

  it('tells apart rows of two boots with the same ts, and sees rows written ahead of the walk', async () => {
    const store = setup();
    const start = NOW - HOUR;
    const a = await fill(store, 'twin', start, start + 600_000, 1_000, 'boot-a');
    const b = await fill(store, 'twin', start, start + 600_000, 1_000, 'boot-b');
    const reader = new RollupReader(store.db, store, 48 * HOUR);
    let added = 0;
    const { rows } = walk(reader, 'twin', start, NOW + 1, 97, (page) => {
      // After the third page, 50 rows newer than everything (ahead of the walk's position);
      // the SQLite store writes them before ingest() returns.
      if (page !== 3) return;
      const late = Array.from({ length: 50 }, (_, i) => synthSnapshot('twin', start + 700_000 + i * 1000, i + 1, i, 'boot-c'));
      void store.ingest([{ host: 'twin', labels: { role: 'test' }, snapshots: late }], NOW);
      added = late.length;
    });
    expect(added).toBe(50);
    const keys = rows.map((r) => `${r.boot} ${r.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(a + b + added);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.ts).toBeGreaterThanOrEqual(rows[i - 1]!.ts);
  });

  it('the fleet minutes page the same way', async () => {
    const store = setup();
    const start = NOW - 30_000 - 3 * HOUR;
    for (const h of ['f1', 'f2']) await fill(store, h, start, NOW, 10_000);
    await new RollupJob(store.db, { rawRetentionMs: 48 * HOUR, now: () => NOW }).runOnce();
    const reader = new RollupReader(store.db, store, 48 * HOUR);
    const whole = reader.fleetHistory(start, NOW);
    expect(whole.length).toBeGreaterThan(170);
    const got: number[] = [];
    let after: number | null = null;
    for (let i = 0; i < 1000; i++) {
      const page = reader.fleetPage(start, NOW, 50, after);
      for (let r = page.read(16); r.length > 0; r = page.read(16)) got.push(...r.map((m) => m.ts));
      if (page.next === null) break;
      after = page.next.key[0]!;
    }
    expect(got).toEqual(whole.map((m) => m.ts));
  });
});

describe('the overview cache', () => {
  it('holds at most its bound, drops the least recently used first, and forgets after its ttl', () => {
    const c = new TtlLru<number>(3, 1000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    c.set('c', 3, 0);
    expect(c.get('a', 10)).toBe(1); // a is now the most recent
    c.set('d', 4, 10);
    expect(c.size).toBe(3);
    expect(c.get('b', 20)).toBeUndefined(); // b was the least recently used
    expect(c.get('a', 20)).toBe(1);
    expect(c.get('c', 20)).toBe(3);
    expect(c.get('d', 20)).toBe(4);
    for (let i = 0; i < 100; i++) c.set(`k${i}`, i, 30);
    expect(c.size).toBe(3);
    expect(c.get('k99', 1029)).toBe(99);
    expect(c.get('k99', 1030)).toBeUndefined();
    c.set('x', 1, 2000);
    c.drop('x', 2);
    expect(c.get('x', 2000)).toBe(1);
    c.drop('x', 1);
    expect(c.get('x', 2000)).toBeUndefined();
  });
});
