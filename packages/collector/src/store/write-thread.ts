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
import type { Database as Db } from 'better-sqlite3';
import type { Logger } from 'pino';
import { RowEncoder } from './ingest-rows.js';
import { StorageError } from './storage-error.js';
import type { SqliteStore } from './sqlite-store.js';
import type { HistoryPages, ReadTokens, RollupService } from './store.js';
import type { AlertRecord, AlertStore } from '../alerts/alert-store.js';
import type { DbStats, GapRecord, HostRemoval, IngestItem, IngestOutcome, NsSeries, NsStoredEntry, RemoveOutcome, Store, StoredSnapshot, TokenInfo, WriteAuth } from './store.js';
import type { WriteRequestBody, WriteWorkerData } from './write-worker.js';
import { WorkerCalls } from './worker-calls.js';

/** The worker's compiled file; from the TypeScript sources (tests), the built one beside them. */
const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('../../dist/store/write-worker.js', import.meta.url) : new URL('./write-worker.js', import.meta.url);

/**
 * The write thread's young generation, MB. What it allocates per commit (the rows' bound values,
 * outcomes) dies at once; Node's default young generation (semi-spaces of up to 16 MB) only adds
 * to the collector's RSS (docs/performance.md, collector memory). At 10,000 snapshots a second the
 * thread allocates well under 1 MB a second: 4 MB (was 8) scavenges every few seconds.
 */
export const WRITE_THREAD_LIMITS = { maxYoungGenerationSizeMb: 4 } as const;

export class ThreadedStore implements Store {
  readonly #main: SqliteStore;
  readonly #calls: WorkerCalls<WriteRequestBody, { error: { message: string; sqliteCode: string; retryable: boolean } }>;
  #encoder = new RowEncoder();
  #closing = false;

  /** `main` is the main thread's connection (already open and migrated); `data` opens the writer's. */
  constructor(main: SqliteStore, data: WriteWorkerData, log: Logger) {
    this.#main = main;
    const wlog = log.child({ component: 'write-thread' });
    this.#calls = new WorkerCalls({
      url: WORKER_URL,
      data,
      resourceLimits: WRITE_THREAD_LIMITS,
      failure: (r) => new StorageError(r.error.message, r.error.sqliteCode, r.error.retryable),
      lost: (why, inFlight) => {
        // A new worker knows none of the layouts this encoder sent.
        this.#encoder = new RowEncoder();
        if (!this.#closing) wlog.error({ reason: why, inFlight }, 'write thread stopped; batches in flight refused as retryable');
        return new StorageError(`write thread stopped: ${why}`, 'WRITE_THREAD', true);
      },
    });
    this.#calls.start();
  }

  #request(body: WriteRequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    return this.#calls.call(body, transfer);
  }

  /** The main thread's connection (tests). */
  get db(): Db {
    return this.#main.db;
  }

  readonly driver = 'sqlite' as const;

  reachable(): boolean {
    return true;
  }

  get where(): string {
    return this.#main.where;
  }

  get readTokens(): ReadTokens {
    return this.#main.readTokens;
  }

  openAlerts(): Promise<AlertStore> {
    return this.#main.openAlerts();
  }

  readAlerts(all: boolean, limit: number): Promise<AlertRecord[]> {
    return this.#main.readAlerts(all, limit);
  }

  /** Null: the rollup job runs on the write thread, on the writing connection. */
  rollupJob(): RollupService | null {
    return null;
  }

  historyPages(rawRetentionMs: number, log: Logger): HistoryPages {
    return this.#main.historyPages(rawRetentionMs, log);
  }

  ingest(items: readonly IngestItem[], recvTs: number): Promise<IngestOutcome[]> {
    const rows = this.#encoder.encode(items);
    return this.#request({ kind: 'ingest', rows, recvTs }, [rows.bytes.buffer as ArrayBuffer]) as Promise<IngestOutcome[]>;
  }

  async recordGap(gap: GapRecord, auth?: WriteAuth): Promise<void> {
    await this.#request({ kind: 'gap', gap, auth });
  }

  latest(): Promise<StoredSnapshot[]> {
    return this.#main.latest();
  }

  history(host: string, since: number, until: number, limit: number): Promise<StoredSnapshot[]> {
    return this.#main.history(host, since, until, limit);
  }

  namespaceSeries(host: string): Promise<NsSeries[]> {
    return this.#main.namespaceSeries(host);
  }

  namespaceHistory(host: string, netns: number, since: number, until: number, limit: number): Promise<NsStoredEntry[]> {
    return this.#main.namespaceHistory(host, netns, since, until, limit);
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

  hostHasToken(host: string): Promise<boolean> {
    return this.#main.hostHasToken(host);
  }

  liveTokens(): Promise<Map<string, string>> {
    return this.#main.liveTokens();
  }

  /** On the main connection, like the other rare writes; the writer's caches follow (host_removals). */
  removeHost(host: string, o: { purge: boolean; now: number; silentBefore?: number }): Promise<RemoveOutcome> {
    return this.#main.removeHost(host, o);
  }

  removalsSince(afterId: number, limit: number): Promise<HostRemoval[]> {
    return this.#main.removalsSince(afterId, limit);
  }

  stats(): Promise<DbStats> {
    return this.#main.stats();
  }

  /** Closes the writer's connection (after what was sent to it), then the main one. */
  async close(): Promise<void> {
    this.#closing = true;
    const w = this.#calls.worker;
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
