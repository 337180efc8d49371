/**
 * `tcpfleet watch`: a live view of the fleet, like top. On a terminal it redraws one screen in
 * place (alternate screen, cursor hidden, restored on exit); when stdout is not a terminal it
 * prints plain frames, one after another, separated by a blank line, without escape codes.
 */
import { TcpfleetError, isStateName, parseDuration, parseSelector } from '@tcpfleet/common/light';
import { getJson } from './client.js';
import { formatWatchFrame } from './watch-format.js';
import type { OverviewDoc } from './watch-format.js';

/** Options of `tcpfleet watch`. */
export interface WatchOptions {
  url: string;
  state: string;
  intervalS: number;
  count: number;
  limit: number | undefined;
  /** Sparkline window, e.g. 1h, 10m. */
  window: string;
  /** Only hosts whose labels match (docs/selectors.md). */
  selector?: string | undefined;
  /** Sent as the bearer token (cli/read-token.ts); null: none. */
  readToken: string | null;
}

/** Runs until Ctrl-C, or `count` frames when count > 0. Resolves with the exit code. */
export async function watchCmd(o: WatchOptions): Promise<number> {
  if (!isStateName(o.state)) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `unknown state ${JSON.stringify(o.state)}; see --help for the names`);
  if (!Number.isFinite(o.intervalS) || o.intervalS < 0.2 || o.intervalS > 3600) throw new TcpfleetError('TCPFLEET_ERR_USAGE', '--interval must be between 0.2 and 3600 seconds');
  if (!Number.isInteger(o.count) || o.count < 0) throw new TcpfleetError('TCPFLEET_ERR_USAGE', '--count must be a whole number (0 = until Ctrl-C)');
  const windowMs = parseDuration(o.window);
  if (windowMs === null || windowMs < 60_000 || windowMs > 86_400_000)
    throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--window must be a duration from 1m to 24h such as 10m or 1h, got ${JSON.stringify(o.window)}`);
  if (o.selector !== undefined) parseSelector(o.selector);
  const only = o.selector === undefined ? '' : `&selector=${encodeURIComponent(o.selector)}`;
  const out = process.stdout;
  const tty = out.isTTY;
  let failed = false;
  let stopped = false;
  let wake: (() => void) | null = null;
  const restore = (): void => {
    if (tty) out.write('\x1b[?25h\x1b[?1049l');
  };
  const onSignal = (): void => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (tty) out.write('\x1b[?1049h\x1b[?25l');
  try {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a signal handler sets stopped
    for (let frame = 1; !stopped; frame++) {
      let lines: string[];
      try {
        const doc = await getJson<OverviewDoc>(o.url, `api/v1/overview?state=${o.state}&window=${windowMs}${only}`, Math.max(2000, o.intervalS * 1000), o.readToken);
        // A terminal that reports no size leaves columns and rows undefined, whatever the types say.
        const width = tty ? ((out.columns as number | undefined) ?? 100) : 120;
        const maxRows = o.limit ?? (tty ? Math.max(1, ((out.rows as number | undefined) ?? 30) - 8) : Number.MAX_SAFE_INTEGER);
        lines = formatWatchFrame(doc, { url: o.url, intervalS: o.intervalS, width, maxRows });
        failed = false;
      } catch (err) {
        // Retrying cannot mend a bad argument or a missing read token.
        if (!(err instanceof TcpfleetError) || err.code === 'TCPFLEET_ERR_USAGE' || err.code === 'TCPFLEET_ERR_AUTH') throw err;
        failed = true;
        lines = [`tcpfleet watch  ${o.url}`, '', `${err.message}; retrying every ${o.intervalS}s`];
        if (!tty) process.stderr.write(`tcpfleet: ${err.message}\n`);
      }
      if (tty) {
        const w = (out.columns as number | undefined) ?? 100;
        out.write('\x1b[H' + lines.map((l) => (l.length > w ? l.slice(0, w) : l) + '\x1b[K').join('\n') + '\x1b[J');
      } else {
        out.write((failed ? '' : lines.join('\n') + '\n') + (o.count === 1 ? '' : '\n'));
      }
      if (o.count > 0 && frame >= o.count) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, o.intervalS * 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    restore();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return failed ? 1 : 0;
}
