/**
 * Where the binaries' pino loggers write: JSON lines on stderr, or short readable lines when
 * stderr is a terminal (pino's own JSON is parsed back and laid out; no worker thread).
 */
const LEVELS: Record<string, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A minimal writable for pino: pretty on a TTY, raw JSON otherwise. */
export function logStream(pretty = process.stderr.isTTY): { write(line: string): boolean } {
  if (!pretty) return { write: (line: string) => process.stderr.write(line) };
  return {
    write(line: string): boolean {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const { level, time, msg, name: _n, pid: _p, hostname: _h, ...rest } = o;
        const lv = LEVELS[String(level)] ?? String(level);
        const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : '';
        process.stderr.write(`${new Date(Number(time)).toISOString().slice(11, 23)} ${lv.padEnd(5)} ${String(msg)}${extra}\n`);
      } catch {
        process.stderr.write(line);
      }
      return true;
    },
  };
}

/** pino redaction paths for every place a token could appear in a log object. */
export const REDACT_PATHS = ['token', 'tokenValue', '*.token', '*.tokenValue', 'headers.authorization', 'req.headers.authorization'];
