/**
 * The one error class of tcpfleet, with a stable machine-readable code.
 *
 * Every code is listed with its meaning in docs/errors.md; test/meta/errors-documented.test.ts
 * keeps this list and that page in step.
 */
export const ERROR_CODES = [
  'TCPFLEET_ERR_PROC_PARSE',
  'TCPFLEET_ERR_PROC_READ',
  'TCPFLEET_ERR_PROTOCOL',
  'TCPFLEET_ERR_CONFIG',
  'TCPFLEET_ERR_USAGE',
  'TCPFLEET_ERR_AUTH',
  'TCPFLEET_ERR_NOT_FOUND',
  'TCPFLEET_ERR_UNREACHABLE',
  'TCPFLEET_ERR_STORAGE',
  'TCPFLEET_ERR_RULES',
  'TCPFLEET_ERR_SPOOL',
  'TCPFLEET_ERR_BUSY',
  'TCPFLEET_ERR_NOT_LEADER',
] as const;

/** A stable error code; see docs/errors.md. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class of every error tcpfleet raises on purpose. */
export class TcpfleetError extends Error {
  override name = 'TcpfleetError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A /proc file whose content does not have the expected shape. */
export class ProcParseError extends TcpfleetError {
  override name = 'ProcParseError';
  readonly source: string;
  readonly lineNo: number;
  readonly line: string;
  constructor(source: string, lineNo: number, line: string, detail: string, options?: ErrorOptions) {
    super('TCPFLEET_ERR_PROC_PARSE', `${source}:${lineNo}: ${detail}: ${JSON.stringify(line.slice(0, 200))}`, options);
    this.source = source;
    this.lineNo = lineNo;
    this.line = line;
  }
}

/** A wire message that is malformed, oversized or violates the schema; carries the close code. */
export class ProtocolError extends TcpfleetError {
  override name = 'ProtocolError';
  readonly closeCode: number;
  constructor(closeCode: number, message: string, options?: ErrorOptions) {
    super('TCPFLEET_ERR_PROTOCOL', message, options);
    this.closeCode = closeCode;
  }
}

/** Bad configuration (flags, environment, config file): lists every problem at once. */
export class ConfigError extends TcpfleetError {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('TCPFLEET_ERR_CONFIG', problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`);
    this.problems = problems;
  }
}
