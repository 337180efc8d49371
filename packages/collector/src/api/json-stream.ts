/**
 * Answers written in slices (issue 14). A JSON array is built a slice at a time, at most
 * `sliceMs` of work or `sliceBytes` of text per slice; each slice is written through the read's
 * permit (which waits while the client or the byte budget is full) before the next is built.
 * History pages are built this way on the read thread (store/read-worker.ts); arrays built on the
 * event loop (the hosts list) run each slice when the read budget's pacing allows
 * (ReadLimiter.slice: reads together take at most half of the loop). The body is the text
 * JSON.stringify would give for the whole array.
 *
 * Headers are sent before the first slice, so an error later cannot become an error status:
 * the connection is then destroyed, leaving the client a truncated (invalid) body, never a
 * shorter array that parses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ReadPermit } from './read-limiter.js';

/** Event loop time one slice built on the event loop may take. */
export const SLICE_MS = 4;
/** Text one such slice may hold. */
export const SLICE_BYTES = 256 * 1024;
/** Elements pulled from the source at a time. */
const PULL = 16;

/** A slice of an answer's text, and whether it is the last. */
export interface Slice {
  text: string | Uint8Array;
  done: boolean;
}

/**
 * The slices of the JSON array of what `read` gives (`read(n)`: at most n more elements, an
 * empty array when there are no more): each call returns the next slice.
 */
export function jsonArraySlices(read: (n: number) => readonly unknown[], sliceMs = SLICE_MS, sliceBytes = SLICE_BYTES): () => { text: string; done: boolean } {
  let started = false; // '[' given
  return () => {
    const t0 = performance.now();
    let text = '';
    while (text.length < sliceBytes && performance.now() - t0 < sliceMs) {
      const items = read(PULL);
      if (items.length === 0) return { text: text + (started ? ']' : '[]'), done: true };
      for (const item of items) {
        text += (started ? ',' : '[') + JSON.stringify(item);
        started = true;
      }
    }
    return { text, done: false };
  };
}

/**
 * Answers 200 with the slices `next` gives, each written before the next is asked for.
 * Resolves when the answer is sent, cut or abandoned (then `abandon` is called).
 */
export async function streamAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  permit: ReadPermit,
  headers: Record<string, string>,
  next: () => Promise<Slice>,
  abandon: () => void = () => undefined,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  if (req.method === 'HEAD') {
    abandon();
    res.end();
    return;
  }
  try {
    for (;;) {
      const { text, done } = await next();
      if (res.destroyed) return abandon();
      await permit.write(res, text);
      if (done) {
        res.end();
        return;
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the socket can close while the write above was awaited
      if (res.destroyed) return abandon();
    }
  } catch (err) {
    abandon();
    res.destroy(err as Error);
  }
}

/** Answers 200 with the JSON array of what `read` gives, built on the event loop in paced slices. */
export function streamJsonArray(req: IncomingMessage, res: ServerResponse, permit: ReadPermit, headers: Record<string, string>, read: (n: number) => readonly unknown[]): Promise<void> {
  const slices = jsonArraySlices(read);
  return streamAnswer(req, res, permit, headers, () => permit.slice(slices));
}
