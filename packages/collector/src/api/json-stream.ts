/**
 * A JSON array answered in slices (issue 14): the elements are pulled from their source and
 * serialised a few at a time, at most SLICE_MS of event loop or SLICE_BYTES of text per slice,
 * each slice written through the read's permit (which waits while the client or the byte budget
 * is full), with a turn of the event loop (setImmediate) between slices so agents' frames and
 * acks go on. The body is the same text JSON.stringify would give for the whole array.
 *
 * Headers are sent before the first slice, so an error later cannot become an error status:
 * the connection is then destroyed, leaving the client a truncated (invalid) body, never a
 * shorter array that parses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ReadPermit } from './read-limiter.js';

/** Event loop time one slice may take. */
export const SLICE_MS = 4;
/** Text one slice may hold. */
export const SLICE_BYTES = 256 * 1024;
/** Elements pulled from the source at a time. */
const PULL = 32;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Answers 200 with the JSON array of what `read` gives (`read(n)`: at most n more elements, an
 * empty array when there are no more). Resolves when the answer is sent, cut or abandoned.
 */
export async function streamJsonArray(req: IncomingMessage, res: ServerResponse, permit: ReadPermit, headers: Record<string, string>, read: (n: number) => readonly unknown[]): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let started = false; // '[' written
  try {
    for (;;) {
      const t0 = performance.now();
      let text = '';
      let done = false;
      while (text.length < SLICE_BYTES && performance.now() - t0 < SLICE_MS) {
        const items = read(PULL);
        if (items.length === 0) {
          done = true;
          break;
        }
        for (const item of items) {
          text += (started ? ',' : '[') + JSON.stringify(item);
          started = true;
        }
      }
      if (done) text += started ? ']' : '[]';
      if (res.destroyed) return;
      await permit.write(res, text);
      if (done) {
        res.end();
        return;
      }
      if (res.destroyed) return;
      await nextTurn();
    }
  } catch (err) {
    res.destroy(err as Error);
  }
}
