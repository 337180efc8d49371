/**
 * `tcpfleet serve`: starts the collector (app.ts) and stops it on SIGTERM/SIGINT: its components
 * in reverse order within a deadline (stop reading, commit and acknowledge what is queued, close
 * sessions with 1001, close the database); exit code 1 when a component failed to stop or the
 * deadline passed. A second signal ends the process at once.
 */
import type { ServeConfig } from '../config.js';
import { createLogger } from '../log.js';
import { startCollector } from '../app.js';
import { redactUrl } from '../store/pg/pg-url.js';

/**
 * A password given in a --db URL on the command line would show in the process list: the
 * process title (what ps and /proc/PID/cmdline show) is rewritten without it at once.
 */
function hideDbPassword(): void {
  if (!process.argv.some((a) => /postgres(ql)?:\/\/[^/@]*:[^/@]*@/i.test(a))) return;
  try {
    process.title = process.argv.map((a) => a.replace(/postgres(ql)?:\/\/\S*/gi, (u) => redactUrl(u))).join(' ');
  } catch {
    // Not allowed here: the docs say to keep the password out of the URL.
  }
}

/** Runs `serve` until a signal. */
export async function runServe(cfg: ServeConfig, warnings: readonly string[]): Promise<void> {
  hideDbPassword();
  const log = createLogger(cfg.logLevel);
  // The handlers go in before the start: a signal while components start (the listener is up
  // before the last of them) stops the collector once it has started, instead of killing it
  // with Node's default action (no stop steps, exit by signal).
  let running: Awaited<ReturnType<typeof startCollector>> | null = null;
  const state = { stopping: false };
  const finish = (r: NonNullable<typeof running>): void => {
    void r.stop().then((ok) => process.exit(ok ? 0 : 1));
  };
  const stop = (signal: string): void => {
    if (state.stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    state.stopping = true;
    log.info({ signal }, running === null ? 'stopping once started' : 'stopping');
    if (running !== null) finish(running);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  running = await startCollector(cfg, { log, warnings });
  if (state.stopping) finish(running);
}
