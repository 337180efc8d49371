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
  const running = await startCollector(cfg, { log, warnings });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    void running.stop().then((ok) => process.exit(ok ? 0 : 1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
