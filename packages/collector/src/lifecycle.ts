/**
 * Components started in order and stopped in reverse, within a deadline (as the agent gives its
 * in-flight batches a bounded time): a stop that throws is logged and the next one runs; when the
 * deadline passes, the component still stopping and those not reached are named in one log line
 * and the caller exits anyway. Stopping late is safe: nothing is acknowledged before it is
 * committed, so agents resend whatever was cut short.
 */
import type { Logger } from 'pino';

/** How long a stop waits for the components in all by default (`serve --stop-timeout`). */
export const STOP_DEADLINE_MS = 10_000;

/** What a component's start gives back: its value, and how to stop it. */
export interface Started<T> {
  value: T;
  stop?: (() => Promise<void> | void) | undefined;
}

export class Lifecycle {
  readonly #log: Logger;
  readonly #started: { name: string; stop: () => Promise<void> | void }[] = [];
  #stopping: Promise<boolean> | null = null;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts a component; its stop runs in stop(), before the stops of those started earlier. */
  async start<T>(name: string, start: () => Promise<Started<T>> | Started<T>): Promise<T> {
    if (this.#stopping !== null) throw new Error(`cannot start ${name}: stopping`);
    const s = await start();
    if (s.stop !== undefined) this.#started.push({ name, stop: s.stop });
    return s.value;
  }

  /** Names of the started components that have a stop, in start order. */
  get names(): string[] {
    return this.#started.map((c) => c.name);
  }

  /**
   * Stops every started component in reverse order. Resolves true when each stopped without an
   * error, false when one failed or the deadline passed first (the rest go on in the background).
   */
  stop(deadlineMs: number): Promise<boolean> {
    this.#stopping ??= (async () => {
      const order = [...this.#started].reverse();
      let current = 0;
      let clean = true;
      const run = (async () => {
        for (; current < order.length; current++) {
          const c = order[current]!;
          try {
            await c.stop();
          } catch (err) {
            clean = false;
            this.#log.error({ err, component: c.name }, 'component failed to stop; going on with the next');
          }
        }
        return clean;
      })();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          this.#log.error({ deadline_ms: deadlineMs, waiting_for: order[current]?.name ?? null, not_started: order.slice(current + 1).map((c) => c.name) }, 'stop deadline passed; exiting anyway');
          resolve(false);
        }, deadlineMs);
      });
      try {
        return await Promise.race([run, late]);
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.#stopping;
  }
}
