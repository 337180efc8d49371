/**
 * Which collector runs the singleton jobs (alert evaluation and notification, rollups and
 * pruning, --forget-after): on PostgreSQL the holder of the advisory lock (store/pg/pg-leader.ts),
 * on SQLite always this one (one collector owns its file).
 *
 * `singleton()` starts a job when leadership is taken and stops it when it is lost; starts and
 * stops run one after the other, so a job is never running twice in one process.
 */
import type { Logger } from 'pino';

export interface Leadership {
  readonly leader: boolean;
  onChange(fn: (leader: boolean) => void): void;
  stop(): Promise<void>;
}

/** SQLite: one collector, always the leader. */
export function alwaysLeader(): Leadership {
  return { leader: true, onChange: () => undefined, stop: () => Promise.resolve() };
}

/**
 * Runs `start` while this collector leads (its result stops it). Resolves once the first start
 * (when leading now) is done; the returned function stops the job for good.
 */
export async function singleton(l: Leadership, log: Logger, name: string, start: () => Promise<() => Promise<void>>): Promise<() => Promise<void>> {
  let stopJob: (() => Promise<void>) | null = null;
  let chain: Promise<void> = Promise.resolve();
  let ended = false;
  const apply = (leader: boolean): Promise<void> =>
    (chain = chain.then(async () => {
      try {
        if (leader && !ended && stopJob === null) stopJob = await start();
        else if ((!leader || ended) && stopJob !== null) {
          const s = stopJob;
          stopJob = null;
          await s();
        }
      } catch (err) {
        log.error({ err, job: name }, 'singleton job failed to start or stop');
      }
    }));
  l.onChange((leader) => void apply(leader));
  await apply(l.leader);
  return async () => {
    ended = true;
    await apply(false);
  };
}
