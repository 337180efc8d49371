/**
 * The agent's bounded queue of snapshots not yet acknowledged by the collector.
 *
 * A snapshot leaves the outbox only when the collector acknowledged the batch that carried it
 * (after its database transaction committed). When the queue is full the oldest unsent snapshot
 * is dropped, the drop is counted, and a gap record (boot, first and last seq dropped) is kept to
 * be sent to the collector, so the hole is declared rather than silent.
 */
import type { Snapshot } from '@tcpfleet/common/agent';

/** A declared hole in a host's history. */
export interface Gap {
  boot: string;
  from_seq: number;
  to_seq: number;
  count: number;
  ts: number;
}

/** One held snapshot: its key, and the snapshot itself loaded on demand (the disk spool reads it back). */
export interface HeldEntry {
  readonly boot: string;
  readonly seq: number;
  load(): Snapshot | null;
}

/** Where the outbox keeps what it holds; the memory store, or the disk spool. */
export interface OutboxStore {
  /** Adds one snapshot; returns the keys it had to evict to stay in bounds (oldest first). */
  append(s: Snapshot): { boot: string; seq: number; ts: number }[];
  /** Removes acknowledged snapshots by seq (of one boot). */
  remove(boot: string, seqs: readonly number[]): void;
  /** Every held entry, oldest first. */
  entries(): Iterable<HeldEntry>;
  /** The newest held entry. */
  newest(): HeldEntry | null;
  /** How many are held. */
  readonly size: number;
  /** Bytes held, where known. */
  readonly bytes: number;
  /** Keeps the gaps not yet declared (the disk spool: so they survive a restart). */
  saveGaps?(gaps: readonly Gap[]): void;
  /** The gaps saved by an earlier run. */
  loadGaps?(): Gap[];
}

/** The in-memory store, bounded by a count. */
export class MemoryStore implements OutboxStore {
  readonly #max: number;
  #items: Snapshot[] = [];
  constructor(max: number) {
    this.#max = max;
  }
  append(s: Snapshot): Snapshot[] {
    this.#items.push(s);
    return this.#items.length > this.#max ? this.#items.splice(0, this.#items.length - this.#max) : [];
  }
  *entries(): Iterable<HeldEntry> {
    for (const s of this.#items) yield { boot: s.boot, seq: s.seq, load: () => s };
  }
  newest(): HeldEntry | null {
    const s = this.#items[this.#items.length - 1];
    return s === undefined ? null : { boot: s.boot, seq: s.seq, load: () => s };
  }
  remove(boot: string, seqs: readonly number[]): void {
    const gone = new Set(seqs);
    this.#items = this.#items.filter((s) => !(s.boot === boot && gone.has(s.seq)));
  }
  get size(): number {
    return this.#items.length;
  }
  get bytes(): number {
    return 0;
  }
}

/** Tracks which held snapshots are in flight and which gaps are still to be declared. */
export class Outbox {
  readonly #store: OutboxStore;
  readonly #inflight = new Map<number, Snapshot[]>();
  readonly #inflightKeys = new Set<string>();
  #gaps: Gap[] = [];
  readonly #sentGaps = new Set<Gap>();
  #dropped = 0;

  constructor(store: OutboxStore) {
    this.#store = store;
    this.#gaps = store.loadGaps?.() ?? [];
  }

  /** Queues a new snapshot, evicting (and declaring) the oldest when full. */
  push(s: Snapshot): void {
    const evicted = this.#store.append(s);
    for (const e of evicted) {
      this.#dropped++;
      this.#inflightKeys.delete(key(e));
      const last = this.#gaps[this.#gaps.length - 1];
      // A gap already sent is not extended: its acknowledgement would retire the extension unsent.
      if (last !== undefined && !this.#sentGaps.has(last) && last.boot === e.boot && last.to_seq + 1 === e.seq) {
        last.to_seq = e.seq;
        last.count++;
      } else {
        this.#gaps.push({ boot: e.boot, from_seq: e.seq, to_seq: e.seq, count: 1, ts: e.ts });
      }
    }
    if (evicted.length > 0) this.#store.saveGaps?.(this.#gaps);
  }

  /** Takes up to `max` snapshots that are neither acknowledged nor in flight, as batch `id`. */
  take(id: number, max: number): Snapshot[] {
    const out: Snapshot[] = [];
    for (const e of this.#store.entries()) {
      if (out.length >= max) break;
      const k = key(e);
      if (this.#inflightKeys.has(k)) continue;
      const s = e.load();
      if (s === null) continue;
      this.#inflightKeys.add(k);
      out.push(s);
    }
    if (out.length > 0) this.#inflight.set(id, out);
    return out;
  }

  /** Takes the newest held snapshot alone, if it is not in flight (live data goes before backlog). */
  takeNewest(id: number): Snapshot[] {
    const last = this.#store.newest();
    if (last === null || this.#inflightKeys.has(key(last))) return [];
    const s = last.load();
    if (s === null) return [];
    this.#inflightKeys.add(key(s));
    this.#inflight.set(id, [s]);
    return [s];
  }

  /** Held snapshots that are not in flight. */
  get unsent(): number {
    return this.#store.size - this.#inflightKeys.size;
  }

  /** The batch was stored: forget its snapshots. */
  ack(id: number): number {
    const batch = this.#inflight.get(id);
    if (batch === undefined) return 0;
    this.#inflight.delete(id);
    const byBoot = new Map<string, number[]>();
    for (const s of batch) {
      this.#inflightKeys.delete(key(s));
      const list = byBoot.get(s.boot) ?? [];
      list.push(s.seq);
      byBoot.set(s.boot, list);
    }
    for (const [boot, seqs] of byBoot) this.#store.remove(boot, seqs);
    return batch.length;
  }

  /** The batch was refused for good: drop its snapshots (counted by the caller). */
  reject(id: number): number {
    return this.ack(id);
  }

  /** The batch must be sent again (retryable refusal). */
  retry(id: number): void {
    const batch = this.#inflight.get(id);
    if (batch === undefined) return;
    this.#inflight.delete(id);
    for (const s of batch) this.#inflightKeys.delete(key(s));
  }

  /** The connection is gone: everything in flight is unsent again. */
  retryAll(): void {
    this.#inflight.clear();
    this.#inflightKeys.clear();
  }

  /** Gap records not yet declared to the collector. */
  get gaps(): readonly Gap[] {
    return this.#gaps;
  }

  /** Marks a gap as sent: it is frozen from now on (later drops go into a new gap). */
  gapSent(g: Gap): void {
    this.#sentGaps.add(g);
  }

  /** Forgets a gap once the collector acknowledged it. */
  gapDeclared(g: Gap): void {
    this.#gaps = this.#gaps.filter((x) => x !== g);
    this.#sentGaps.delete(g);
    this.#store.saveGaps?.(this.#gaps);
  }

  /** Snapshots held (sent or not). */
  get size(): number {
    return this.#store.size;
  }
  /** Batches awaiting acknowledgement. */
  get inflight(): number {
    return this.#inflight.size;
  }
  /** Snapshots dropped because the queue was full, since start. */
  get dropped(): number {
    return this.#dropped;
  }
  /** Bytes held by the store. */
  get bytes(): number {
    return this.#store.bytes;
  }
}

function key(s: { boot: string; seq: number }): string {
  return `${s.boot}/${s.seq}`;
}
