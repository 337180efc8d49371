/**
 * Per-host series of one state over a recent window, bucketed for sparklines: each point is the
 * largest count the host reported in that bucket (so a short spike stays visible), null where it
 * reported nothing.
 *
 * The default view (the last hour, one point a minute) is answered from memory: a host's last hour
 * is read from the store once, the first time it is asked for, and from then on every committed
 * snapshot of it updates its per-minute maxima of all twelve states. They are kept in one typed
 * array a host, a ring of 61 minutes (3.1 KB a host, written over in place); a host never asked
 * for keeps nothing (a Map of one small typed array a minute was ~13 KB a host after an hour,
 * 130 MB at 10,000 hosts, all of it old-space objects for the collector's GC to mark).
 * Other windows are read from the store's history, cached for two seconds (a few windows at once).
 * Reads from the store come in small chunks with a turn of the event loop between them, so a
 * thousand hosts' series never hold the loop for more than a few milliseconds at a time.
 */
import { TCP_STATES, stateNumber } from '@tcpfleet/common';
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

/** Numbers per minute slot: the minute (ms / MINUTE; -1 when empty), then the maxima of TCP_STATES (-1: none). */
const SLOT = 1 + TCP_STATES.length;

/** A host's last KEEP_MINUTES minutes: minute m in slot m % KEEP_MINUTES. */
class Minutes {
  readonly cells = new Int32Array(KEEP_MINUTES * SLOT).fill(-1);

  /** Folds one snapshot's states into its minute; a minute older than the one its slot holds now is out of the window: ignored. */
  record(minute: number, states: Readonly<Record<TcpStateName, number>>): void {
    const at = (minute % KEEP_MINUTES) * SLOT;
    const c = this.cells;
    const held = c[at]!;
    if (minute < held) return;
    if (minute !== held) {
      c.fill(-1, at, at + SLOT);
      c[at] = minute;
    }
    for (let i = 0; i < TCP_STATES.length; i++) {
      const v = states[TCP_STATES[i] as TcpStateName];
      if (v > c[at + 1 + i]!) c[at + 1 + i] = v;
    }
  }

  /** The maximum of state index `si` in `minute`, or null when none was recorded. */
  value(minute: number, si: number): number | null {
    const at = (minute % KEEP_MINUTES) * SLOT;
    if (this.cells[at] !== minute) return null;
    const v = this.cells[at + 1 + si]!;
    return v < 0 ? null : v;
  }
}

export class Sparklines {
  readonly #store: Store;
  /** Hosts asked for at least once (seeded from the store then), with their minutes. */
  readonly #minutes = new Map<string, Minutes>();
  /** Answers of other windows from the store: a few (alternating windows hit), each for CACHE_MS. */
  readonly #cache = new TtlLru<Promise<SparklineSet>>(CACHE_ENTRIES, CACHE_MS);

  constructor(store: Store) {
    this.#store = store;
  }

  /** Records committed snapshots of hosts asked for before (called after each commit, app.ts). */
  observe(items: readonly IngestItem[]): void {
    if (this.#minutes.size === 0) return;
    for (const item of items) {
      const m = this.#minutes.get(item.host);
      if (m === undefined) continue;
      for (const s of item.snapshots) m.record(Math.floor(s.ts / MINUTE), s.states);
    }
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

  async #fromMemory(hosts: readonly string[], state: TcpStateName, now: number, points: number): Promise<SparklineSet> {
    const last = Math.floor(now / MINUTE);
    const first = last - points + 1;
    for (const host of hosts) {
      if (this.#minutes.has(host)) continue;
      // Kept before the reads: commits observed while they run are recorded too (maxima do not mind both).
      const m = new Minutes();
      this.#minutes.set(host, m);
      await this.#eachRow(host, (last - KEEP_MINUTES) * MINUTE, now + 1, (r) => m.record(Math.floor(r.ts / MINUTE), r.states));
    }
    const si = stateNumber(state) - 1;
    const out: Record<string, (number | null)[]> = {};
    for (const host of hosts) {
      const m = this.#minutes.get(host);
      const series: (number | null)[] = [];
      for (let k = first; k <= last; k++) series.push(m === undefined ? null : m.value(k, si));
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
