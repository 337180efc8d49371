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
  /**
   * The session's per-host token is no longer valid: revoked, or replaced by a new one
   * (`tcpfleet token revoke|create HOST`). Its batches are no longer stored.
   */
  REVOKED: 4002,
  /** A newer session for the same host replaced this one. */
  REPLACED: 4003,
  /** The first message was not a hello, or a hello came twice. */
  HELLO_EXPECTED: 4004,
  /** The agent did not answer pings, or stopped reading (backpressure). */
  UNRESPONSIVE: 4005,
  /** The collector is shutting down. */
  SHUTDOWN: 4006,
  /**
   * The fleet token may not write as this host: it has its own token (`tcpfleet token create
   * HOST`). Refused at the hello, or when the host's token is created while the session is live.
   */
  HOST_HAS_TOKEN: 4007,
  /** The collector keeps as many hosts as `serve --max-hosts` allows; a new one is refused. */
  TOO_MANY_HOSTS: 4008,
} as const;

/** Close codes after which an agent must not reconnect without a change by a person. */
export const PERMANENT_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.UNSUPPORTED_VERSION, CLOSE_CODES.REVOKED, CLOSE_CODES.HOST_HAS_TOKEN, CLOSE_CODES.TOO_MANY_HOSTS]);
