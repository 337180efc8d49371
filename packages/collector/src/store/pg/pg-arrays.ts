/**
 * Array parameters for the statements over arrays (unnest, = ANY) in PostgreSQL's binary array
 * format: the ingest statement's arrays (thousands of elements per commit) and the fleet sync's
 * keys. pg's generic encoder (and array literals as text) build a JS string per element and per
 * array and run regular expressions over each element's text; the server then parses them.
 */

/** Element type oids of the binary arrays (pg_type). */
const OID = { bool: 16, int8: 20, int4: 23, text: 25 } as const;
const TWO32 = 4_294_967_296;

/**
 * Array parameters in PostgreSQL's binary array format (what array_recv reads), written into one
 * buffer per commit: pg sends a Buffer parameter as it is, in binary format, and the server reads
 * it as the type the statement declares for it (`$1::bigint[]`, `$2::int[]`, `$3::text[]`,
 * `$4::boolean[]`; the element type written must be that one). No JS string per element or per
 * array; the server neither parses digits nor unquotes. Each array is a view of the buffer; a
 * buffer that fills is replaced (views already handed out keep the old one), never rewritten.
 *
 * Layout: ndim, has-nulls flag, element oid, then (when not empty) length and lower bound 1, then
 * per element its byte length (-1: NULL) and its bytes (int8: 8, int4: 4, bool: 1, text: UTF-8).
 */
export class BinArrays {
  #buf: Buffer;
  #dv: DataView;
  #at = 0;

  /** `bytes`: the first buffer's size (a commit's arrays fit in it when it is estimated well). */
  constructor(bytes = 4096) {
    this.#buf = Buffer.allocUnsafe(Math.max(256, bytes));
    this.#dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
  }

  #room(n: number): DataView {
    if (this.#at + n > this.#buf.length) {
      this.#buf = Buffer.allocUnsafe(Math.max(n, 2 * this.#buf.length));
      this.#dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
      this.#at = 0;
    }
    return this.#dv;
  }

  /** The header of an array of `n` elements (has-nulls set afterwards when one was written); returns where the array starts. */
  #head(n: number, oid: number, bytes: number): number {
    const d = this.#room(n === 0 ? 12 : 20 + bytes);
    const start = this.#at;
    d.setInt32(start, n === 0 ? 0 : 1);
    d.setInt32(start + 4, 0);
    d.setInt32(start + 8, oid);
    if (n === 0) {
      this.#at = start + 12;
      return start;
    }
    d.setInt32(start + 12, n);
    d.setInt32(start + 16, 1);
    this.#at = start + 20;
    return start;
  }

  #done(start: number): Buffer {
    return this.#buf.subarray(start, this.#at);
  }

  /** bigint[] of `n` elements, element k being `at(k)` (an integer within ±2^53; null: NULL). */
  int8(n: number, at: (k: number) => number | null | undefined): Buffer {
    return this.#array(n, at, 'int8');
  }

  /** integer[] (int4) of `n` elements, element k being `at(k)` (null: NULL). */
  int4(n: number, at: (k: number) => number | null | undefined): Buffer {
    return this.#array(n, at, 'int4');
  }

  /** text[] of `n` elements, element k being `at(k)` (null: NULL); any text, written as UTF-8. */
  text(n: number, at: (k: number) => string | null | undefined): Buffer {
    return this.#array(n, at, 'text');
  }

  /** boolean[] of `n` elements. */
  bool(n: number, at: (k: number) => boolean): Buffer {
    const start = this.#head(n, OID.bool, 5 * n);
    const d = this.#dv;
    let o = this.#at;
    for (let k = 0; k < n; k++) {
      d.setInt32(o, 1);
      d.setUint8(o + 4, at(k) ? 1 : 0);
      o += 5;
    }
    this.#at = o;
    return this.#done(start);
  }

  #array(n: number, at: (k: number) => number | string | null | undefined, kind: 'int8' | 'int4' | 'text'): Buffer {
    let room = kind === 'int8' ? 12 * n : 8 * n;
    if (kind === 'text') {
      // The room a text needs is known only once it is written: the worst case (3 bytes a UTF-16 unit).
      room = 0;
      for (let k = 0; k < n; k++) room += 4 + 3 * ((at(k) as string | null | undefined)?.length ?? 0);
    }
    const start = this.#head(n, OID[kind], room);
    const b = this.#buf;
    const d = this.#dv;
    let o = this.#at;
    let nulls = false;
    for (let k = 0; k < n; k++) {
      const v = at(k);
      if (v === null || v === undefined) {
        d.setInt32(o, -1);
        o += 4;
        nulls = true;
      } else if (typeof v === 'string') {
        const len = v.length === 0 ? 0 : b.write(v, o + 4, 'utf8');
        d.setInt32(o, len);
        o += 4 + len;
      } else if (kind === 'int8') {
        if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not an integer a bigint column can hold`);
        d.setInt32(o, 8);
        d.setInt32(o + 4, Math.floor(v / TWO32));
        d.setUint32(o + 8, v >>> 0);
        o += 12;
      } else {
        if (!Number.isInteger(v) || v < -2_147_483_648 || v > 2_147_483_647) throw new RangeError(`${v} is not an integer an integer column can hold`);
        d.setInt32(o, 4);
        d.setInt32(o + 4, v);
        o += 8;
      }
    }
    if (nulls) d.setInt32(start + 4, 1);
    this.#at = o;
    return this.#done(start);
  }
}

/** One text[] parameter of `values` (a statement's `= ANY($1::text[])` or unnest of one list). */
export function textArrayParam(values: readonly string[]): Buffer {
  return new BinArrays(16 * values.length + 256).text(values.length, (k) => values[k]);
}

/** One bigint[] parameter of `values`. */
export function int8ArrayParam(values: readonly number[]): Buffer {
  return new BinArrays(12 * values.length + 256).int8(values.length, (k) => values[k]);
}
