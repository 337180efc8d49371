/**
 * History pages on PostgreSQL, with the cursor semantics of store/keyset-pages.ts and the stages
 * of store/rollup-history.ts (1h, 1m, raw; or the fleet's minutes), each read by key with one
 * bounded statement per stage (LIMIT the rows the page still needs, plus one to know whether a
 * next page exists). Rows are converted with the SQLite reader's functions, so both drivers
 * answer the same JSON. A page's rows are read when it is planned (at most `limit`, which the API
 * bounds) and handed out in slices.
 */
import { jsonArraySlices } from '../../api/json-stream.js';
import { HOUR, MINUTE } from '../rollups.js';
import { STAGE_RANK, fleetRow, pickResolution, toRow } from '../rollup-history.js';
import type { BucketRow } from '../rollup-history.js';
import type { HistoryPosition } from '../store.js';
import { compareKeys } from '../keyset-pages.js';
import type { ContainerIdentity } from '@tcpfleet/common';
import type { HistoryPages, PageStream, Resolution } from '../store.js';
import type { StoredRow } from '../stored-row.js';
import type { PgDb } from './pg-db.js';
import type { NsStoredEntry, StoredSnapshot } from '../store.js';
import { rollupRow } from '../ns-history.js';

/** What the pages need of the store. */
export interface PgHistoryStore {
  db: PgDb;
  hostLabels(host: string): Promise<Record<string, string> | null>;
  toSnapshots(host: string, labels: Record<string, string>, rows: readonly (StoredRow & { layout_id: number })[]): Promise<StoredSnapshot[]>;
  /** Raw entries of one namespace series after a key (store/pg/pg-namespaces.ts). */
  nsRawRows(host: string, netns: number, after: readonly number[], until: number, n: number): Promise<{ key: number[]; row: NsStoredEntry }[]>;
}

type Key = readonly number[];

/** One stage: `fetch(after, n)` gives at most n rows after `after` in key order, with their keys. */
interface Stage {
  name: string;
  rank: number;
  start: Key;
  fetch(after: Key, n: number): Promise<{ key: Key; row: () => Promise<unknown> }[]>;
}

const encoder = new TextEncoder();

function stream(resolution: string, rows: unknown[], next: PageStream['next']): PageStream {
  let at = 0;
  const slices = jsonArraySlices((n) => {
    const out = rows.slice(at, at + n);
    at += out.length;
    return out;
  });
  return {
    resolution,
    next,
    pull: () => {
      const { text, done } = slices();
      return Promise.resolve({ text: encoder.encode(text), done });
    },
    drop: () => undefined,
  };
}

/** Plans a page over the stages after `from`, reading its rows. */
async function page(stages: readonly Stage[], from: { stage: string; rank: number; key: Key } | null, limit: number): Promise<{ rows: unknown[]; next: PageStream['next'] }> {
  const rows: unknown[] = [];
  let left = limit;
  let last: { stage: Stage; key: Key } | null = null;
  for (const st of stages) {
    if (from !== null && st.rank < from.rank) continue;
    const after = from !== null && st.rank === from.rank && compareKeys(from.key, st.start) > 0 ? from.key : st.start;
    if (left === 0) {
      if ((await st.fetch(after, 1)).length > 0 && last !== null) return { rows, next: { stage: last.stage.name, key: [...last.key] } };
      continue;
    }
    const got = await st.fetch(after, left + 1);
    for (const g of got.slice(0, left)) {
      rows.push(await g.row());
      last = { stage: st, key: g.key };
    }
    if (got.length > left) return { rows, next: { stage: st.name, key: [...last!.key] } };
    left -= got.length;
  }
  return { rows, next: null };
}

export class PgHistoryPages implements HistoryPages {
  readonly #store: PgHistoryStore;
  readonly #rawRetentionMs: number;

  constructor(store: PgHistoryStore, rawRetentionMs: number) {
    this.#store = store;
    this.#rawRetentionMs = rawRetentionMs;
  }

  async #done(res: '1m' | '1h'): Promise<number> {
    return (await this.#store.db.query<{ d: number }>('SELECT done_until AS d FROM rollup_state WHERE resolution = $1', [res]))[0]?.d ?? -Infinity;
  }

