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
import type { Logger } from 'pino';
import type { HistoryPosition } from './store.js';
import type { PageSlice, PlannedPage, ReadRequestBody, ReadWorkerData } from './read-messages.js';
import type { HistoryPages, PageStream } from './store.js';
import { WorkerCalls } from './worker-calls.js';

const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('../../dist/store/read-worker.js', import.meta.url) : new URL('./read-worker.js', import.meta.url);

export type { PageStream };

export class ReadThread implements HistoryPages {
  readonly #calls: WorkerCalls<ReadRequestBody, { error: string }>;
  #closing = false;

  constructor(data: ReadWorkerData, log: Logger) {
    const rlog = log.child({ component: 'read-thread' });
    this.#calls = new WorkerCalls({
      url: WORKER_URL,
      data,
      failure: (r) => new Error(r.error),
      lost: (why, inFlight) => {
        if (!this.#closing) rlog.error({ reason: why, inFlight }, 'read thread stopped; reads in progress cut');
        return new Error(`read thread stopped: ${why}`);
      },
    });
  }

  async #page(body: ReadRequestBody): Promise<PageStream> {
    const id = this.#calls.nextId();
    const planned = (await this.#calls.call(body, [], id)) as PlannedPage;
    // A page lives in the worker that planned it; a new worker knows none.
    const worker = this.#calls.worker;
    const alive = (): boolean => worker !== null && this.#calls.worker === worker;
    return {
      ...planned,
      pull: () => (alive() ? (this.#calls.call({ op: 'pull', page: id }) as Promise<PageSlice>) : Promise.reject(new Error('read thread restarted'))),
      drop: () => {
        if (alive()) void this.#calls.call({ op: 'drop', page: id }).catch(() => undefined);
      },
    };
  }

  /** Plans the page of a host's history after `from` (RollupReader.historyPage, on the read thread). */
  hostPage(host: string, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream> {
    return this.#page({ op: 'host', host, since, until, limit, now, from });
  }

  /** Plans the page of one namespace series' history after `from` (NsHistoryReader.historyPage). */
  nsPage(host: string, netns: number, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream> {
    return this.#page({ op: 'ns', host, netns, since, until, limit, now, from });
  }

  /** Plans the page of the fleet's one-minute sums after bucket `after`. */
  fleetPage(since: number, until: number, limit: number, after: number | null): Promise<PageStream> {
    return this.#page({ op: 'fleet', since, until, limit, after });
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#calls.worker?.terminate();
  }
}
