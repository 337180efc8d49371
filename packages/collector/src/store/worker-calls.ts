/**
 * Calls to a worker thread (the write thread, the read thread): each request carries an id that
 * its reply echoes. When the worker stops (an error, an exit), every call in flight is refused
 * with the error `lost` gives, and the next call starts a new worker.
 */
import { Worker } from 'node:worker_threads';
import type { ResourceLimits } from 'node:worker_threads';

/** A worker's reply: the result, or a failure the owner turns into an error. */
export type WorkerReply<F> = { id: number; ok: true; result: unknown } | ({ id: number; ok: false } & F);

interface Waiting {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface WorkerCallsOptions<F> {
  url: URL;
  data: unknown;
  /** V8 heap limits of the worker (default: Node's, as the main thread's). */
  resourceLimits?: ResourceLimits | undefined;
  /** The error of a failed call. */
  failure: (reply: { id: number; ok: false } & F) => Error;
  /** Called once when the worker stops; gives the error the calls in flight are refused with. */
  lost: (why: string, inFlight: number) => Error;
}

export class WorkerCalls<Body extends object, F> {
  readonly #o: WorkerCallsOptions<F>;
  #worker: Worker | null = null;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;

  constructor(o: WorkerCallsOptions<F>) {
    this.#o = o;
  }

  /** The worker now running, if any. */
  get worker(): Worker | null {
    return this.#worker;
  }

  /** Starts a worker (calls start one when none runs). */
  start(): Worker {
    const w = new Worker(this.#o.url, { workerData: this.#o.data, ...(this.#o.resourceLimits !== undefined ? { resourceLimits: this.#o.resourceLimits } : {}) });
    w.on('message', (r: WorkerReply<F>) => {
      const p = this.#waiting.get(r.id);
      if (p === undefined) return;
      this.#waiting.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(this.#o.failure(r));
    });
    const lost = (why: string): void => {
      if (this.#worker !== w) return;
      this.#worker = null;
      const err = this.#o.lost(why, this.#waiting.size);
      for (const p of this.#waiting.values()) p.reject(err);
      this.#waiting.clear();
    };
    w.on('error', (err) => lost(err.message));
    w.on('exit', (code) => lost(`exit code ${code}`));
    w.unref();
    this.#worker = w;
    return w;
  }

  /** A fresh call id (for a call whose id the caller needs beforehand). */
  nextId(): number {
    return this.#nextId++;
  }

  /** Sends a request; resolves with its result. */
  call(body: Body, transfer: ArrayBuffer[] = [], id = this.nextId()): Promise<unknown> {
    const w = this.#worker ?? this.start();
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      w.postMessage({ id, ...body }, transfer);
    });
  }
}
