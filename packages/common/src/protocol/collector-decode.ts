/**
 * The checked decoding of frames a collector sends (welcome, ack, nack), hand-written so the
 * agent never loads zod. Same rules and wording as CollectorMessageSchema in messages.ts (the
 * collector side, and test/common/protocol/collector-decode.test.ts, which runs both on the same
 * inputs): a failure is a ProtocolError "schema violation at <path>: <problem>" with close code
 * 4000 (BAD_MESSAGE); unknown keys are dropped.
 */
import { ProtocolError } from '../errors.js';
import { CLOSE_CODES } from './close-codes.js';
import { MAX_ENCODINGS, MAX_ENCODING_NAME, MAX_FRAME_BYTES } from './limits.js';
import type { CollectorMessage } from './messages.js';
import { parseJsonFrame } from './json-frame.js';
import { array, bool, num, object, receivedType, str } from '../util/check.js';
import type { Check, Issue } from '../util/check.js';

const id = num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER });

const literal =
  <T extends string>(t: T): Check<T> =>
  () =>
    t;

const BY_TYPE: Record<string, Check<CollectorMessage>> = {
  welcome: object({
    type: { check: literal('welcome') },
    v: { check: num({ int: true }) },
    host: { check: str() },
    heartbeat_ms: { check: num({ int: true, min: 0 }) },
    max_batch: { check: num({ int: true, min: 1 }) },
    encodings: { check: array(str({ max: MAX_ENCODING_NAME }), MAX_ENCODINGS), optional: true },
    features: { check: array(str({ max: MAX_ENCODING_NAME }), MAX_ENCODINGS), optional: true },
  }),
  ack: object({
    type: { check: literal('ack') },
    id: { check: id },
    stored: { check: num({ int: true, min: 0 }) },
    duplicates: { check: num({ int: true, min: 0 }) },
  }),
  nack: object({
    type: { check: literal('nack') },
    id: { check: id },
    code: { check: str({ max: 64 }) },
    retryable: { check: bool() },
    message: { check: str({ max: 1024 }) },
  }),
};
const TYPES = Object.keys(BY_TYPE);

/** Checks a parsed value as a collector message; returns the message or the problems. */
export function checkCollectorMessage(value: unknown): { ok: true; message: CollectorMessage } | { ok: false; issues: Issue[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path: [], message: `Invalid input: expected object, received ${receivedType(value)}` }] };
  }
  const type = (value as { type?: unknown }).type;
  const check = typeof type === 'string' && Object.hasOwn(BY_TYPE, type) ? BY_TYPE[type] : undefined;
  if (check === undefined) return { ok: false, issues: [{ path: ['type'], message: `Invalid discriminator value. Expected ${TYPES.map((t) => `'${t}'`).join(' | ')}` }] };
  const issues: Issue[] = [];
  const message = check(value, [], issues);
  return issues.length === 0 ? { ok: true, message } : { ok: false, issues };
}

/** Decodes and validates a frame sent by a collector, or throws ProtocolError. */
export function decodeCollectorMessage(raw: Buffer | ArrayBuffer | Buffer[] | string, maxBytes = MAX_FRAME_BYTES): CollectorMessage {
  const r = checkCollectorMessage(parseJsonFrame(raw, maxBytes));
  if (r.ok) return r.message;
  const issue = r.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? '(message)' : issue.path.join('.');
  throw new ProtocolError(CLOSE_CODES.BAD_MESSAGE, `schema violation at ${path}: ${issue?.message ?? 'invalid'}`);
}
