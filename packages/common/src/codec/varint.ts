/**
 * Zig-zag varints, the number encoding of every stored blob (snapshot values and rollups):
 * 0 -> 0, -1 -> 1, 1 -> 2, ..., then 7 bits a byte, low bits first. Arithmetic, not bit
 * operations, so every integer up to 2^53 round-trips. Non-integers are rounded.
 */

/** Appends varints to a growing buffer; reuse one writer with reset() on hot paths. */
export class VarintWriter {
  buf = Buffer.allocUnsafe(2048);
  pos = 0;

  /** Starts a new blob in the same buffer. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** Appends one number (zig-zag). */
  put(v: number): void {
    const n = Number.isInteger(v) ? v : Math.round(v);
    this.putU(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  /** Appends one unsigned number (no zig-zag): lengths, ids, counts. */
  putU(v: number): void {
    let n = v;
    if (this.pos + 10 > this.buf.length) this.#grow(10);
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  /** Appends one raw byte. */
  putByte(b: number): void {
    if (this.pos + 1 > this.buf.length) this.#grow(1);
    this.buf[this.pos++] = b & 255;
  }

  /** Appends raw bytes. */
  putBytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.#grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends a string as its UTF-8 byte length (unsigned varint) and bytes. */
  putText(s: string): void {
    const len = Buffer.byteLength(s);
    this.putU(len);
    if (this.pos + len > this.buf.length) this.#grow(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  #grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A copy of the blob written since the last reset. */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Reads varints back in order; a blob that ends mid-number throws, naming `what`. */
export class VarintReader {
  readonly #blob: Uint8Array;
  readonly #what: string;
  #pos = 0;

  constructor(blob: Uint8Array, what: string) {
    this.#blob = blob;
    this.#what = what;
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.#pos >= this.#blob.length;
  }

  /** The next number. */
  get(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.#blob[this.#pos++];
      if (b === undefined) throw new Error(`stored ${this.#what} blob is truncated`);
      n += (b & 127) * mul;
      if (b < 128) break;
      mul *= 128;
    }
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
}