  #bucketStage(name: '1m' | '1h' | 'fleet', rank: number, host: string | null, start: number, hi: number, toT: (r: BucketRow) => unknown, netns: number | null = null): Stage {
    const table = name === 'fleet' ? 'rollup_fleet_1m' : `${netns === null ? '' : 'ns_'}rollup_${name}`;
    const cols = host === null ? 'bucket, hosts, vals' : 'bucket, last_ts, vals';
    return {
      name,
      rank,
      start: [start],
      fetch: async (after, n) => {
        const rows = await this.#store.db.query<BucketRow>(
          `SELECT ${cols} FROM ${table} WHERE ${host === null ? '' : 'host = $4 AND '}${netns === null ? '' : 'netns = $5 AND '}bucket > $1 AND bucket < $2 ORDER BY bucket LIMIT $3`,
          host === null ? [after[0] ?? -1, hi, n] : netns === null ? [after[0] ?? -1, hi, n, host] : [after[0] ?? -1, hi, n, host, netns],
        );
        return rows.map((r) => ({ key: [r.bucket], row: () => Promise.resolve(toT(r)) }));
      },
    };
  }

  /**
   * The rollup stages of a page at `resolution` over [since, until): one-hour rows, then one-minute
   * rows, each up to where it is rolled (`stage` makes one); `lo` is where the raw rows start.
   */
  async #rollStages(
    resolution: Resolution,
    since: number,
    until: number,
    stage: (res: '1m' | '1h', rank: number, first: number, hi: number, width: number) => Stage,
  ): Promise<{ stages: Stage[]; lo: number }> {
    const stages: Stage[] = [];
    let lo = since;
    for (const [res, rank] of [
      ['1h', 0],
      ['1m', 1],
    ] as const) {
      if (resolution === 'raw' || (res === '1h' && resolution !== '1h')) continue;
      const width = res === '1m' ? MINUTE : HOUR;
      const first = Math.floor(lo / width) * width;
      const hi = Math.min(until, await this.#done(res));
      if (hi <= first) continue;
      stages.push(stage(res, rank, first, hi, width));
      lo = Math.max(lo, hi);
    }
    return { stages, lo };
  }

  async hostPage(host: string, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream> {
    const resolution = from?.resolution ?? pickResolution(since, now, this.#rawRetentionMs);
    const labels = await this.#store.hostLabels(host);
    if (labels === null) return stream(resolution, [], null);
    const { stages, lo } = await this.#rollStages(resolution, since, until, (res, rank, first, hi, width) =>
      this.#bucketStage(res, rank, host, first - 1, hi, (r) => toRow(host, labels, res, width, r)),
    );
    if (lo < until) {
      const db = this.#store.db;
      stages.push({
        name: 'raw',
        rank: 2,
        start: [lo - 1, Infinity, Infinity],
        fetch: async (after, n) => {
          // (ts, boot, seq) after `after`; a key of [t, Infinity, ...] means every row with ts > t.
          const open = !Number.isFinite(after[1] ?? Infinity);
          const rows = await db.query<StoredRow & { layout_id: number; boot_id: number }>(
            `SELECT s.seq, s.ts, s.recv_ts, s.layout_id, s.vals, s.errors, s.boot_id, b.boot FROM snapshots s JOIN boots b ON b.host = s.host AND b.id = s.boot_id
             WHERE s.host = $1 AND s.ts < $2 AND ${open ? 's.ts > $3' : '(s.ts, s.boot_id, s.seq) > ($3, $5, $6)'} ORDER BY s.ts, s.boot_id, s.seq LIMIT $4`,
            open ? [host, until, after[0], n] : [host, until, after[0], n, after[1], after[2]],
          );
          return rows.map((r) => ({ key: [r.ts, r.boot_id, r.seq], row: async () => (await this.#store.toSnapshots(host, labels, [r]))[0] }));
        },
      });
    }
    const pos = from === null ? null : { stage: from.stage, rank: STAGE_RANK[from.stage] ?? 0, key: from.key };
    const { rows, next } = await page(stages, pos, limit);
    return stream(resolution, rows, next);
  }

  async fleetPage(since: number, until: number, limit: number, after: number | null): Promise<PageStream> {
    const stage = this.#bucketStage('fleet', 0, null, since - 1, until, fleetRow);
    const { rows, next } = await page([stage], after === null ? null : { stage: 'fleet', rank: 0, key: [after] }, limit);
    return stream('1m', rows, next);
  }

  /** The page of one namespace series (host, netns): the stages of hostPage over the ns_* tables (rows as store/ns-history.ts). */
  async nsPage(host: string, netns: number, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream> {
    const resolution = from?.resolution ?? pickResolution(since, now, this.#rawRetentionMs);
    if ((await this.#store.hostLabels(host)) === null) return stream(resolution, [], null);
    const c = (await this.#store.db.query<{ container: string | null }>('SELECT container FROM ns_series WHERE host = $1 AND netns = $2', [host, netns]))[0];
    const container = c?.container == null ? null : (JSON.parse(c.container) as ContainerIdentity);
    const { stages, lo } = await this.#rollStages(resolution, since, until, (res, rank, first, hi, width) =>
      this.#bucketStage(res, rank, host, first - 1, hi, (r) => rollupRow(host, netns, container, res, width, r), netns),
    );
    if (lo < until)
      stages.push({
        name: 'raw',
        rank: 2,
        start: [lo - 1, Infinity, Infinity],
        fetch: async (after, n) => (await this.#store.nsRawRows(host, netns, after, until, n)).map((r) => ({ key: r.key, row: () => Promise.resolve(r.row) })),
      });
    const pos = from === null ? null : { stage: from.stage, rank: STAGE_RANK[from.stage] ?? 0, key: from.key };
    const { rows, next } = await page(stages, pos, limit);
    return stream(resolution, rows, next);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
