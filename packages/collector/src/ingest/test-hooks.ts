/**
 * Fault-injection hooks for the fault suite (test/faults), read once from the environment. Unset
 * in normal use; each logs a warning at start-up when set, so a production collector running with
 * one is noticed.
 *
 * - TCPFLEET_TEST_DROP_ACK_EVERY=N: every N-th batch is committed, then the connection is cut
 *   instead of acknowledging it (a lost acknowledgement: the agent must resend, storage dedupes).
 * - TCPFLEET_TEST_COMMIT_DELAY_MS=N: each ingest transaction sleeps N ms between its inserts and
 *   its COMMIT, so a kill -9 lands inside a commit often.
 */
function positive(name: string): number {
  const v = Number(process.env[name] ?? '');
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

export const TEST_HOOKS = Object.freeze({
  dropAckEvery: positive('TCPFLEET_TEST_DROP_ACK_EVERY'),
  commitDelayMs: positive('TCPFLEET_TEST_COMMIT_DELAY_MS'),
});

/** Names of the hooks that are set, for the start-up warning. */
export function activeTestHooks(): string[] {
  return Object.entries(TEST_HOOKS)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k}=${v}`);
}

/** Blocks the thread for `ms` (inside a synchronous SQLite transaction). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
