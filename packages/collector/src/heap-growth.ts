/**
 * How far the old generation grows between full GCs. The launcher (bin/tcpfleet.js) starts every
 * command with --heap-growing-percent=50, for the SQLite collector's RSS (its write thread and page
 * cache take ~100 MB more than a collector on PostgreSQL). A collector on PostgreSQL lets its old
 * generation gather up to GARBAGE_BUDGET of garbage instead, as a share of what was live after the
 * last full GC, between 50% and 100%. With two collectors at 10,000 agents a second (~70 MB live
 * each), 50% meant a full GC every 1-2 s (pauses of 10-140 ms on the thread that reads the sockets
 * and sends the acks); a fixed 100% halved them but took one collector with all 10,000 agents to
 * 309-315 MB of RSS, a 64 MB budget to 287-294 MB; 48 MB keeps it at 272-280 MB (247-274 with 50%)
 * and cuts the full GCs of two collectors by a quarter (docs/performance.md, "Full GCs of a
 * collector on PostgreSQL"). V8 reads the flag at every full GC when it sets the next limit, so it
 * is set after a full GC that moved the share, for the next. An operator's own value (any other
 * --heap-growing-percent in the node flags) is left as it is.
 */
import { setFlagsFromString } from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';

/** The launcher's growth (bin/tcpfleet.js), the least a collector on PostgreSQL sets. */
export const MIN_PERCENT = 50;
export const MAX_PERCENT = 100;
/** The launcher's flag. */
export const LAUNCHER_FLAG = `--heap-growing-percent=${MIN_PERCENT}`;
/** Garbage the old generation of a collector on PostgreSQL may gather between full GCs, bytes. */
export const GARBAGE_BUDGET = 48 * 1024 * 1024;

/** The growth for `liveBytes` live after a full GC: GARBAGE_BUDGET of it, in steps of 5, within [MIN_PERCENT, MAX_PERCENT]. */
export function growingPercent(liveBytes: number): number {
  if (!(liveBytes > 0)) return MAX_PERCENT;
  return Math.max(MIN_PERCENT, Math.min(MAX_PERCENT, Math.round((20 * GARBAGE_BUDGET) / liveBytes) * 5));
}

/** The growth a collector on PostgreSQL set. */
export interface HeapGrowth {
  /** The --heap-growing-percent set last. */
  percent: () => number;
}

/**
 * For a collector on `driver` started with the launcher's flags: on PostgreSQL, sets the growth
 * after each full GC from what it left live (the launcher's 50% until the first says what is
 * live; the GC observer keeps nothing alive and is never stopped); else null.
 */
export function growHeapFor(driver: string, execArgv: readonly string[] = process.execArgv): HeapGrowth | null {
  if (driver !== 'postgres' || !execArgv.includes(LAUNCHER_FLAG)) return null;
  let percent = MIN_PERCENT;
  const set = (p: number): void => {
    if (p === percent) return;
    percent = p;
    setFlagsFromString(`--heap-growing-percent=${p}`);
  };
  new PerformanceObserver((list) => {
    // What is live just after a full GC (read a little later: the entries come in a batch).
    for (const e of list.getEntries())
      if (((e as { detail?: { kind?: number } }).detail?.kind ?? -1) === constants.NODE_PERFORMANCE_GC_MAJOR) return set(growingPercent(process.memoryUsage().heapUsed));
  }).observe({ entryTypes: ['gc'] });
  return { percent: () => percent };
}
