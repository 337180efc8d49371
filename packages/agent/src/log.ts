/** The agent's only pino() call: JSON on stderr, readable on a terminal, tokens redacted. */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { REDACT_PATHS, logStream } from '@tcpfleet/common/agent';

/** Creates the root logger. */
export function createLogger(level: string): Logger {
  return pino({ name: 'tcpfleet-agent', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, logStream());
}
