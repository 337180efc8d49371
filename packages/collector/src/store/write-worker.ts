/**
 * The write thread's body (store/write-thread.ts starts it): its own connection to the database,
 * storing encoded commits (store/ingest-rows.ts) and declared gaps in the order they arrive.
 * Errors go back as plain data; the main thread turns them into StorageError again.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, StorageError } from './sqlite-store.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import type { IngestRows } from './ingest-rows.js';
import type { GapRecord, IngestOutcome, WriteAuth } from './store.js';
import { RollupJob } from './rollups.js';
import { sizeWriteCache } from './write-cache.js';
import { createLogger } from '../log.js';

/** What the worker is started with. */
export interface WriteWorkerData {
  store: SqliteStoreOptions;
  /**
   * Run the rollup and pruning job here, on the writing connection: its transactions then take
   * turns with ingest instead of waiting for the writer's lock on the event loop.
   */
  rollups?: { rawRetentionMs: number; everyMs: number } | undefined;
  logLevel: string;
}

/** What the main thread asks for. */
export type WriteRequestBody = { kind: 'ingest'; rows: IngestRows; recvTs: number } | { kind: 'gap'; gap: GapRecord; auth?: WriteAuth | undefined } | { kind: 'close' };
/** A request from the main thread: the body and the id its answer carries. */
export type WriteRequest = WriteRequestBody & { id: number };

/** The answer to a request. */
export type WriteReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { message: string; sqliteCode: string; retryable: boolean } };

const port = parentPort;
if (port === null) throw new Error('write-worker.js runs as a worker thread only');

const data = workerData as WriteWorkerData;
const log = createLogger(data.logLevel).child({ thread: 'write' });
let store: SqliteStore | null = null;
let rollups: RollupJob | null = null;
let cache: { stop: () => void } | null = null;
let openError: unknown = null;
try {
  store = new SqliteStore(data.store);
  // The page cache follows the `latest` table's size (store/write-cache.ts), not a fixed 64 MiB.
  cache = sizeWriteCache(store.db);
  if (data.rollups !== undefined) {
    rollups = new RollupJob(store.db, { rawRetentionMs: data.rollups.rawRetentionMs, log });
    rollups.start(data.rollups.everyMs);
  }
} catch (err) {
  openError = err;
}

/** Tells the rollup job which minutes got snapshots (late ones mark rolled minutes dirty). */
function noteCommitted(rows: IngestRows, outcomes: readonly IngestOutcome[]): void {
  if (rollups === null) return;
  let j = 0;
  rows.items.forEach((item, i) => {
    if (outcomes[i]?.refused === undefined) for (let k = j; k < j + item.n; k++) rollups.noteCommitted(item.host, rows.ts[k]!);
    j += item.n;
  });
}

function fail(id: number, err: unknown): WriteReply {
  const se = err instanceof StorageError ? err : null;
  return { id, ok: false, error: { message: (err as Error).message, sqliteCode: se?.sqliteCode ?? 'WRITE_THREAD', retryable: se?.retryable ?? true } };
}

async function close(): Promise<void> {
  const s = store;
  store = null;
  openError = new StorageError('write thread closed', 'CLOSED', false);
  cache?.stop();
  await rollups?.stop();
  await s?.close();
}

port.on('message', (m: WriteRequest) => {
  if (m.kind === 'close') {
    void close().then(
      () => port.postMessage({ id: m.id, ok: true, result: null }),
      (err: unknown) => port.postMessage(fail(m.id, err)),
    );
    return;
  }
  let reply: WriteReply;
  try {
    if (store === null) throw openError;
    if (m.kind === 'ingest') {
      const outcomes = store.ingestRows(m.rows, m.recvTs);
      reply = { id: m.id, ok: true, result: outcomes };
      noteCommitted(m.rows, outcomes);
    } else {
      store.recordGapSync(m.gap, m.auth);
      reply = { id: m.id, ok: true, result: null };
    }
  } catch (err) {
    reply = fail(m.id, err);
  }
  port.postMessage(reply);
});
