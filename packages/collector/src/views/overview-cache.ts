/**
 * Answers kept for a short time, a bounded number of them, least recently used dropped first
 * (issue 14). The overview is cached per (state, window, points) as its JSON bytes: a dashboard
 * or `tcpfleet watch` alternating views, or many of them at once, costs one computation per view
 * per OVERVIEW_CACHE.ttlMs, and a hit is a copy-free write of the same buffer.
 */

/** Entries kept at most, and how long one is served. */
export const OVERVIEW_CACHE = Object.freeze({ entries: 8, ttlMs: 1_000 });

export class TtlLru<V> {
  readonly #max: number;
  readonly #ttlMs: number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #map = new Map<string, { at: number; value: V }>();

  constructor(max: number, ttlMs: number) {
    this.#max = max;
    this.#ttlMs = ttlMs;
  }

  /** The value of `key` if set less than ttlMs before `now`. */
  get(key: string, now: number): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    this.#map.delete(key);
    if (now - e.at >= this.#ttlMs) return undefined;
    this.#map.set(key, e);
    return e.value;
  }

  /** Sets `key`, dropping the least recently used entries beyond the bound. */
  set(key: string, value: V, now: number): void {
    this.#map.delete(key);
    this.#map.set(key, { at: now, value });
    for (const k of this.#map.keys()) {
      if (this.#map.size <= this.#max) break;
      this.#map.delete(k);
    }
  }

  /** Forgets `key` if it still holds `value` (a computation that failed). */
  drop(key: string, value: V): void {
    if (this.#map.get(key)?.value === value) this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}
