/**
 * The read thread's body (store/read-thread.ts starts it): its own read-only connection to the
 * database, where history pages are planned and their JSON built, slice by slice, as the main
 * thread pulls them. On Linux the thread lowers its own priority (nice READ_NICE), so when the
 * machine is short of CPU the ingest path (event loop, write thread) runs first and reads wait.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite-store.js';
import { RollupReader } from './rollup-history.js';
import { NsHistoryReader } from './ns-history.js';
import type { Page } from './keyset-pages.js';
import { jsonArraySlices } from '../api/json-stream.js';

/** The read thread's nice value (0 is the process's; 19 the lowest priority). */
export const READ_NICE = 10;
/** Event loop time and text one pulled slice may take here (off the main thread: larger slices). */
const SLICE_MS = 10;
const SLICE_BYTES = 512 * 1024;

export type { PageSlice, PlannedPage, ReadReply, ReadRequest, ReadRequestBody, ReadWorkerData } from './read-messages.js';
import type { PageSlice, PlannedPage, ReadReply, ReadRequest, ReadWorkerData } from './read-messages.js';

const port = parentPort;
if (port === null) throw new Error('read-worker.js runs as a worker thread only');

try {
  // "PID/task/TID": on Linux a nice value set on a thread id is that thread's alone.
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), READ_NICE);
} catch {
  // Not Linux, or not allowed: reads keep the process's priority.
}

const data = workerData as ReadWorkerData;
let reader: RollupReader | null = null;
let nsReader: NsHistoryReader | null = null;
const pages = new Map<number, () => { text: string; done: boolean }>();
const encoder = new TextEncoder();

function open(): RollupReader {
  if (reader === null) {
    const store = new SqliteStore({ path: data.path, readonly: true, busyTimeoutMs: 250 });
    reader = new RollupReader(store.db, store, data.rawRetentionMs);
    nsReader = new NsHistoryReader(store.db, store, data.rawRetentionMs);
  }
  return reader;
}

function plan(id: number, page: Page<unknown>, resolution: string): PlannedPage {
  pages.set(
    id,
    jsonArraySlices((n) => page.read(n), SLICE_MS, SLICE_BYTES),
  );
  return { resolution, next: page.next === null ? null : { stage: page.next.stage, key: [...page.next.key] } };
}

function handle(req: ReadRequest): PlannedPage | PageSlice | null {
  switch (req.op) {
    case 'host': {
      const { resolution, page } = open().historyPage(req.host, req.since, req.until, req.limit, req.now, req.from);
      return plan(req.id, page, resolution);
    }
    case 'fleet':
      return plan(req.id, open().fleetPage(req.since, req.until, req.limit, req.after), '1m');
    case 'ns': {
      open();
      const { resolution, page } = nsReader!.historyPage(req.host, req.netns, req.since, req.until, req.limit, req.now, req.from);
      return plan(req.id, page, resolution);
    }
    case 'pull': {
      const next = pages.get(req.page);
      if (next === undefined) throw new Error(`no page ${req.page} in the read thread`);
      const { text, done } = next();
      if (done) pages.delete(req.page);
      return { text: encoder.encode(text), done };
    }
    case 'drop':
      pages.delete(req.page);
      return null;
  }
}

port.on('message', (req: ReadRequest) => {
  try {
    const result = handle(req);
    const transfer = result !== null && 'text' in result ? [result.text.buffer as ArrayBuffer] : [];
    port.postMessage({ id: req.id, ok: true, result } satisfies ReadReply, transfer);
  } catch (err) {
    port.postMessage({ id: req.id, ok: false, error: (err as Error).message } satisfies ReadReply);
  }
});
