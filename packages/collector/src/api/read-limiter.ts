/**
 * The collector's budget for expensive reads (issue 14: every read bounded). History pages, the
 * overview when not cached, and the hosts list at scale each need a permit:
 *
 * - at most `concurrent` of them run at once; beyond, 429 with Retry-After;
 * - the answer bytes built but not yet handed to the kernel, summed over every permit, stay
 *   under `bytes`; a new read while they are over it gets 503 with Retry-After, and a running
 *   one waits for its own bytes to leave before it builds more;
 * - a client that stops reading for `stallMs` has its answer cut (the permit is not held hostage);
 * - their work runs in slices of a few ms that together take at most `duty` of the event loop
 *   (measured over windows of `windowMs`), so ingest always has the rest.
 *
 * Cheap reads (a host, the total, top, health, a cached overview) need none.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { sendError } from '../http/respond.js';

/** The limits; documented in docs/security.md, "Bounded reads". */
export interface ReadLimits {
  concurrent: number;
  bytes: number;
  retryAfterS: number;
  stallMs: number;
  /** Share of the event loop all reads' slices may take together, over windows of windowMs. */
  duty: number;
  windowMs: number;
}

export const READ_LIMITS: Readonly<ReadLimits> = Object.freeze({ concurrent: 4, bytes: 32 * 1024 * 1024, retryAfterS: 1, stallMs: 30_000, duty: 0.5, windowMs: 20 });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Counters for /healthz. */
export interface ReadStats {
  active: number;
  held_bytes: number;
  refused_busy: number;
  refused_memory: number;
  stalled: number;
}

export class ReadLimiter {
  readonly limits: Readonly<ReadLimits>;
  #active = 0;
  #held = 0;
  /** The pacing window: when it began, and the slice time spent in it. */
  #windowAt = 0;
  #spentMs = 0;
  readonly #stats = { refused_busy: 0, refused_memory: 0, stalled: 0 };

  constructor(limits: Partial<ReadLimits> = {}) {
    this.limits = Object.freeze({ ...READ_LIMITS, ...limits });
  }

  /** A permit for an expensive read, or null once the refusal (429 or 503) has been answered. */
  admit(res: ServerResponse, what: string): ReadPermit | null {
    const l = this.limits;
    if (this.#active >= l.concurrent) {
      this.#stats.refused_busy++;
      refuse(res, 429, `${what}: ${l.concurrent} expensive reads already in progress (the limit); retry after ${l.retryAfterS} s`, l.retryAfterS);
      return null;
    }
    if (this.#held >= l.bytes) {
      this.#stats.refused_memory++;
      refuse(res, 503, `${what}: answers in flight hold ${this.#held} bytes, over the ${l.bytes}-byte budget; retry after ${l.retryAfterS} s`, l.retryAfterS);
      return null;
    }
    this.#active++;
    return new ReadPermit({
      hold: (n) => (this.#held += n),
      end: (stalled) => {
        this.#active--;
        if (stalled) this.#stats.stalled++;
      },
      heldBytes: () => this.#held,
      limits: l,
      slice: (work) => this.slice(work),
    });
  }

  /** Bytes held by answers in flight. */
  get heldBytes(): number {
    return this.#held;
  }

  stats(): ReadStats {
    return { active: this.#active, held_bytes: this.#held, ...this.#stats };
  }

  /**
   * Runs one slice of a read (synchronous work of at most a few ms) when the reads' share of
   * the event loop allows: a turn of the loop first, and when the slices of this window already
   * took `duty` of it, a wait until the next window. Agents' frames and acks run meanwhile.
   */
  async slice<T>(work: () => T): Promise<T> {
    await nextTurn();
    const l = this.limits;
    for (let i = 0; i < 1000; i++) {
      const now = performance.now();
      if (now - this.#windowAt >= l.windowMs) {
        this.#windowAt = now;
        this.#spentMs = 0;
      }
      if (this.#spentMs < l.duty * l.windowMs) break;
      await sleep(Math.max(1, Math.ceil(this.#windowAt + l.windowMs - now)));
    }
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.#spentMs += performance.now() - t0;
    }
  }

  /** Runs `read` under a permit (released however it ends); false when refused (answered). */
  async run(res: ServerResponse, what: string, read: (permit: ReadPermit) => Promise<void>): Promise<boolean> {
    const permit = this.admit(res, what);
    if (permit === null) return false;
    try {
      await read(permit);
    } finally {
      permit.release();
    }
    return true;
  }
}

function refuse(res: ServerResponse, status: 429 | 503, message: string, retryAfterS: number): void {
  res.setHeader('retry-after', String(retryAfterS));
  sendError(res, status, 'TCPFLEET_ERR_BUSY', message);
}

/** What a permit reports to its limiter. */
interface PermitLedger {
  hold(n: number): void;
  end(stalled: boolean): void;
  heldBytes(): number;
  limits: Readonly<ReadLimits>;
  slice<T>(work: () => T): Promise<T>;
}

/** One admitted read: writes its answer with the bytes counted until they leave; release() once done. */
export class ReadPermit {
  readonly #limiter: PermitLedger;
  #held = 0;
  #released = false;
  #stalled = false;
  #flushed: (() => void) | null = null;

  constructor(ledger: PermitLedger) {
    this.#limiter = ledger;
  }

  #hold(n: number): void {
    this.#held += n;
    this.#limiter.hold(n);
  }

  #free(n: number): void {
    const k = Math.min(n, this.#held);
    this.#held -= k;
    this.#limiter.hold(-k);
    if (this.#held === 0) this.#flushed?.();
  }

  /**
   * Writes a chunk of a streamed answer. Resolves once the caller may build the next one: at
   * once while the socket takes more and the budget has room, else when this answer's bytes
   * have left (or the client went away, or stopped reading for stallMs: then it is cut).
   */
  async write(res: ServerResponse, chunk: string | Uint8Array): Promise<void> {
    const n = Buffer.byteLength(chunk);
    this.#hold(n);
    const ok = res.write(chunk, () => this.#free(n));
    if (ok && this.#limiter.heldBytes() <= this.#limiter.limits.bytes) return;
    await this.#untilFlushed(res);
  }

  /** Runs one slice of this read's work, paced with every other read's (ReadLimiter.slice). */
  slice<T>(work: () => T): Promise<T> {
    return this.#limiter.slice(work);
  }

  /** Sends a whole (already built) answer; resolves when its bytes have left (or it was cut). */
  async send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): Promise<void> {
    const n = Buffer.byteLength(body);
    this.#hold(n);
    res.writeHead(status, { 'content-length': String(n), ...headers });
    res.once('finish', () => this.#free(n));
    res.end(body);
    await this.#untilFlushed(res);
  }

  #untilFlushed(res: ServerResponse): Promise<void> {
    if (this.#held === 0 || res.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        res.off('close', done);
        this.#flushed = null;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#stalled = true;
        res.destroy();
        done();
      }, this.#limiter.limits.stallMs);
      res.once('close', done);
      this.#flushed = done;
    });
  }

  /** Ends the permit; bytes not yet flushed stop counting (their answer is over or cut). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#free(this.#held);
    this.#limiter.end(this.#stalled);
  }
}
