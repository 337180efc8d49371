/**
 * Lookups by key gathered into one query: the calls made while a query is being prepared or is
 * in flight wait for the next one, which asks for all their keys at once (`= ANY($1)`). When
 * 10,000 agents connect within a second, each upgrade's token check and each hello's "has this
 * host a token of its own?" would otherwise be one round trip each, queued on the same pool as
 * the ingest commits. A call is never answered by a query that started before it, so what it
 * reads is as fresh as a query of its own.
 */
export class BatchedLookup<V> {
  readonly #fetch: (keys: string[]) => Promise<Map<string, V>>;
  readonly #absent: V;
  #waiting = new Map<string, { resolve: (v: V) => void; reject: (e: unknown) => void }[]>();
  #busy = false;

  /** `fetch` reads the values of some keys; a key it leaves out is `absent`. */
  constructor(fetch: (keys: string[]) => Promise<Map<string, V>>, absent: V) {
    this.#fetch = fetch;
    this.#absent = absent;
  }

  get(key: string): Promise<V> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(key);
      if (list !== undefined) list.push({ resolve, reject });
      else this.#waiting.set(key, [{ resolve, reject }]);
      if (!this.#busy) {
        this.#busy = true;
        setImmediate(() => void this.#run());
      }
    });
  }

  async #run(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = new Map();
    try {
      const found = await this.#fetch([...batch.keys()]);
      for (const [k, calls] of batch) for (const c of calls) c.resolve(found.has(k) ? (found.get(k) as V) : this.#absent);
    } catch (err) {
      for (const calls of batch.values()) for (const c of calls) c.reject(err);
    }
    if (this.#waiting.size > 0) setImmediate(() => void this.#run());
    else this.#busy = false;
  }
}
