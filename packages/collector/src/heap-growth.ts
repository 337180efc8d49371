/**
 * How far the old generation grows between full GCs, by store. The launcher (bin/tcpfleet.js)
 * starts every command with --heap-growing-percent=50 for the SQLite collector's RSS (its write
 * thread and page cache take ~100 MB more than a collector on PostgreSQL). A collector on
 * PostgreSQL, ~200 MB at 5,000 agents a second, goes to GROWING_PERCENT_POSTGRES once its store
 * is open: at 50% its old generation (~70 MB live) reached its limit every 1-2 s, each time a
 * full GC (pauses of 10-140 ms on the thread that reads the sockets and sends the acks).
 * V8 reads the flag at every full GC when it sets the next limit, so setting it after start
 * takes effect from the next one. An operator's own value (any other --heap-growing-percent in
 * the node flags) is left as it is.
 */
import { setFlagsFromString } from 'node:v8';

/** The launcher's value (bin/tcpfleet.js). */
export const LAUNCHER_FLAG = '--heap-growing-percent=50';
/** A collector on PostgreSQL's. */
export const GROWING_PERCENT_POSTGRES = 100;

/** Sets the old generation's growth for a collector on `driver`; returns the flag set, or null. */
export function growHeapFor(driver: string, execArgv: readonly string[] = process.execArgv): string | null {
  if (driver !== 'postgres' || !execArgv.includes(LAUNCHER_FLAG)) return null;
  const flag = `--heap-growing-percent=${GROWING_PERCENT_POSTGRES}`;
  setFlagsFromString(flag);
  return flag;
}
