/**
 * Per-host series of one state over a recent window (the last hour by default), bucketed for
 * sparklines: each point is the largest count the host reported in that bucket (so a short
 * spike stays visible), null where it reported nothing. Read from the store's history and
 * cached briefly, so a dashboard that polls every two seconds costs one query per host per
 * cache period, not per viewer.
 */
import type { TcpStateName } from '@tcpfleet/common';
import type { Store } from '../store/store.js';

/** Series of every host for one state. */
export interface SparklineSet {
  state: TcpStateName;
  /** Start of the first bucket, ms since the epoch. */
  since: number;
  step_ms: number;
  /** host -> one value (or null) per bucket, oldest first. */
  hosts: Record<string, (number | null)[]>;
}

const CACHE_MS = 2_000;
const MAX_ROWS_PER_HOST = 20_000;

export class Sparklines {
  readonly #store: Store;
  readonly #cache = new Map<string, { at: number; value: Promise<SparklineSet> }>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** The series of `hosts` for `state` over `windowMs` in `points` buckets ending at `now`. */
  get(hosts: readonly string[], state: TcpStateName, now: number, windowMs = 3_600_000, points = 60): Promise<SparklineSet> {
    const key = `${state}|${windowMs}|${points}|${hosts.join('\u0000')}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined && now - hit.at < CACHE_MS) return hit.value;
    const value = this.#compute(hosts, state, now, windowMs, points);
    this.#cache.clear();
    this.#cache.set(key, { at: now, value });
    return value;
  }

  async #compute(hosts: readonly string[], state: TcpStateName, now: number, windowMs: number, points: number): Promise<SparklineSet> {
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
