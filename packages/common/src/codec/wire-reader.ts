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
  buf: Uint8Array;
  pos: number;
  end: number;
  /** 1-based index of the snapshot being read (0: the frame header), for error messages. */
  snapshot = 0;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Reads `buf` from its start (a decoder reuses one reader for every frame). */
  reset(buf: Uint8Array): this {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.snapshot = 0;
    return this;
  }

  /** Throws the ProtocolError for `msg`, prefixed with where in the frame it happened. */
  fail(msg: string): never {
    const where = this.snapshot === 0 ? '' : `snapshot ${this.snapshot}: `;
    throw new ProtocolError(CLOSE_CODES.BAD_MESSAGE, `binary batch: ${where}${msg}`);
  }

  /** An unsigned varint of at most 8 bytes, at most `max`. */
  u(what: string, max: number = MAX): number {
    return this.#varint(what, '', max);
  }

  /**
   * An unsigned varint at most `max`, failing as u(what + suffix) would: the name is joined only
   * when failing (this runs for every length in a frame).
   */
  #varint(what: string, suffix: string, max: number): number {
    const buf = this.buf;
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail(`${what}${suffix}: the data ends inside a number`);
      const b = buf[this.pos++]!;
      n += (b & 127) * mul;
      if (b < 128) {
        if (n > max) this.fail(`${what}${suffix}: ${n} is above the limit ${max}`);
        return n;
      }
      mul *= 128;
    }
    return this.fail(`${what}${suffix}: a number longer than 8 bytes`);
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

  /**
   * Checks a length-prefixed run of bytes and steps over it without making a view; returns its
   * length (it ends at `pos`). Fails as bytes() would.
   */
  skip(what: string, maxBytes: number): number {
    const len = this.#varint(what, ' length', maxBytes);
    if (this.pos + len > this.end) this.fail(`${what}: the data ends inside it`);
    this.pos += len;
    return len;
  }

  /** A length-prefixed run of bytes (a view into the frame). */
  bytes(what: string, maxBytes: number): Uint8Array {
    const len = this.skip(what, maxBytes);
    return this.buf.subarray(this.pos - len, this.pos);
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

  /**
   * Checks a length-prefixed ASCII string whose every byte passes `ok`, minLen..maxLen bytes long,
   * in place (no string, no view) and steps over it; returns its length. Fails as ascii() would.
   */
  checkAscii(what: string, minLen: number, maxLen: number, ok: (byte: number) => boolean, rule: string): number {
    const len = this.skip(what, maxLen);
    if (len < minLen) this.fail(`${what}: shorter than ${minLen} characters`);
    const buf = this.buf;
    for (let i = this.pos - len; i < this.pos; i++) if (!ok(buf[i]!)) this.fail(`${what}: ${rule}`);
    return len;
  }

  /** A length-prefixed ASCII string whose every byte passes `ok`, minLen..maxLen bytes long. */
  ascii(what: string, minLen: number, maxLen: number, ok: (byte: number) => boolean, rule: string): string {
    const len = this.checkAscii(what, minLen, maxLen, ok, rule);
    return String.fromCharCode.apply(null, this.buf.subarray(this.pos - len, this.pos) as unknown as number[]);
  }

  /**
   * Like ascii(), but returns `known` without building a string when the bytes spell it (the
   * same boot id in every snapshot of a session). `known` passed `ok` before.
   */
  asciiOr(known: string, what: string, minLen: number, maxLen: number, ok: (byte: number) => boolean, rule: string): string {
    const start = this.pos;
    const len = this.skip(what, maxLen);
    if (len === known.length && len >= minLen) {
      const buf = this.buf;
      let i = 0;
      for (let at = this.pos - len; i < len && buf[at + i] === known.charCodeAt(i); i++);
      if (i === len) return known;
    }
    this.pos = start;
    return this.ascii(what, minLen, maxLen, ok, rule);
  }

  /** Fails unless every byte up to `end` was read. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) this.fail(`${what}: ${this.end - this.pos} bytes left over`);
  }
}
