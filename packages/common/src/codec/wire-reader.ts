/**
 * A bounds-checked reader of the binary frame's numbers and strings. Every problem is a
 * ProtocolError (close code 4000) naming the field and the snapshot it was in, so a bad frame
 * closes one session with a one-line reason and nothing of it is stored.
 */
import { ProtocolError } from '../errors.js';
import { CLOSE_CODES } from '../protocol/close-codes.js';

const MAX = Number.MAX_SAFE_INTEGER;
/** Zig-zag image of MAX_SAFE_INTEGER: the largest stored number. */
const MAX_ZIGZAG = 2 * MAX + 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
  /** 1-based index of the snapshot being read (0: the frame header), for error messages. */
  snapshot = 0;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Throws the ProtocolError for `msg`, prefixed with where in the frame it happened. */
  fail(msg: string): never {
    const where = this.snapshot === 0 ? '' : `snapshot ${this.snapshot}: `;
    throw new ProtocolError(CLOSE_CODES.BAD_MESSAGE, `binary batch: ${where}${msg}`);
  }

  /** An unsigned varint of at most 8 bytes, at most `max`. */
  u(what: string, max: number = MAX): number {
    const buf = this.buf;
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail(`${what}: the data ends inside a number`);
      const b = buf[this.pos++]!;
      n += (b & 127) * mul;
      if (b < 128) {
        if (n > max) this.fail(`${what}: ${n} is above the limit ${max}`);
        return n;
      }
      mul *= 128;
    }
    return this.fail(`${what}: a number longer than 8 bytes`);
  }

  /** A zig-zag varint: any integer of magnitude up to 2^53 - 1. */
  z(what: string): number {
    const n = this.u(what, MAX_ZIGZAG);
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** A zig-zag varint that must not be negative (a count). */
  count(what: string): number {
    const n = this.u(what, MAX_ZIGZAG);
    if (n % 2 !== 0) this.fail(`${what}: must not be negative`);
    return n / 2;
  }

  /** A length-prefixed run of bytes (a view into the frame). */
  bytes(what: string, maxBytes: number): Uint8Array {
    const len = this.u(`${what} length`, maxBytes);
    if (this.pos + len > this.end) this.fail(`${what}: the data ends inside it`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** A length-prefixed UTF-8 string of at most maxBytes bytes. */
  text(what: string, maxBytes: number): string {
    const b = this.bytes(what, maxBytes);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${what}: not valid UTF-8`);
    }
  }

  /** A length-prefixed ASCII string whose every byte passes `ok`, minLen..maxLen bytes long. */
  ascii(what: string, minLen: number, maxLen: number, ok: (byte: number) => boolean, rule: string): string {
    const b = this.bytes(what, maxLen);
    if (b.length < minLen) this.fail(`${what}: shorter than ${minLen} characters`);
    for (let i = 0; i < b.length; i++) if (!ok(b[i]!)) this.fail(`${what}: ${rule}`);
    return String.fromCharCode.apply(null, b as unknown as number[]);
  }

  /** Fails unless every byte up to `end` was read. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) this.fail(`${what}: ${this.end - this.pos} bytes left over`);
  }
}
