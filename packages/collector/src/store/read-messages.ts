/**
 * The messages between the main thread (store/read-thread.ts) and the read thread
 * (store/read-worker.ts).
 */
import type { HistoryPosition } from './store.js';

/** What the worker is started with. */
export interface ReadWorkerData {
  path: string;
  rawRetentionMs: number;
}

/** What the main thread asks for: plan a page (its id is the request's), pull its next slice, drop it. */
export type ReadRequestBody =
  | { op: 'host'; host: string; since: number; until: number; limit: number; now: number; from: HistoryPosition | null }
  | { op: 'fleet'; since: number; until: number; limit: number; after: number | null }
  | { op: 'ns'; host: string; netns: number; since: number; until: number; limit: number; now: number; from: HistoryPosition | null }
  | { op: 'pull'; page: number }
  | { op: 'drop'; page: number };
export type ReadRequest = ReadRequestBody & { id: number };

/** A planned page: its resolution and where the next one starts. */
export interface PlannedPage {
  resolution: string;
  next: { stage: string; key: number[] } | null;
}
/** A slice of a page's JSON text (UTF-8), and whether it is the last. */
export interface PageSlice {
  text: Uint8Array;
  done: boolean;
}
export type ReadReply = { id: number; ok: true; result: PlannedPage | PageSlice | null } | { id: number; ok: false; error: string };
