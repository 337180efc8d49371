/**
 * SQLite writes on their own thread. The collector's event loop reads sockets, decodes frames and
 * sends acks; every ingest transaction (and its fsync, and WAL checkpoints) runs on a worker
 * thread with its own connection, so a commit never stalls the sockets. An ack still goes out only
 * after the worker reports the commit.
 *
 * Reads (latest, history, gaps, tokens, stats) and the modules that own their tables (rollups,
 * alerts) use the main thread's connection; SQLite's WAL lets them run beside the writer, and
 * their rare writes wait for its lock (busy timeout). If the worker dies, batches in flight are
 * refused as retryable and the next one starts a new worker.
 */
import { Worker } from 'node:worker_threads';
import type { Database as Db } from 'better-sqlite3';
import type { Logger } from 'pino';
import { RowEncoder } from './ingest-rows.js';
import { StorageError } from './sqlite-store.js';
import type { SqliteStore } from './sqlite-store.js';
import type { DbStats, GapRecord, IngestItem, IngestOutcome, Store, StoredSnapshot, TokenInfo } from './store.js';
import type { WriteReply, WriteRequestBody, WriteWorkerData } from './write-worker.js';

/** The worker's compiled file; from the TypeScript sources (tests), the built one beside them. */
const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('../../dist/store/write-worker.js', import.meta.url) : new URL('./write-worker.js', import.meta.url);

interface Waiting {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class ThreadedStore implements Store {
  readonly #main: SqliteStore;
  readonly #data: WriteWorkerData;
  readonly #log: Logger;
  #worker: Worker | null = null;
  #encoder = new RowEncoder();
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #closing = false;

  /** `main` is the main thread's connection (already open and migrated); `data` opens the writer's. */
  constructor(main: SqliteStore, data: WriteWorkerData, log: Logger) {
    this.#main = main;
    this.#data = data;
    this.#log = log.child({ component: 'write-thread' });
    this.#start();
  }

  #start(): Worker {
    const w = new Worker(WORKER_URL, { workerData: this.#data });
    w.on('message', (r: WriteReply) => {
      const p = this.#waiting.get(r.id);
      if (p === undefined) return;
      this.#waiting.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new StorageError(r.error.message, r.error.sqliteCode, r.error.retryable));
    });
    const lost = (why: string): void => {
      if (this.#worker !== w) return;
      this.#worker = null;
      // A new worker knows none of the layouts this encoder sent.
      this.#encoder = new RowEncoder();
      if (!this.#closing) this.#log.error({ reason: why, inFlight: this.#waiting.size }, 'write thread stopped; batches in flight refused as retryable');
      for (const p of this.#waiting.values()) p.reject(new StorageError(`write thread stopped: ${why}`, 'WRITE_THREAD', true));
      this.#waiting.clear();
    };
    w.on('error', (err) => lost(err.message));
    w.on('exit', (code) => lost(`exit code ${code}`));
    w.unref();
    this.#worker = w;
    return w;
  }

  #request(body: WriteRequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const w = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      w.postMessage({ id, ...body }, transfer);
    });
  }

  /** The main thread's connection, for the modules that extend the schema (alerts, rollups). */
  get db(): Db {
    return this.#main.db;
  }

  registerTable(name: string, tsCol: string | null): void {
    this.#main.registerTable(name, tsCol);
  }

  ingest(items: readonly IngestItem[], recvTs: number): Promise<IngestOutcome[]> {
    const rows = this.#encoder.encode(items);
    return this.#request({ kind: 'ingest', rows, recvTs }, [rows.bytes.buffer as ArrayBuffer]) as Promise<IngestOutcome[]>;
  }

  async recordGap(gap: GapRecord): Promise<void> {
    await this.#request({ kind: 'gap', gap });
  }

  latest(): Promise<StoredSnapshot[]> {
    return this.#main.latest();
  }

  history(host: string, since: number, until: number, limit: number): Promise<StoredSnapshot[]> {
    return this.#main.history(host, since, until, limit);
  }

  gaps(host: string | null, since: number): Promise<GapRecord[]> {
    return this.#main.gaps(host, since);
  }

  putToken(host: string, hash: string, now: number): Promise<void> {
    return this.#main.putToken(host, hash, now);
  }

  revokeToken(host: string, now: number): Promise<boolean> {
    return this.#main.revokeToken(host, now);
  }

  hostForToken(hash: string): Promise<string | null> {
    return this.#main.hostForToken(hash);
  }

  listTokens(): Promise<TokenInfo[]> {
    return this.#main.listTokens();
  }

  stats(): Promise<DbStats> {
    return this.#main.stats();
  }

  /** Closes the writer's connection (after what was sent to it), then the main one. */
  async close(): Promise<void> {
    this.#closing = true;
    const w = this.#worker;
    if (w !== null) {
      try {
        await Promise.race([this.#request({ kind: 'close' }), new Promise((r) => setTimeout(r, 5000))]);
      } catch {
        // Closing anyway.
      }
      await w.terminate();
    }
    await this.#main.close();
  }
}
