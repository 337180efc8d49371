/**
 * Components started in order and stopped in reverse, within a deadline: a component whose stop
 * has not finished when the time is up is logged and left behind, and the next one is stopped
 * (the store, stopped last, always gets its turn). The agent's stop works the same way.
 */
import type { Logger } from 'pino';

/** What a component's start gives back: its value, and how to stop it. */
export interface Started<T> {
  value: T;
  stop?: (() => Promise<void> | void) | undefined;
}

export class Lifecycle {
  readonly #log: Logger;
  readonly #started: { name: string; stop: () => Promise<void> | void }[] = [];
  #stopping: Promise<string[]> | null = null;

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

  /** Names of the started components, in start order. */
  get names(): string[] {
    return this.#started.map((c) => c.name);
  }

  /** Stops every started component in reverse order; resolves with those that missed the deadline. */
  stop(deadlineMs: number): Promise<string[]> {
    this.#stopping ??= (async () => {
      const until = Date.now() + deadlineMs;
      const late: string[] = [];
      for (const c of [...this.#started].reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          (async () => {
            try {
              await c.stop();
              return 'done' as const;
            } catch (err) {
              this.#log.error({ err, component: c.name }, 'component failed to stop cleanly');
              return 'failed' as const;
            }
          })(),
          new Promise<'late'>((resolve) => {
            timer = setTimeout(() => resolve('late'), Math.max(0, until - Date.now()));
          }),
        ]);
        clearTimeout(timer);
        if (outcome === 'late') {
          late.push(c.name);
          this.#log.warn({ component: c.name, deadlineMs }, 'stop deadline passed; not waiting for this component');
        }
      }
      return late;
    })();
    return this.#stopping;
  }
}
