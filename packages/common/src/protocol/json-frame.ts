/**
 * JSON text frames without zod: encoding, and the frame-level checks every decoder starts with
 * (size cap, UTF-8, JSON). Both sides of the wire use these: the agent's (collector-decode.ts)
 * and the collector's (codec.ts).
 */
import { ProtocolError } from '../errors.js';
import { CLOSE_CODES } from './close-codes.js';
import type { AgentMessage, CollectorMessage } from './messages.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes a message as a JSON text frame. */
export function encodeJsonFrame(msg: AgentMessage | CollectorMessage): string {
  return JSON.stringify(msg);
}

/** Size cap, UTF-8 and JSON checks of one frame; returns the parsed value or throws ProtocolError. */
export function parseJsonFrame(raw: Buffer | ArrayBuffer | Buffer[] | string, maxBytes: number): unknown {
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
