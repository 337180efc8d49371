/**
 * Which namespaces get their net/tcp and net/tcp6 walked this interval, within the agent's walk
 * budget (--walk-budget, a share of one core). A walk costs about the same in every namespace
 * (the TCP hash table is shared by all of them: docs/namespaces.md), so the budget buys a number
 * of walks per interval:
 *
 * - a namespace never walked, or whose cheap counters jumped (inuse, tw or CurrEstab moved by
 *   at least max(minDelta, changeFraction of the larger value) since its walk), walks at once;
 *   these may run the budget into debt, down to one bucket's worth;
 * - a namespace whose cheap counters moved walks when the budget has room. Those whose counts
 *   are at least the **fair age** old go first, oldest first: the time walking every moved
 *   namespace once takes at the rate the budget buys (ceil(moved x mean walk cost / what the
 *   bucket gained in the last interval) intervals). The others follow, weighted by how much they
 *   moved: age x log2(2 + transitions counted since its walk). So when the budget is tight the
 *   moved namespaces are walked in turn (which keeps the oldest count as young as that budget
 *   allows: bench/namespaces-cost.mjs's busy namespaces waited up to 8 intervals where their turn
 *   came every 7), and any slack goes to the ones that moved most. With age x transitions alone,
 *   a namespace that churns steadily gained priority with the square of its age (its count grows
 *   with it) and one that moved a little waited for ever behind a few busy ones; with the
 *   logarithm alone, one that moved a little still waited several turns;
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
  /** What the last accrue() added, scaled to one interval (null before the first). */
  #perInterval: number | null = null;

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
    const added = Math.max(share - spentMs, share / 2);
    this.#tokens = Math.min(this.#capacity, this.#tokens + added);
    if (elapsedMs > 0) this.#perInterval = (added * this.#o.intervalMs) / elapsedMs;
  }

  /**
   * The fair age for `moved` namespaces (moved, not urgent): how long walking each of them once
   * takes at the rate the bucket fills, in whole intervals (at least one).
   */
  fairAgeMs(moved: readonly WalkCandidate[]): number {
    const perInterval = this.#perInterval ?? this.#o.budget * this.#o.intervalMs;
    if (moved.length === 0 || perInterval <= 0) return Infinity;
    const cost = moved.reduce((a, c) => a + c.costMs, 0);
    return Math.max(1, Math.ceil(cost / perInterval - 1e-9)) * this.#o.intervalMs;
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
    out.push(...this.#planMoved(cands.filter((c) => !c.neverWalked && !c.jumped && c.moved)));
    return out;
  }

  /**
   * Moved namespaces: first those at the fair age, oldest first; then the others by score, each
   * only if, after paying for it, every namespace not walked can still be walked by the interval
   * it reaches the fair age (earliest deadline first: the demand due within k intervals never
   * exceeds the bucket plus k intervals' gain), so the slack, and only the slack, goes by score.
   */
  #planMoved(moved: readonly WalkCandidate[]): number[] {
    const out: number[] = [];
    const fair = this.fairAgeMs(moved);
    if (!Number.isFinite(fair)) return out;
    const iv = this.#o.intervalMs;
    const perInterval = this.#perInterval ?? this.#o.budget * iv;
    const horizon = fair / iv;
    /** Intervals until a namespace reaches the fair age (0: now). */
    const dueIn = (c: WalkCandidate): number => Math.max(0, Math.ceil((fair - c.ageMs) / iv - 1e-9));
    const walked = new Set<number>();
    const take = (c: WalkCandidate): void => {
      this.#tokens -= c.costMs;
      walked.add(c.key);
      out.push(c.key);
    };
    const byAge = [...moved].sort((a, b) => b.ageMs - a.ageMs || a.key - b.key);
    for (const c of byAge) {
      if (dueIn(c) > 0) break;
      if (this.#tokens < c.costMs) return out;
      take(c);
    }
    // Would walking `c` now leave every other namespace walkable by its deadline? With D(k) the
    // cost of the walks due within k intervals (the ones not walked at their deadlines, walked
    // ones again at the horizon) and slack(k) = tokens + k x perInterval - D(k), walking c (cost
    // w, due in s) moves its w from s to the horizon and takes w from the tokens: feasible when
    // slack(k) >= w for k < s and at the horizon, and slack(k) >= 0 in between. The slack is
    // computed once per walk taken, each check is then a lookup.
    let slotIndex = new Map<number, number>();
    let slackBefore: number[] = [];
    let slackFrom: number[] = [];
    let slackAtHorizon = 0;
    const recompute = (): void => {
      const demand = new Map<number, number>([[horizon, 0]]);
      for (const x of moved) {
        const k = walked.has(x.key) ? horizon : dueIn(x);
        demand.set(k, (demand.get(k) ?? 0) + x.costMs);
      }
      const slots = [...demand.keys()].sort((a, b) => a - b);
      slotIndex = new Map(slots.map((k, i) => [k, i]));
      const slack: number[] = [];
      let need = 0;
      for (const k of slots) {
        need += demand.get(k) ?? 0;
        slack.push(this.#tokens + k * perInterval - need);
      }
      const n = slots.length;
      slackAtHorizon = slack[n - 1] ?? 0;
      // Minimum slack over slots[0..i-1], and over slots[i..n-2] (the horizon, last, excluded).
      slackBefore = [Infinity];
      for (let i = 0; i < n; i++) slackBefore.push(Math.min(slackBefore[i] ?? Infinity, slack[i] ?? Infinity));
      slackFrom = new Array<number>(n).fill(Infinity);
      for (let i = n - 2; i >= 0; i--) slackFrom[i] = Math.min(slackFrom[i + 1] ?? Infinity, slack[i] ?? Infinity);
    };
    const feasibleWith = (c: WalkCandidate): boolean => {
      const i = slotIndex.get(dueIn(c));
      const eps = 1e-9;
      return i !== undefined && (slackBefore[i] ?? Infinity) >= c.costMs - eps && (slackFrom[i] ?? Infinity) >= -eps && slackAtHorizon >= c.costMs - eps;
    };
    recompute();
    const score = (c: WalkCandidate): number => (1 + c.ageMs) * Math.log2(2 + c.movement);
    for (const c of moved.filter((x) => !walked.has(x.key)).sort((a, b) => score(b) - score(a))) {
      if (this.#tokens < c.costMs) break;
      if (!feasibleWith(c)) continue;
      take(c);
      recompute();
    }
    // Deadlines that cannot all be met (more moved namespaces than the budget walks in their
    // turn): what the bucket still holds goes oldest first, never left to overflow.
    for (const c of byAge) {
      if (walked.has(c.key)) continue;
      if (this.#tokens < c.costMs) break;
      take(c);
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
