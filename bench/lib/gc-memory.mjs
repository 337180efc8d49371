// Preload for bench/session-memory.mjs (node --expose-gc --import it): when the file named by
// BENCH_GC_TRIGGER changes, each thread of the process (main and workers) collects its garbage
// and appends its memory, as one JSON line, to BENCH_GC_OUT. Never part of the product.
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import v8 from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';

const trigger = process.env['BENCH_GC_TRIGGER'];
const out = process.env['BENCH_GC_OUT'];
let seen = 0;
setInterval(() => {
  let mtime;
  try {
    mtime = statSync(trigger).mtimeMs;
  } catch {
    return;
  }
  if (mtime === seen) return;
  seen = mtime;
  globalThis.gc?.();
  globalThis.gc?.();
  const u = process.memoryUsage();
  const kb = (n) => Math.round(n / 1024);
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { sizeKb: kb(s.space_size), usedKb: kb(s.space_used_size) }]));
  const smaps = isMainThread
    ? Object.fromEntries(
        readFileSync('/proc/self/smaps_rollup', 'utf8')
          .split('\n')
          .map((l) => /^(\w+):\s+(\d+) kB/.exec(l))
          .filter(Boolean)
          .map((m) => [m[1], Number(m[2])]),
      )
    : null;
  const line = {
    tag: readFileSync(trigger, 'utf8').trim(),
    thread: threadId,
    main: isMainThread,
    heapTotalKb: kb(u.heapTotal),
    heapUsedKb: kb(u.heapUsed),
    externalKb: kb(u.external),
    arrayBuffersKb: kb(u.arrayBuffers),
    spaces,
    smaps,
  };
  appendFileSync(out, JSON.stringify(line) + '\n');
}, 500).unref();
