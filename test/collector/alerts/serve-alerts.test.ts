/**
 * Alerting as the collector runs it (alerts/serve-alerts.ts startAlerts), on a real SQLite file
 * with a rules file on disk: this collector's commits (onCommitted) are evaluated after the
 * writer's turn, so acks never wait on alerting; the other collectors' rows that the fleet sync
 * brings (evaluate) at once, while they are young.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore } from '../../../packages/collector/src/store/open-store.js';
import { startAlerts } from '../../../packages/collector/src/alerts/serve-alerts.js';
import type { IngestItem } from '../../../packages/collector/src/store/store.js';
import { tempDir } from '../../helpers/procs.js';
import { synthSnapshot } from '../../helpers/snapshots.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One snapshot of `host` with `established` connections, as a committed item. */
function item(host: string, ts: number, established: number): IngestItem {
  const s = synthSnapshot(host, ts, 1, 1);
  s.states.established = established;
  return { host, labels: s.labels, snapshots: [s] };
}

describe('alerting in the collector', () => {
  it("evaluate (the fleet sync's rows) is evaluated at once; onCommitted (this collector's commits) after the writer's turn", async () => {
    const t = tempDir('serve-alerts');
    cleanups.push(t.cleanup);
    const rulesFile = join(t.dir, 'rules.yml');
    writeFileSync(rulesFile, 'rules:\n  - { name: big, kind: threshold, metric: states.established, op: ">", value: 500, resolve_value: 400, for: 0s, grace: 0s }\n');
    const log = pino({ level: 'silent' });
    const store = await openStore(join(t.dir, 'a.db'), { log });
    cleanups.push(() => store.close());
    const alerts = await startAlerts({ store, log, rulesFile });
    cleanups.push(() => alerts.stop());
    const now = Date.now();
    const hosts = (): string[] =>
      alerts
        .firing()
        .map((f) => f.host ?? '')
        .sort();

    alerts.onCommitted([item('own', now, 600)], now);
    expect(hosts()).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(hosts()).toEqual(['own']);

    alerts.evaluate([item('synced', now, 700)], now);
    expect(hosts()).toEqual(['own', 'synced']);
  });
});
