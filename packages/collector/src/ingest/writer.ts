/**
 * Group commit: batches from every session are gathered for a short window and stored in one
 * transaction, then each is acknowledged. With synchronous=FULL one fsync then covers many
 * snapshots. The queue is bounded: past `maxQueued` snapshots the server stops reading from
 * sockets (backpressure) until it drains.
 */
import type { Logger } from 'pino';
import type { IngestItem, IngestOutcome, Store } from '../store/store.js';

interface Pending {
  item: IngestItem;
  resolve: (o: IngestOutcome) => void;
  reject: (e: unknown) => void;
}

/** Options of the writer. */
export interface WriterOptions {
  store: Store;
  log: Logger;
  /** How long the first batch waits for company, in ms. */
  windowMs?: number;
  /** Snapshots that trigger a commit at once. */
  maxSnapshots?: number;
  /**
   * Snapshots queued before the server is told to stop reading (default 10,000: two full
   * commits; each parsed snapshot of a real agent holds about 10 KB of heap until committed).
   */
  maxQueued?: number;
  /** Most snapshots in one transaction (default 5000); the rest wait for the next, so acks go out in steps. */
  maxPerCommit?: number;
  /** Called after each commit with the items stored. */
  onCommitted?: (items: readonly IngestItem[], recvTs: number) => void;
  /** Called when the queue passes or falls back under its bound. */
  onPressure?: (full: boolean) => void;
}

/** Commit statistics. */
export interface WriterStats {
  commits: number;
  snapshots: number;
  failures: number;
  lastCommitMs: number;
  /** Longest commit since start, ms (the event loop waits for it). */
  maxCommitMs: number;
  /** Commits that took 100 ms or more. */
  slowCommits: number;
}

export class IngestWriter {
  readonly #o: WriterOptions;
  readonly #log: Logger;
  #pending: Pending[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #full = false;
  readonly stats: WriterStats = { commits: 0, snapshots: 0, failures: 0, lastCommitMs: 0, maxCommitMs: 0, slowCommits: 0 };

  constructor(o: WriterOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'writer' });
  }

  /** Queues a batch; resolves once its transaction committed, rejects if it did not. */
  submit(item: IngestItem): Promise<IngestOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#queued += item.snapshots.length;
      this.#checkPressure();
      if (this.#queued >= (this.#o.maxSnapshots ?? 2000)) this.#schedule(0);
      else this.#schedule(this.#o.windowMs ?? 5);
    });
  }

  /** Snapshots waiting for a commit. */
  get queued(): number {
    return this.#queued;
  }

  #schedule(ms: number): void {
    if (this.#flushing !== null) return; // the running flush reschedules
    if (this.#timer !== null) {
      if (ms > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null;
        if (this.#pending.length > 0) this.#schedule(0);
      });
    }, ms);
  }

  async #flush(): Promise<void> {
    // Bounded transactions: a backlog is committed in steps of at most maxPerCommit snapshots,
    // with the event loop (socket reads, acks) running between them.
    const cap = this.#o.maxPerCommit ?? 5000;
    let take = 0;
    let count = 0;
    while (take < this.#pending.length && (take === 0 || count + (this.#pending[take]?.item.snapshots.length ?? 0) <= cap)) {
      count += this.#pending[take]?.item.snapshots.length ?? 0;
      take++;
    }
    const batch = this.#pending.slice(0, take);
    this.#pending = this.#pending.slice(take);
    const n = batch.reduce((a, p) => a + p.item.snapshots.length, 0);
    const recvTs = Date.now();
    const t0 = performance.now();
    try {
      const outcomes = await this.#o.store.ingest(
        batch.map((p) => p.item),
        recvTs,
      );
      this.stats.commits++;
      this.stats.snapshots += batch.reduce((a, p, i) => a + (outcomes[i]?.refused === undefined ? p.item.snapshots.length : 0), 0);
      this.stats.lastCommitMs = performance.now() - t0;
      if (this.stats.lastCommitMs > this.stats.maxCommitMs) this.stats.maxCommitMs = this.stats.lastCommitMs;
      if (this.stats.lastCommitMs >= 100) this.stats.slowCommits++;
      this.#queued -= n;
      // Batches refused inside the commit (their token no longer valid) stored nothing.
      this.#o.onCommitted?.(
        batch.filter((_, i) => outcomes[i]?.refused === undefined).map((p) => p.item),
        recvTs,
      );
      batch.forEach((p, i) => p.resolve(outcomes[i] ?? { stored: 0, duplicates: 0 }));
      this.#log.debug({ batches: batch.length, snapshots: n, ms: this.stats.lastCommitMs }, 'committed');
    } catch (err) {
      this.stats.failures++;
      this.#queued -= n;
      this.#log.error({ err, batches: batch.length }, 'commit failed; batches refused as retryable');
      for (const p of batch) p.reject(err);
    }
    this.#checkPressure();
  }

  #checkPressure(): void {
    const max = this.#o.maxQueued ?? 10_000;
    const full = this.#queued >= max;
    if (full !== this.#full && (full || this.#queued <= max / 2)) {
      this.#full = full;
      this.#log.warn({ queued: this.#queued }, full ? 'write queue full; pausing reads' : 'write queue drained; resuming reads');
      this.#o.onPressure?.(full);
    }
  }

  /** Waits for everything queued to be committed (or refused). */
  async drain(): Promise<void> {
    for (let i = 0; i < 1000 && (this.#pending.length > 0 || this.#flushing !== null || this.#timer !== null); i++) {
      if (this.#timer !== null) {
        clearTimeout(this.#timer);
        this.#timer = null;
        this.#flushing = this.#flush().finally(() => {
          this.#flushing = null;
        });
      }
      await this.#flushing;
      await new Promise((r) => setImmediate(r));
    }
  }
}
