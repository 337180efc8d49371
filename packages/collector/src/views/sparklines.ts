/**
 * Per-host series of one state over a recent window, bucketed for sparklines: each point is the
 * largest count the host reported in that bucket (so a short spike stays visible), null where it
 * reported nothing.
 *
 * The default view (the last hour, one point a minute) is answered from memory: every committed
 * snapshot updates its host's per-minute maxima of all twelve states (about 9 KB a host for an
 * hour), and a host's earlier hour is read from the store once, the first time it is asked for.
 * Other windows are read from the store's history, cached for two seconds.
 */
import { TCP_STATES } from '@tcpfleet/common';
import type { TcpStateName } from '@tcpfleet/common';
import type { IngestItem, Store } from '../store/store.js';

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
const MAX_ROWS_PER_HOST = 20_000;
const STATE_INDEX = new Map<TcpStateName, number>(TCP_STATES.map((s, i) => [s, i]));

type Minutes = Map<number, Int32Array>;

export class Sparklines {
  readonly #store: Store;
  readonly #minutes = new Map<string, Minutes>();
  readonly #seeded = new Set<string>();
  readonly #cache = new Map<string, { at: number; value: Promise<SparklineSet> }>();

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
    const hit = this.#cache.get(key);
    if (hit !== undefined && now - hit.at < CACHE_MS) return hit.value;
    const value = this.#fromStore(hosts, state, now, windowMs, points);
    this.#cache.clear();
    this.#cache.set(key, { at: now, value });
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
      const rows = await this.#store.history(host, (last - KEEP_MINUTES) * MINUTE, now + 1, MAX_ROWS_PER_HOST);
      for (const r of rows) this.#record(host, r.ts, r.states);
      // The store answers synchronously: let ingest and other requests run between hosts.
      await new Promise<void>((resolve) => setImmediate(resolve));
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

  async #fromStore(hosts: readonly string[], state: TcpStateName, now: number, windowMs: number, points: number): Promise<SparklineSet> {
    const step = Math.max(1, Math.floor(windowMs / points));
    const since = now - step * points;
    const out: Record<string, (number | null)[]> = {};
    for (const host of hosts) {
      const series: (number | null)[] = new Array<number | null>(points).fill(null);
      // Capped at 20 000 rows a host (one snapshot every 0.18 s over an hour); beyond, the latest buckets stay empty.
      const rows = await this.#store.history(host, since, now + 1, MAX_ROWS_PER_HOST);
      for (const r of rows) {
        const i = Math.min(points - 1, Math.floor((r.ts - since) / step));
        if (i < 0) continue;
        const v = r.states[state];
        const cur = series[i];
        series[i] = cur === null || cur === undefined || v > cur ? v : cur;
      }
      out[host] = series;
    }
    return { state, since, step_ms: step, hosts: out };
  }
}
