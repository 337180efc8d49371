/**
 * Signed webhook posts (a webhook notifier with `secret_file`). Each attempt carries
 *
 *   X-Tcpfleet-Timestamp: <unix seconds when the attempt was sent>
 *   X-Tcpfleet-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *
 * The timestamp is inside the signed content, so a receiver that rejects timestamps far from its
 * clock (say 5 minutes) cannot be fed a recorded post again later. docs/alerting.md shows how to
 * verify.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tcpfleet-signature';
export const TIMESTAMP_HEADER = 'x-tcpfleet-timestamp';

/** The signature header value of `body` sent at `timestamp` (unix seconds). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The two headers of a signed post sent at `nowMs`. */
export function signedHeaders(secret: string, body: string, nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signature(secret, ts, body) };
}
