/**
 * The daily partitions of the PostgreSQL snapshots table: snapshots_dYYYYMMDD holds the
 * snapshots with ts in that UTC day. A partition is created before the first batch that needs it
 * (and the next two days ahead, every hour), and retention drops whole partitions. Several
 * collectors may create the same partition at once: a creation that loses the race is fine.
 */
import { DAY, floorTo } from '../rollups.js';
import type { PgDb } from './pg-db.js';

/** The partition name of the day that holds `ts`. */
export function partitionName(dayStart: number): string {
  return `snapshots_d${new Date(dayStart).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export class Partitions {
  readonly #db: PgDb;
  /** Day starts known to have a partition (a cache: another collector may have dropped one since). */
  readonly #known = new Set<number>();

  constructor(db: PgDb) {
    this.#db = db;
  }

  /** Reads the partitions there are. */
  async load(): Promise<void> {
    // A day is known when both its snapshots and its ns_snapshots (issue 10) partitions exist.
    const rows = await this.#db.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent IN ('snapshots'::regclass, to_regclass('ns_snapshots'))",
    );
    this.#known.clear();
    const seen = new Map<number, number>();
    for (const r of rows) {
      const m = /^(?:ns_)?snapshots_d(\d{4})(\d{2})(\d{2})$/.exec(r.name);
      if (m === null) continue;
      const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      seen.set(day, (seen.get(day) ?? 0) + 1);
    }
    for (const [day, n] of seen) if (n === 2) this.#known.add(day);
  }

  /** Forgets what it knows (after an insert found no partition for a row). */
  forget(): void {
    this.#known.clear();
  }

  /** Makes sure a partition holds each of these timestamps. */
  async ensure(timestamps: Iterable<number>): Promise<void> {
    const days = new Set<number>();
    for (const ts of timestamps) {
      const d = floorTo(ts, DAY);
      if (!this.#known.has(d)) days.add(d);
    }
    for (const d of days) await this.#create(d);
  }

  /** Creates today's partition and the next `ahead` days'. */
  async ahead(now: number, ahead = 2): Promise<void> {
    const today = floorTo(now, DAY);
    const days: number[] = [];
    for (let i = 0; i <= ahead; i++) days.push(today + i * DAY);
    await this.ensure(days);
  }

  async #create(day: number): Promise<void> {
    const name = partitionName(day);
    try {
      await this.#db.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF snapshots FOR VALUES FROM (${day}) TO (${day + DAY})`, [], `cannot create partition ${name}`);
    } catch (err) {
      // Another collector created it between our check and our CREATE (duplicate table or type).
      const exists = await this.#db.query('SELECT 1 FROM pg_class WHERE relname = $1', [name]);
      if (exists.length === 0) throw err;
    }
    try {
      await this.#db.query(`CREATE TABLE IF NOT EXISTS ns_${name} PARTITION OF ns_snapshots FOR VALUES FROM (${day}) TO (${day + DAY})`, [], `cannot create partition ns_${name}`);
    } catch (err) {
      const exists = await this.#db.query('SELECT 1 FROM pg_class WHERE relname = $1', [`ns_${name}`]);
      if (exists.length === 0) throw err;
    }
    this.#known.add(day);
  }

  /** Drops the partitions whose whole day ends at or before `cut`; returns about how many rows went (the planner's estimate). */
  async dropBefore(cut: number): Promise<number> {
    await this.load();
    let rows = 0;
    for (const day of [...this.#known].sort((a, b) => a - b)) {
      if (day + DAY > cut) continue;
      const name = partitionName(day);
      // The planner's estimate, not count(*): a day of a large fleet is hundreds of millions of rows.
      const n = await this.#db.query<{ n: number }>('SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE relname = $1', [name]);
      await this.#db.query(`DROP TABLE IF EXISTS ${name}`, [], `cannot drop partition ${name}`);
      // The day's namespace entries go with it (not counted in the returned rows).
      await this.#db.query(`DROP TABLE IF EXISTS ns_${name}`, [], `cannot drop partition ns_${name}`);
      this.#known.delete(day);
      rows += n[0]?.n ?? 0;
    }
    return rows;
  }
}
