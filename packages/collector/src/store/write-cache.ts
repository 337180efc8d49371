/**
 * The page cache of the writing connection (the write thread's), sized by what the writer reads
 * back: every commit upserts each sending host's `latest` row, so the `latest` pages (and the
 * tables' interior pages) are its working set. The pages of the snapshots table are written once
 * and never read back by the writer; with a fixed 64 MiB cache they filled it within a minute at
 * 10,000 snapshots a second: ~50 MB of the collector's RSS holding nothing it needed
 * (docs/performance.md, collector memory per agent).
 *
 * So the cache is the `latest` table's size with room (x 1.5 for page fill and row headers, plus
 * 8 MiB for the indexes' and the snapshots table's hot pages), at least 16 MiB and at most
 * 64 MiB, measured at start and every minute.
 */
import type { Database } from 'better-sqlite3';

export const WRITE_CACHE_MIN_KIB = 16 * 1024;
export const WRITE_CACHE_MAX_KIB = 64 * 1024;
/** Room beyond the `latest` rows, KiB. */
const SLACK_KIB = 8 * 1024;
/** Bytes a `latest` row takes beyond its values and breakdown (key, numbers, record header, cell). */
const ROW_OVERHEAD = 64;
export const WRITE_CACHE_EVERY_MS = 60_000;

/** The cache for a `latest` table of `rows` rows holding `bytes` bytes of values and breakdowns, KiB. */
export function writeCacheKib(rows: number, bytes: number): number {
  const want = Math.ceil(((bytes + rows * ROW_OVERHEAD) * 1.5) / 1024) + SLACK_KIB;
  return Math.min(WRITE_CACHE_MAX_KIB, Math.max(WRITE_CACHE_MIN_KIB, want));
}

/** Sizes `db`'s page cache for its `latest` table now and every `everyMs`; returns the stop. */
export function sizeWriteCache(db: Database, everyMs = WRITE_CACHE_EVERY_MS): { resize: () => number; stop: () => void } {
  const measure = db.prepare('SELECT count(*) AS n, coalesce(sum(length(vals) + coalesce(length(breakdown), 0)), 0) AS b FROM latest');
  let current = 0;
  const resize = (): number => {
    const { n, b } = measure.get() as { n: number; b: number };
    const kib = writeCacheKib(n, b);
    if (kib !== current) {
      db.pragma(`cache_size = -${kib}`);
      current = kib;
    }
    return kib;
  };
  resize();
  const timer = setInterval(() => {
    try {
      if (db.open) resize();
    } catch {
      // A busy or closing database: the cache keeps its size until the next look.
    }
  }, everyMs);
  timer.unref();
  return { resize, stop: () => clearInterval(timer) };
}
