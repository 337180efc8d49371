/**
 * History reads on their own thread (issue 14). A page is planned and its JSON built on a worker
 * thread with its own read-only connection (store/read-worker.ts), a slice each time the main
 * thread pulls one, so a flood of history reads costs the event loop only the copying of finished
 * slices to sockets: agents' frames and acks are not held behind them. The worker runs at a
 * lower CPU priority than the rest of the collector (Linux).
 *
 * If the worker dies, the reads in progress fail (their answers are cut) and the next read starts
 * a new one.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { HistoryPosition } from './rollup-history.js';
import type { PageSlice, PlannedPage, ReadReply, ReadRequestBody, ReadWorkerData } from './read-worker.js';

const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('../../dist/store/read-worker.js', import.meta.url) : new URL('./read-worker.js', import.meta.url);

/** A page being answered: pull() its slices until one is `done`, or drop() it. */
export interface PageStream {
  resolution: string;
  next: PlannedPage['next'];
  pull(): Promise<PageSlice>;
  drop(): void;
}

interface Waiting {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class ReadThread {
  readonly #data: ReadWorkerData;
  readonly #log: Logger;
  #worker: Worker | null = null;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #closing = false;

  constructor(data: ReadWorkerData, log: Logger) {
    this.#data = data;
    this.#log = log.child({ component: 'read-thread' });
  }

  #start(): Worker {
    const w = new Worker(WORKER_URL, { workerData: this.#data });
    w.on('message', (r: ReadReply) => {
      const p = this.#waiting.get(r.id);
      if (p === undefined) return;
      this.#waiting.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(r.error));
    });
    const lost = (why: string): void => {
      if (this.#worker !== w) return;
      this.#worker = null;
      if (!this.#closing) this.#log.error({ reason: why, inFlight: this.#waiting.size }, 'read thread stopped; reads in progress cut');
      for (const p of this.#waiting.values()) p.reject(new Error(`read thread stopped: ${why}`));
      this.#waiting.clear();
    };
    w.on('error', (err) => lost(err.message));
    w.on('exit', (code) => lost(`exit code ${code}`));
    w.unref();
    this.#worker = w;
    return w;
  }

  #request(body: ReadRequestBody, id = this.#nextId++): Promise<unknown> {
    const w = this.#worker ?? this.#start();
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      w.postMessage({ id, ...body });
    });
  }

  async #page(body: ReadRequestBody): Promise<PageStream> {
    const id = this.#nextId++;
    const planned = (await this.#request(body, id)) as PlannedPage;
    const worker = this.#worker;
    // A page lives in the worker that planned it; a new worker knows none.
    const alive = (): boolean => worker !== null && this.#worker === worker;
    return {
      ...planned,
      pull: () => (alive() ? (this.#request({ op: 'pull', page: id }) as Promise<PageSlice>) : Promise.reject(new Error('read thread restarted'))),
      drop: () => {
        if (alive()) void this.#request({ op: 'drop', page: id }).catch(() => undefined);
      },
    };
  }

  /** Plans the page of a host's history after `from` (RollupReader.historyPage, on the read thread). */
  hostPage(host: string, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream> {
    return this.#page({ op: 'host', host, since, until, limit, now, from });
  }

  /** Plans the page of the fleet's one-minute sums after bucket `after`. */
  fleetPage(since: number, until: number, limit: number, after: number | null): Promise<PageStream> {
    return this.#page({ op: 'fleet', since, until, limit, after });
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#worker?.terminate();
  }
}
