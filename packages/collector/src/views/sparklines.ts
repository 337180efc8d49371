/**
 * Per-host series of one state over a recent window, bucketed for sparklines: each point is the
 * largest count the host reported in that bucket (so a short spike stays visible), null where it
 * reported nothing.
 *
 * The default view (the last hour, one point a minute) is answered from memory: every committed
 * snapshot updates its host's per-minute maxima of all twelve states (about 9 KB a host for an
 * hour), and a host's earlier hour is read from the store once, the first time it is asked for.
 * Other windows are read from the store's history, cached for two seconds (a few windows at once).
 * Reads from the store come in small chunks with a turn of the event loop between them, so a
 * thousand hosts' series never hold the loop for more than a few milliseconds at a time.
 */
import { TCP_STATES } from '@tcpfleet/common';
import type { TcpStateName } from '@tcpfleet/common';
import type { IngestItem, Store, StoredSnapshot } from '../store/store.js';
import { TtlLru } from './overview-cache.js';

/** Series of every host for one state. */
export interface SparklineSet {
  state: TcpStateName;
  /** Start of the first bucket, ms since the epoch. */
  since: number;
  step_ms: number;
  /** host -> one value (or null) per bucket, oldest first. */
  hosts: Record<string, (number | null)[]>;
}

const MINUTE = 60_000;
const KEEP_MINUTES = 61;
const CACHE_MS = 2_000;
const CACHE_ENTRIES = 4;
const MAX_ROWS_PER_HOST = 20_000;
/** Rows read from the store at a time, with a turn of the event loop between reads (issue 14). */
const CHUNK_ROWS = 64;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const STATE_INDEX = new Map<TcpStateName, number>(TCP_STATES.map((s, i) => [s, i]));

type Minutes = Map<number, Int32Array>;

export class Sparklines {
  readonly #store: Store;
  readonly #minutes = new Map<string, Minutes>();
  readonly #seeded = new Set<string>();
  /** Answers of other windows from the store: a few (alternating windows hit), each for CACHE_MS. */
  readonly #cache = new TtlLru<Promise<SparklineSet>>(CACHE_ENTRIES, CACHE_MS);

  constructor(store: Store) {
    this.#store = store;
  }

  /** Records committed snapshots (called after each commit, app.ts). */
  observe(items: readonly IngestItem[]): void {
    for (const item of items) for (const s of item.snapshots) this.#record(item.host, s.ts, s.states);
  }

  /** The series of `hosts` for `state` over `windowMs` in `points` buckets ending at `now`. */
  get(hosts: readonly string[], state: TcpStateName, now: number, windowMs = 3_600_000, points = 60): Promise<SparklineSet> {
    if (windowMs === points * MINUTE && points < KEEP_MINUTES) return this.#fromMemory(hosts, state, now, points);
    const key = `${state}|${windowMs}|${points}|${hosts.join('\u0000')}`;
    const hit = this.#cache.get(key, now);
    if (hit !== undefined) return hit;
    const value = this.#fromStore(hosts, state, now, windowMs, points);
    this.#cache.set(key, value, now);
    return value;
  }

  #record(host: string, ts: number, states: Readonly<Record<TcpStateName, number>>): void {
    const minute = Math.floor(ts / MINUTE);
    let m = this.#minutes.get(host);
    if (m === undefined) {
      m = new Map();
      this.#minutes.set(host, m);
    }
    let b = m.get(minute);
    if (b === undefined) {
      b = new Int32Array(TCP_STATES.length).fill(-1);
      m.set(minute, b);
      const oldest = minute - KEEP_MINUTES;
      for (const k of m.keys()) if (k < oldest) m.delete(k);
    }
    for (let i = 0; i < TCP_STATES.length; i++) {
      const v = states[TCP_STATES[i] as TcpStateName];
      if (v > (b[i] ?? -1)) b[i] = v;
    }
  }

  async #fromMemory(hosts: readonly string[], state: TcpStateName, now: number, points: number): Promise<SparklineSet> {
    const last = Math.floor(now / MINUTE);
    const first = last - points + 1;
    for (const host of hosts) {
      if (this.#seeded.has(host)) continue;
      this.#seeded.add(host);
      await this.#eachRow(host, (last - KEEP_MINUTES) * MINUTE, now + 1, (r) => this.#record(host, r.ts, r.states));
    }
    const si = STATE_INDEX.get(state) ?? 0;
    const out: Record<string, (number | null)[]> = {};
    for (const host of hosts) {
      const m = this.#minutes.get(host);
      const series: (number | null)[] = [];
      for (let k = first; k <= last; k++) {
        const v = m?.get(k)?.[si];
        series.push(v === undefined || v < 0 ? null : v);
      }
      out[host] = series;
    }
    return { state, since: first * MINUTE, step_ms: MINUTE, hosts: out };
  }

  /**
   * Calls `each` on a host's rows over [since, until), at most MAX_ROWS_PER_HOST, read
   * CHUNK_ROWS at a time with a turn of the event loop after each read (the store answers
   * synchronously). A read starts at the previous one's last ts, so rows of that instant may be
   * seen twice: bucket maxima do not mind.
   */
  async #eachRow(host: string, since: number, until: number, each: (r: StoredSnapshot) => void): Promise<void> {
    let from = since;
    for (let seen = 0; seen < MAX_ROWS_PER_HOST;) {
      const rows = await this.#store.history(host, from, until, Math.min(CHUNK_ROWS, MAX_ROWS_PER_HOST - seen));
      for (const r of rows) each(r);
      seen += rows.length;
      await nextTurn();
      const lastTs = rows[rows.length - 1]?.ts;
      if (rows.length < CHUNK_ROWS || lastTs === undefined) return;
      from = lastTs > from ? lastTs : from + 1;
    }
  }

  async #fromStore(hosts: readonly string[], state: TcpStateName, now: number, windowMs: number, points: number): Promise<SparklineSet> {
    const step = Math.max(1, Math.floor(windowMs / points));
    const since = now - step * points;
    const out: Record<string, (number | null)[]> = {};
    for (const host of hosts) {
      const series: (number | null)[] = new Array<number | null>(points).fill(null);
      // Capped at 20 000 rows a host (one snapshot every 0.18 s over an hour); beyond, the latest buckets stay empty.
      await this.#eachRow(host, since, now + 1, (r) => {
        const i = Math.min(points - 1, Math.floor((r.ts - since) / step));
        if (i < 0) return;
        const v = r.states[state];
        const cur = series[i];
        series[i] = cur === null || cur === undefined || v > cur ? v : cur;
      });
      out[host] = series;
    }
    return { state, since, step_ms: step, hosts: out };
  }
}
