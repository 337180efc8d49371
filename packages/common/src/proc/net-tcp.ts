/**
 * /proc/net/tcp and /proc/net/tcp6: counts sockets by state in one pass over the bytes.
 *
 * Kernel: net/ipv4/tcp_ipv4.c (get_tcp4_sock, get_timewait4_sock, get_openreq4) and
 * net/ipv6/tcp_ipv6.c. Documentation: Documentation/networking/proc_net_tcp.rst.
 * One header line ("  sl  local_address rem_address   st ..."), then one line per socket:
 *
 *   "%4d: %08X:%04X %08X:%04X %02X %08X:%08X ..."   (tcp6: 32 hex digits per address)
 *    sl   local addr:port  remote addr:port  state  tx_queue:rx_queue ...
 *
 * Only the fields up to the state are read. This is the agent's hot path: the scanner works on
 * bytes as they arrive in fixed-size chunks, never builds a string per line and never holds the
 * whole file, so a host with 100,000 sockets costs little more than the kernel's own work of
 * producing the text. A line that does not parse is counted and the first one is reported; it
 * never throws. Request sockets (TCP_NEW_SYN_RECV) are printed by the kernel as SYN_RECV (03),
 * as `ss` shows them.
 */
import { HEX_PAIR_VALUE } from './hex.js';
import type { BreakdownCollector } from './breakdown.js';

/** What one pass over a tcp or tcp6 file found. */
export interface NetTcpResult {
  /** Sockets by kernel state number; index 0 is unused, 1..12 are the states. */
  counts: number[];
  /** Socket lines counted. */
  sockets: number;
  /** Lines that did not parse (the header excluded). */
  skipped: number;
  /** The first line that did not parse, as `source:line: reason: "text"`, or null. */
  firstError: string | null;
  /** Bytes scanned. */
  bytes: number;
}

/** Longest line accepted; real lines are about 150 bytes. */
const MAX_LINE = 4096;
const NL = 10;
const SPACE = 32;
const COLON = 58;

/**
 * Incremental scanner for one tcp or tcp6 file. Feed it chunks with push(), then call end().
 */
export class NetTcpScanner {
  readonly #source: string;
  readonly #addrLen: number;
  readonly #v6: boolean;
  readonly #breakdown: BreakdownCollector | null;
  readonly #counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  #lineNo = 0;
  #sockets = 0;
  #skipped = 0;
  #bytes = 0;
  #firstError: string | null = null;
  #carry: Buffer | null = null;
  #discarding = false;

  /**
   * @param source name used in messages, e.g. "net/tcp6"
   * @param family 4 for /proc/net/tcp, 6 for /proc/net/tcp6
   * @param breakdown optional collector filled in the same pass
   */
  constructor(source: string, family: 4 | 6, breakdown: BreakdownCollector | null = null) {
    this.#source = source;
    this.#v6 = family === 6;
    this.#addrLen = family === 6 ? 32 : 8;
    this.#breakdown = breakdown;
  }

  /** Scans a chunk; a line split across chunks is joined with the next one. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#bytes += buf.length;
    let pos = 0;
    if (this.#discarding) {
      const nl = buf.indexOf(NL);
      if (nl < 0) return;
      this.#discarding = false;
      pos = nl + 1;
    } else if (this.#carry !== null) {
      const nl = buf.indexOf(NL);
      if (nl < 0) {
        this.#appendCarry(buf);
        return;
      }
      const line = Buffer.concat([this.#carry, buf.subarray(0, nl)]);
      this.#carry = null;
      this.#line(line, 0, line.length);
      pos = nl + 1;
    }
    for (;;) {
      const nl = buf.indexOf(NL, pos);
      if (nl < 0) break;
      this.#line(buf, pos, nl);
      pos = nl + 1;
    }
    if (pos < buf.length) this.#appendCarry(buf.subarray(pos));
  }

  /** Finishes the pass (a last line without newline counts) and returns the result. */
  end(): NetTcpResult {
    if (this.#carry !== null) {
      const line = this.#carry;
      this.#carry = null;
      this.#line(line, 0, line.length);
    }
    if (this.#lineNo === 0) this.#bad(1, Buffer.alloc(0), 0, 0, 'empty file, no header');
    return {
      counts: this.#counts.slice(),
      sockets: this.#sockets,
      skipped: this.#skipped,
      firstError: this.#firstError,
      bytes: this.#bytes,
    };
  }

  #appendCarry(part: Buffer): void {
    const next = this.#carry === null ? Buffer.from(part) : Buffer.concat([this.#carry, part]);
    if (next.length > MAX_LINE) {
      // A runaway line: count it once and resynchronise after the next newline.
      this.#bad(++this.#lineNo, next, 0, 200, `line longer than ${MAX_LINE} bytes`);
      this.#carry = null;
      this.#discarding = true;
      return;
    }
    this.#carry = next;
  }

