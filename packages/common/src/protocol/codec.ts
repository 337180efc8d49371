/**
 * Encoding and checked decoding of wire messages. Everything that arrives from the network goes
 * through decode*: size cap, UTF-8, JSON, schema. A failure is a ProtocolError with the close code
 * the receiver should use.
 */
import type * as z from 'zod';
import { ProtocolError } from '../errors.js';
import { CLOSE_CODES } from './close-codes.js';
import { AgentMessageSchema, MAX_FRAME_BYTES } from './messages.js';
import type { AgentMessage } from './messages.js';
import { encodeJsonFrame, parseJsonFrame } from './json-frame.js';
import { fastBatch } from './fast-batch.js';

/** Encodes a message as a JSON text frame. */
export const encodeMessage = encodeJsonFrame;

function check<T>(schema: z.ZodType, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data as T;
  const issue = r.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? '(message)' : issue.path.join('.');
  throw new ProtocolError(CLOSE_CODES.BAD_MESSAGE, `schema violation at ${path}: ${issue?.message ?? 'invalid'}`);
}

/** Decodes and validates a frame sent by an agent, or throws ProtocolError. */
export function decodeAgentMessage(raw: Buffer | ArrayBuffer | Buffer[] | string, maxBytes = MAX_FRAME_BYTES): AgentMessage {
  const value = parseJsonFrame(raw, maxBytes);
  // Batches, the hot path, take the hand-written check; anything it is unsure of goes to zod.
  return fastBatch(value) ?? check<AgentMessage>(AgentMessageSchema, value);
}

/** Decodes and validates a frame sent by a collector, or throws ProtocolError (hand-written, zod-free: the agent's side). */
export { decodeCollectorMessage } from './collector-decode.js';
