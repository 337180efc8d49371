/**
 * The collector's stop, step by step, within a deadline (as the agent gives its in-flight
 * batches a bounded time): each step runs after the one before; a step that throws is logged
 * and the next one runs; if the whole stop takes longer than the deadline, the step still
 * running and the ones not started are logged and the caller exits anyway. Stopping late is
 * safe: nothing is acknowledged before it is committed, so agents resend whatever was cut short.
 */
import type { Logger } from 'pino';

/** One named step of a stop. */
export interface StopStep {
  /** What the stop waits for while this step runs, as the log line names it. */
  readonly name: string;
  readonly run: () => unknown;
}

/** The default deadline of `serve --stop-timeout`. */
export const STOP_DEADLINE_MS = 10_000;

/**
 * Runs `steps` in order. Resolves true when every step finished without an error, false when
 * one failed or the deadline passed first (the steps left go on in the background).
 */
export async function stopWithin(steps: readonly StopStep[], deadlineMs: number, log: Pick<Logger, 'error'>): Promise<boolean> {
  let current = 0;
  let clean = true;
  const run = (async () => {
    for (; current < steps.length; current++) {
      const step = steps[current]!;
      try {
        await step.run();
      } catch (err) {
        clean = false;
        log.error({ err, step: step.name }, 'stop step failed; going on with the next');
      }
    }
    return clean;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      log.error(
        { deadline_ms: deadlineMs, waiting_for: steps[current]?.name ?? null, not_started: steps.slice(current + 1).map((s) => s.name) },
        'stop deadline passed; exiting anyway',
      );
      resolve(false);
    }, deadlineMs);
  });
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}
