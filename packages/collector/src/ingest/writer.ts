/**
 * Group commit: batches from every session are gathered for a short window and stored in one
 * transaction, then each is acknowledged. With synchronous=FULL one fsync then covers many
 * snapshots. The queue is bounded: past `maxQueued` snapshots the server stops reading from
 * sockets (backpressure) until it drains.
 *
 * Several commits may be in flight at once (`maxInFlight`): on PostgreSQL each runs on its own
 * pooled connection, so a commit's round trips and fsync overlap the next one's; on SQLite's
 * write thread the next commit is encoded and queued while the thread stores the previous one.
 * A host's batches stay in order: a batch whose host has one in a commit still in flight waits
 * for that commit to end (committed or refused) before it joins another. Each batch is still
 * acknowledged only after its own commit returned.
 */
import type { Logger } from 'pino';
import type { IngestItem, IngestOutcome, Store } from '../store/store.js';

/**
 * Told how a queued batch's commit ended (a session: ingest/session.ts). One object per session
 * instead of a Promise, its resolving functions and the then() closures per batch.
 */
export interface CommitSink {
  /** The batch `id` was committed (or refused inside the commit: `o.refused`). */
  committed(id: number, o: IngestOutcome): void;
  /** The batch `id` was not stored: its commit failed. */
  failed(id: number, err: unknown): void;
}

/** A queued batch: the item, who is told, and the batch id handed back to it. */
class Pending {
  readonly item: IngestItem;
  readonly sink: CommitSink;
  readonly id: number;
  constructor(item: IngestItem, sink: CommitSink, id: number) {
    this.item = item;
    this.sink = sink;
    this.id = id;
  }
}

/** A sink settling one Promise (IngestWriter.submit). */
class PromiseSink implements CommitSink {
  readonly resolve: (o: IngestOutcome) => void;
  readonly reject: (e: unknown) => void;
  constructor(resolve: (o: IngestOutcome) => void, reject: (e: unknown) => void) {
    this.resolve = resolve;
    this.reject = reject;
  }
  committed(_id: number, o: IngestOutcome): void {
    this.resolve(o);
  }
  failed(_id: number, err: unknown): void {
    this.reject(err);
  }
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
   * Snapshots queued or in a commit before the server is told to stop reading (default
   * maxInFlight x maxPerCommit: what the commits in flight can take, 5,000 on both stores). Every
   * queued snapshot is memory until its commit ends (a bin1 snapshot ~1.6 KB of heap plus the
   * bytes it was read in, a JSON one about 10 KB), and under a standing backlog the queue is full
   * all the time: the bound is part of the collector's RSS (docs/performance.md, collector memory).
   */
  maxQueued?: number;
  /**
   * Most snapshots in one transaction (default 2500 on SQLite, 1250 on PostgreSQL); the rest wait
   * for the next, so acks go out in steps. A full queue (maxQueued) is then several commits: on
   * PostgreSQL they run side by side, on SQLite one is stored while the next is prepared.
   */
  maxPerCommit?: number;
  /**
   * Commits in flight at once (default: 4 on PostgreSQL, which has a pool of connections; 2 on
   * SQLite, whose write thread stores one while the next is prepared).
   */
  maxInFlight?: number;
  /** Called after each commit with the items stored. */
  onCommitted?: (items: readonly IngestItem[], recvTs: number) => void;
  /** Called when the queue passes or falls back under its bound (resume all: at half the bound). */
  onPressure?: (full: boolean) => void;
  /**
   * Continuous admission: while the queue is full, called after each commit that left room under
   * the bound, with that room in snapshots (the server resumes only as many of the longest-unread
   * paused sessions as fit). When set, reaching the bound again after such a partial resume pauses
   * everything again (onPressure(true)), so the queue stays bounded. Without it, reads resume all
   * at once at half the bound.
   */
  onRoom?: (room: number) => void;
}

/** Commit statistics. */
export interface WriterStats {
  commits: number;
  snapshots: number;
  failures: number;
  lastCommitMs: number;
  /** Longest commit since start, ms (from the store call to its answer). */
  maxCommitMs: number;
  /** Commits that took 100 ms or more. */
  slowCommits: number;
  /** Most commits that were in flight at the same time. */
  maxInFlight: number;
}

/** Commits in flight by default: PostgreSQL's pool runs them side by side, SQLite's write thread one after another. */
export function defaultInFlight(store: Store): number {
  return store.driver === 'postgres' ? 4 : 2;
}

