/**
 * Which namespaces get their net/tcp and net/tcp6 walked this interval, within the agent's walk
 * budget (--walk-budget, a share of one core). A walk costs about the same in every namespace
 * (the TCP hash table is shared by all of them: docs/namespaces.md), so the budget buys a number
 * of walks per interval:
 *
 * - a namespace never walked, or whose cheap counters jumped (inuse, tw or CurrEstab moved by
 *   at least max(minDelta, changeFraction of the larger value) since its walk), walks at once;
 *   these may run the budget into debt, down to one bucket's worth;
 * - a namespace whose cheap counters moved walks when the budget has room, oldest counts first,
 *   weighted by how much they moved: age x log2(2 + transitions counted since its walk). The
 *   logarithm keeps every moved namespace's wait bounded: with age x transitions, a namespace
 *   that churns steadily gains priority with the square of its age (its count grows with it) and
 *   one that moved a little waited for ever behind a few busy ones (bench/namespaces-cost.mjs);
 * - a namespace whose counters did not move keeps its counts: they are proven current.
 *
 * The budget is a token bucket in CPU milliseconds: each interval adds budget x elapsed time,
 * less what the interval spent outside walks (the host's own sample, the namespaces' cheap
 * reads), but never less than half of it, so namespaces always get some share; it holds at most
 * six intervals' worth. Budget 0 walks every namespace every interval. Pure: no I/O, no clock.
 */

/** One namespace as the planner sees it. */
export interface WalkCandidate {
  key: number;
  neverWalked: boolean;
  jumped: boolean;
  /** Any cheap counter moved since the last walk. */
  moved: boolean;
  /** Transitions counted since the last walk (opens, resets, changes of inuse/tw/CurrEstab). */
  movement: number;
  ageMs: number;
  /** Expected CPU cost of its walk, ms. */
  costMs: number;
}

export interface PlannerOptions {
  /** Share of one core for walks (0.01 = 1%); 0 walks everything every interval. */
  budget: number;
  intervalMs: number;
}

const BUCKET_INTERVALS = 6;

export class WalkPlanner {
  readonly #o: PlannerOptions;
  #tokens = 0;

  constructor(o: PlannerOptions) {
    this.#o = o;
  }

  /** CPU milliseconds the walks may still spend (negative: in debt). */
  get tokens(): number {
    return this.#tokens;
  }

  get #capacity(): number {
    return this.#o.budget * this.#o.intervalMs * BUCKET_INTERVALS;
  }

  /**
   * Adds this interval's share: `elapsedMs` since the last plan, of which `spentMs` of CPU went
   * to work outside walks.
   */
  accrue(elapsedMs: number, spentMs: number): void {
    const share = this.#o.budget * Math.max(0, elapsedMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + Math.max(share - spentMs, share / 2));
  }

  /** The keys to walk now, in order. Their estimated cost is taken from the bucket. */
  plan(cands: readonly WalkCandidate[]): number[] {
    if (this.#o.budget <= 0) return cands.map((c) => c.key);
    const out: number[] = [];
    const urgent = cands.filter((c) => c.neverWalked || c.jumped).sort((a, b) => Number(b.neverWalked) - Number(a.neverWalked) || b.movement - a.movement);
    for (const c of urgent) {
      if (this.#tokens <= -this.#capacity) break;
      this.#tokens -= c.costMs;
      out.push(c.key);
    }
    const score = (c: WalkCandidate): number => (1 + c.ageMs) * Math.log2(2 + c.movement);
    const rest = cands.filter((c) => !c.neverWalked && !c.jumped && c.moved).sort((a, b) => score(b) - score(a));
    for (const c of rest) {
      if (this.#tokens < c.costMs) break;
      this.#tokens -= c.costMs;
      out.push(c.key);
    }
    return out;
  }

  /** Corrects the bucket once the walks ran: they cost `actualMs` where `estimatedMs` was taken. */
  settle(estimatedMs: number, actualMs: number): void {
    this.#tokens += estimatedMs - actualMs;
  }

  /** Forgets any debt (after the first fill, which every start pays once). */
  reset(): void {
    this.#tokens = 0;
  }
}
