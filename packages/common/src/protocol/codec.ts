/**
 * Encoding and checked decoding of wire messages. Everything that arrives from the network goes
 * through decode*: size cap, UTF-8, JSON, schema. A failure is a ProtocolError with the close code
 * the receiver should use.
 */
import type * as z from 'zod';
import { ProtocolError } from '../errors.js';
import { CLOSE_CODES } from './close-codes.js';
import { AgentMessageSchema, CollectorMessageSchema, MAX_FRAME_BYTES } from './messages.js';
import type { AgentMessage, CollectorMessage } from './messages.js';
import { fastBatch } from './fast-batch.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes a message as a JSON text frame. */
export function encodeMessage(msg: AgentMessage | CollectorMessage): string {
  return JSON.stringify(msg);
}

function parseJson(raw: Buffer | ArrayBuffer | Buffer[] | string, maxBytes: number): unknown {
  let text: string;
  if (typeof raw === 'string') {
    if (Buffer.byteLength(raw) > maxBytes) throw new ProtocolError(CLOSE_CODES.TOO_BIG, `message larger than ${maxBytes} bytes`);
    text = raw;
  } else {
    const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (buf.length > maxBytes) throw new ProtocolError(CLOSE_CODES.TOO_BIG, `message larger than ${maxBytes} bytes`);
    try {
      text = utf8.decode(buf);
    } catch {
      throw new ProtocolError(CLOSE_CODES.INVALID_PAYLOAD, 'message is not valid UTF-8');
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(CLOSE_CODES.BAD_MESSAGE, `message is not valid JSON: ${(err as Error).message.slice(0, 120)}`);
  }
}

function check<T>(schema: z.ZodType, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data as T;
  const issue = r.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? '(message)' : issue.path.join('.');
  throw new ProtocolError(CLOSE_CODES.BAD_MESSAGE, `schema violation at ${path}: ${issue?.message ?? 'invalid'}`);
}

/** Decodes and validates a frame sent by an agent, or throws ProtocolError. */
export function decodeAgentMessage(raw: Buffer | ArrayBuffer | Buffer[] | string, maxBytes = MAX_FRAME_BYTES): AgentMessage {
  const value = parseJson(raw, maxBytes);
  // Batches, the hot path, take the hand-written check; anything it is unsure of goes to zod.
  return fastBatch(value) ?? check<AgentMessage>(AgentMessageSchema, value);
}

/** Decodes and validates a frame sent by a collector, or throws ProtocolError (hand-written, zod-free: the agent's side). */
export { decodeCollectorMessage } from './collector-decode.js';
