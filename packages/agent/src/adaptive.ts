/**
 * Cost-adaptive sampling. sockstat, snmp and netstat cost about a millisecond whatever the host,
 * so they are read every interval. The walk of net/tcp and net/tcp6 costs about 3 µs per socket
 * in the kernel alone; it runs every interval while its measured cost stays within the budget
 * (a fraction of one core), otherwise only as often as the budget allows. A sudden change in the
 * cheap counters (the field table's WALK_SIGNALS: TCP inuse, tw, CurrEstab) triggers a walk at
 * once, so a spike is never missed, and every snapshot says how old its per-state counts are
 * (collect.states_age_ms).
 */
import { assembleSnapshot, readCheapCounters, walkTcp } from './sampler.js';
import type { CheapCounters, SnapshotMeta, TcpWalk } from './sampler.js';
import { WALK_SIGNALS } from '@tcpfleet/common/agent';
import type { Snapshot } from '@tcpfleet/common/agent';

/** Options of the adaptive sampler. */
export interface AdaptiveOptions {
  procfs: string;
  top: number;
  intervalMs: number;
  /** Fraction of one core the walk may use on average (0.01 = 1%); 0 walks every interval. */
  budget: number;
  /** A change of at least this fraction (and of `minDelta` sockets) in a cheap counter forces a walk. */
  changeFraction?: number;
  minDelta?: number;
}

export class AdaptiveSampler {
  readonly #o: AdaptiveOptions;
  #walk: TcpWalk | null = null;
  #walkTs = 0;
  #walkCostMs = 0;
  #cheapCostMs = 0;
  #atWalk: CheapCounters | null = null;
  /** Walks done and skipped since start. */
  walks = 0;
  skips = 0;

  constructor(o: AdaptiveOptions) {
    this.#o = o;
  }

  /** Takes the snapshot for this interval. */
  sample(meta: Omit<SnapshotMeta, 'ts'>): Snapshot {
    const t0 = performance.now();
    const ts = Date.now();
    const c0 = process.cpuUsage();
    const cheap = readCheapCounters(this.#o.procfs);
    const c1 = process.cpuUsage(c0);
    // Cost is CPU time (user + system), what the budget is about; smoothed for the cheap reads.
    this.#cheapCostMs = 0.8 * this.#cheapCostMs + 0.2 * ((c1.user + c1.system) / 1000);
    if (this.#walk === null || this.#shouldWalk(cheap, ts)) {
      const w0 = process.cpuUsage();
      this.#walk = walkTcp(this.#o.procfs, this.#o.top);
      const w1 = process.cpuUsage(w0);
      this.#walkCostMs = (w1.user + w1.system) / 1000;
      this.#walkTs = ts;
      this.#atWalk = cheap;
      this.walks++;
    } else this.skips++;
    return assembleSnapshot({ ...meta, ts }, this.#walk, this.#walkTs, cheap, performance.now() - t0, this.#o.top > 0);
  }

  /** CPU cost of the last walk, in ms. */
  get walkCostMs(): number {
    return this.#walkCostMs;
  }

  #shouldWalk(cheap: CheapCounters, now: number): boolean {
    const o = this.#o;
    if (o.budget <= 0) return true;
    // Average cost must stay under the budget: the walk gets what the cheap reads every interval
    // leave of it, less a fifth kept for the runtime (timers, GC, the uplink), so walk at most
    // every walkCost / walkShare ms (rounded to whole intervals, never early).
    const walkShare = Math.max(o.budget * 0.8 - this.#cheapCostMs / o.intervalMs, o.budget * 0.1);
    const minGapMs = this.#walkCostMs / walkShare;
    if (now - this.#walkTs >= minGapMs - o.intervalMs * 0.05) return true;
    const prev = this.#atWalk;
    if (prev === null) return true;
    const frac = o.changeFraction ?? 0.2;
    const minDelta = o.minDelta ?? 50;
    const moved = (a: number, b: number): boolean => Math.abs(a - b) >= Math.max(minDelta, frac * Math.max(a, b));
    return WALK_SIGNALS.some((sig) => moved(sig.of(cheap), sig.of(prev)));
  }
}