/** Snapshots per commit by default (WriterOptions.maxPerCommit). */
export function defaultPerCommit(store: Store): number {
  return store.driver === 'postgres' ? 1250 : 2500;
}

/** The queue's bound by default (WriterOptions.maxQueued): the commits in flight, each full. */
export function defaultQueued(maxInFlight: number, perCommit: number): number {
  return maxInFlight * perCommit;
}

export class IngestWriter {
  readonly #o: WriterOptions;
  readonly #log: Logger;
  readonly #maxInFlight: number;
  readonly #perCommit: number;
  readonly #maxQueued: number;
  #pending: Pending[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The armed timer is the immediate one (a commit is due): later batches leave it as it is. */
  #timerDue = false;
  /** Commits in flight. */
  readonly #flushes = new Set<Promise<void>>();
  /** Hosts with a batch in a commit in flight, with how many such commits. */
  readonly #busyHosts = new Map<string, number>();
  #full = false;
  /** Reads were partly resumed (onRoom) since the queue was last full. */
  #partial = false;
  readonly stats: WriterStats = { commits: 0, snapshots: 0, failures: 0, lastCommitMs: 0, maxCommitMs: 0, slowCommits: 0, maxInFlight: 0 };

  constructor(o: WriterOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'writer' });
    this.#maxInFlight = Math.max(1, o.maxInFlight ?? defaultInFlight(o.store));
    this.#perCommit = Math.max(1, o.maxPerCommit ?? defaultPerCommit(o.store));
    this.#maxQueued = Math.max(1, o.maxQueued ?? defaultQueued(this.#maxInFlight, this.#perCommit));
  }

  /** The queue's bound in snapshots (WriterOptions.maxQueued). */
  get maxQueued(): number {
    return this.#maxQueued;
  }

  /** Queues a batch; resolves once its transaction committed, rejects if it did not. */
  submit(item: IngestItem): Promise<IngestOutcome> {
    return new Promise((resolve, reject) => this.enqueue(item, new PromiseSink(resolve, reject), 0));
  }

  /**
   * Queues a batch; `sink` is told with `id` once its transaction committed (committed) or did
   * not (failed). What sessions use: no Promise or closure per batch.
   */
  enqueue(item: IngestItem, sink: CommitSink, id: number): void {
    this.#pending.push(new Pending(item, sink, id));
    this.#queued += item.snapshots.length;
    this.#checkPressure();
    this.#schedule();
  }

  /** Snapshots waiting for a commit or in one. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Behind: every commit slot is taken and at least one more full commit waits (a backlog the
   * commits in flight cannot take). Background work that can wait yields to ingest then (the
   * fleet sync: cluster/fleet-sync.ts).
   */
  get behind(): boolean {
    return this.#flushes.size >= this.#maxInFlight && this.#queued - this.#inFlightSnapshots >= this.#perCommit;
  }

  /** Commits in flight now. */
  get inFlight(): number {
    return this.#flushes.size;
  }

  /**
   * Starts a commit when one may start: at once when enough snapshots wait (maxSnapshots) or a
   * commit just ended, else after the window.
   */
  #schedule(now = false): void {
    if (this.#pending.length === 0 || this.#flushes.size >= this.#maxInFlight) return;
    const due = now || this.#queued - this.#inFlightSnapshots >= Math.min(this.#o.maxSnapshots ?? 2000, this.#perCommit);
    if (this.#timer !== null) {
      // Already due (one Timeout, not one per batch arriving before it fires), or not due yet.
      if (!due || this.#timerDue) return;
      clearTimeout(this.#timer);
    }
    this.#timerDue = due;
    this.#timer = setTimeout(this.#fire, due ? 0 : (this.#o.windowMs ?? 5));
  }

  /** The timer's callback (one function for the writer's life). */
  readonly #fire = (): void => {
    this.#timer = null;
    this.#timerDue = false;
    this.#start();
  };

  /** Snapshots in commits in flight. */
  #inFlightSnapshots = 0;

  /** Takes the next commit's batches (in arrival order, skipping hosts still in flight) and starts it. */
  #start(): void {
    if (this.#flushes.size >= this.#maxInFlight) return;
    // Bounded transactions: a backlog is committed in steps of at most maxPerCommit snapshots,
    // with the event loop (socket reads, acks) running between them.
    const cap = this.#perCommit;
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    let count = 0;
    for (const p of this.#pending) {
      const n = p.item.snapshots.length;
      if (this.#busyHosts.has(p.item.host) || (batch.length > 0 && count + n > cap)) rest.push(p);
      else {
        batch.push(p);
        count += n;
      }
    }
    if (batch.length === 0) return; // every waiting host is in flight: the end of a commit starts the next
    this.#pending = rest;
    const hosts = new Set(batch.map((p) => p.item.host));
    for (const h of hosts) this.#busyHosts.set(h, (this.#busyHosts.get(h) ?? 0) + 1);
    this.#inFlightSnapshots += count;
    const flush = this.#commit(batch, count).finally(() => {
      for (const h of hosts) {
        const c = (this.#busyHosts.get(h) ?? 1) - 1;
        if (c <= 0) this.#busyHosts.delete(h);
        else this.#busyHosts.set(h, c);
      }
      this.#inFlightSnapshots -= count;
      this.#flushes.delete(flush);
      this.#schedule(true);
    });
    this.#flushes.add(flush);
    if (this.#flushes.size > this.stats.maxInFlight) this.stats.maxInFlight = this.#flushes.size;
    // More waiting (a backlog, or hosts held back): another commit may start beside this one.
    this.#schedule();
  }

  async #commit(batch: Pending[], n: number): Promise<void> {
    const recvTs = Date.now();
    const t0 = performance.now();
    let outcomes: readonly IngestOutcome[] | null = null;
    let ok = true;
    let failure: unknown;
    try {
      const out = await this.#o.store.ingest(
        batch.map((p) => p.item),
        recvTs,
      );
      outcomes = out;
      this.stats.commits++;
      this.stats.snapshots += batch.reduce((a, p, i) => a + (out[i]?.refused === undefined ? p.item.snapshots.length : 0), 0);
      this.stats.lastCommitMs = performance.now() - t0;
      if (this.stats.lastCommitMs > this.stats.maxCommitMs) this.stats.maxCommitMs = this.stats.lastCommitMs;
      if (this.stats.lastCommitMs >= 100) this.stats.slowCommits++;
      // Batches refused inside the commit (their token no longer valid) stored nothing.
      this.#o.onCommitted?.(
        batch.filter((_, i) => out[i]?.refused === undefined).map((p) => p.item),
        recvTs,
      );
      this.#log.debug({ batches: batch.length, snapshots: n, ms: this.stats.lastCommitMs }, 'committed');
    } catch (err) {
      this.stats.failures++;
      ok = false;
      failure = err;
      this.#log.error({ err, batches: batch.length }, 'commit failed; batches refused as retryable');
    }
    this.#queued -= n;
    // The sinks are told after the accounting, each on its own: one that throws neither turns the
    // others' acks into nacks nor counts the commit out of the queue twice.
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      try {
        if (ok) p.sink.committed(p.id, outcomes?.[i] ?? { stored: 0, duplicates: 0 });
        else p.sink.failed(p.id, failure);
      } catch (err) {
        this.#log.error({ err, batch: p.id }, 'answering a batch failed');
      }
    }
    this.#checkPressure(true);
  }

  /** `committed`: called at the end of a commit (the only time room is offered to paused sessions). */
  #checkPressure(committed = false): void {
    const max = this.#maxQueued;
    const full = this.#queued >= max;
    if (full !== this.#full && (full || this.#queued <= max / 2)) {
      this.#full = full;
      this.#partial = false;
      this.#log.warn({ queued: this.#queued }, full ? 'write queue full; pausing reads' : 'write queue drained; resuming reads');
      this.#o.onPressure?.(full);
    } else if (this.#full && full && this.#partial) {
      // Sessions resumed in part filled the queue again: everything pauses until the next commit.
      this.#partial = false;
      this.#log.debug({ queued: this.#queued }, 'write queue full again; pausing reads');
      this.#o.onPressure?.(true);
    } else if (committed && this.#full && !full && this.#o.onRoom !== undefined) {
      this.#partial = true;
      this.#o.onRoom(max - this.#queued);
    }
  }

  /** Waits for everything queued to be committed (or refused). */
  async drain(): Promise<void> {
    for (let i = 0; i < 1000 && (this.#pending.length > 0 || this.#flushes.size > 0 || this.#timer !== null); i++) {
      if (this.#timer !== null) {
        clearTimeout(this.#timer);
        this.#timer = null;
        this.#timerDue = false;
        this.#start();
      }
      if (this.#flushes.size > 0) await Promise.race(this.#flushes);
      await new Promise((r) => setImmediate(r));
    }
  }
}
