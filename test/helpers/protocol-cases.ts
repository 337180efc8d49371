/** Shared by the protocol tests: what the JSON path makes of snapshots, and the ProtocolError a decode throws. */
import { ProtocolError, decodeAgentMessage, encodeMessage } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';

/** What the JSON path makes of the same batch, as plain JSON (`maxBytes`: the frame limit to decode it with). */
export const viaJson = (snaps: Snapshot[], maxBytes?: number): unknown =>
  JSON.parse(JSON.stringify((decodeAgentMessage(encodeMessage({ type: 'batch', id: 1, snapshots: snaps }), maxBytes) as { snapshots: Snapshot[] }).snapshots));

/** A value as JSON gives it back. */
export const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** The ProtocolError `fn` throws; any other error is rethrown, and decoding without one fails the test. */
export function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('decoded, but should have been refused');
}