  #line(buf: Buffer, start: number, end: number): void {
    const lineNo = ++this.#lineNo;
    if (lineNo === 1) {
      let p = start;
      while (p < end && buf[p] === SPACE) p++;
      if (!(buf[p] === 115 && buf[p + 1] === 108)) this.#bad(lineNo, buf, start, end, 'missing header "sl local_address ..."');
      return;
    }
    if (end === start) return; // blank line
    let p = start;
    while (p < end && buf[p] === SPACE) p++;
    const digits = p;
    while (p < end && buf[p]! >= 48 && buf[p]! <= 57) p++;
    if (p === digits || buf[p] !== COLON || buf[p + 1] !== SPACE) return this.#bad(lineNo, buf, start, end, 'invalid slot "N: "');
    p += 2;
    const a = this.#addrLen;
    // local addr ':' port ' ' remote addr ':' port ' ' state ' '
    const need = a + 1 + 4 + 1 + a + 1 + 4 + 1 + 2;
    if (end - p < need) return this.#bad(lineNo, buf, start, end, 'truncated line');
    const lp = p + a + 1;
    const rp = lp + 5 + a + 1;
    const sp = rp + 5;
    if (buf[p + a] !== COLON || buf[lp + 4] !== SPACE || buf[lp + 5 + a] !== COLON || buf[rp + 4] !== SPACE) {
      return this.#bad(lineNo, buf, start, end, 'invalid address field');
    }
    if (sp + 2 < end && buf[sp + 2] !== SPACE) return this.#bad(lineNo, buf, start, end, 'invalid state field');
    // Every address digit is checked, two at a time; OR-ing the pair values (-1 unless both are hex
    // digits) keeps the loop free of branches. (The local address's value is not needed, only its
    // validity.)
    let badHex = 0;
    for (let i = p; i < p + a; i += 2) badHex |= HEX_PAIR_VALUE[(buf[i]! << 8) | buf[i + 1]!]!;
    if (badHex < 0) return this.#bad(lineNo, buf, start, end, 'invalid local address');
    // The remote address is decoded as it is checked: its u32 words feed the breakdown.
    const ra = lp + 5;
    const r0 = hex4(buf, ra);
    const r1 = hex4(buf, ra + 4);
    let r2 = 0;
    let r3 = 0;
    let r4 = 0;
    let r5 = 0;
    let r6 = 0;
    let r7 = 0;
    if (this.#v6) {
      r2 = hex4(buf, ra + 8);
      r3 = hex4(buf, ra + 12);
      r4 = hex4(buf, ra + 16);
      r5 = hex4(buf, ra + 20);
      r6 = hex4(buf, ra + 24);
      r7 = hex4(buf, ra + 28);
    }
    if ((r0 | r1 | r2 | r3 | r4 | r5 | r6 | r7) < 0) return this.#bad(lineNo, buf, start, end, 'invalid remote address');
    const localPort = hex4(buf, lp);
    const remotePort = hex4(buf, rp);
    if (localPort < 0 || remotePort < 0) return this.#bad(lineNo, buf, start, end, 'invalid port');
    const state = HEX_PAIR_VALUE[(buf[sp]! << 8) | buf[sp + 1]!]!;
    if (state < 1 || state > 12) return this.#bad(lineNo, buf, start, end, 'unknown state');
    this.#counts[state]! += 1;
    this.#sockets++;
    const b = this.#breakdown;
    if (b !== null) {
      if (this.#v6) b.add6(state, localPort, (r0 << 16) | r1, (r2 << 16) | r3, (r4 << 16) | r5, (r6 << 16) | r7, remotePort);
      else b.add4(state, localPort, (r0 << 16) | r1, remotePort);
    }
  }

  #bad(lineNo: number, buf: Buffer, start: number, end: number, reason: string): void {
    this.#skipped++;
    if (this.#firstError === null) {
      const text = buf.toString('latin1', start, Math.min(end, start + 200));
      this.#firstError = `${this.#source}:${lineNo}: ${reason}: ${JSON.stringify(text)}`;
    }
  }
}

function hex4(buf: Buffer, p: number): number {
  const hi = HEX_PAIR_VALUE[(buf[p]! << 8) | buf[p + 1]!]!;
  const lo = HEX_PAIR_VALUE[(buf[p + 2]! << 8) | buf[p + 3]!]!;
  if ((hi | lo) < 0) return -1;
  return (hi << 8) | lo;
}

/** Scans a whole tcp or tcp6 file held in memory (tests, small files). */
export function countNetTcp(content: Uint8Array | string, source: string, family: 4 | 6, breakdown: BreakdownCollector | null = null): NetTcpResult {
  const s = new NetTcpScanner(source, family, breakdown);
  s.push(typeof content === 'string' ? Buffer.from(content, 'latin1') : content);
  return s.end();
}
