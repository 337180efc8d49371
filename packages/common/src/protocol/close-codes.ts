/**
 * WebSocket close codes used by both ends. 1000-1011 are RFC 6455's; 4000-4999 are tcpfleet's.
 */
export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  TOO_BIG: 1009,
  /** A message that is not valid JSON or breaks the schema. */
  BAD_MESSAGE: 4000,
  /** The agent speaks a protocol version the collector does not. */
  UNSUPPORTED_VERSION: 4001,
  /** The token was revoked while the session was live. */
  REVOKED: 4002,
  /** A newer session for the same host replaced this one. */
  REPLACED: 4003,
  /** The first message was not a hello, or a hello came twice. */
  HELLO_EXPECTED: 4004,
  /** The agent did not answer pings, or stopped reading (backpressure). */
  UNRESPONSIVE: 4005,
  /** The collector is shutting down. */
  SHUTDOWN: 4006,
} as const;

/** Close codes after which an agent must not reconnect without a change by a person. */
export const PERMANENT_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.UNSUPPORTED_VERSION, CLOSE_CODES.REVOKED]);
