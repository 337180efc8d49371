/**
 * Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): the n-th
 * delay is uniform in [0, min(max, min * 2^n)], so a fleet that lost its collector at the same
 * moment comes back spread over time instead of in one wave.
 */
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  /** The next delay in ms; each call widens the window until the cap. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.max(this.#minMs / 4, Math.floor(this.#random() * ceiling));
  }

  /** Called after a success: the next failure starts from the smallest window again. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }
}
