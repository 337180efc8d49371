/**
 * The setting of a test of several collectors (test/cluster): a throwaway PostgreSQL, a webhook
 * receiver, a temporary directory, and the processes and wire clients the test starts, all
 * created before the tests of the calling file and removed after them (also when one fails).
 */
import { afterAll, beforeAll } from 'vitest';
import { killAll, stopProc, tempDir, waitFor } from './procs.js';
import type { Proc } from './procs.js';
import { usePostgres } from './postgres.js';
import type { PgServer } from './postgres.js';
import { startWebhook, writeSpikeRules } from './webhook.js';
import type { WebhookMode, WebhookReceiver } from './webhook.js';
import type { Feeder } from './feeder.js';
import { leadersAmong, startPgCollectors } from './pg-collector.js';
import type { PgCollector } from './pg-collector.js';

export interface ClusterFixture {
  dir: string;
  /** Push what the test starts: stopped (or killed) after the tests. */
  procs: Proc[];
  feeders: Feeder[];
  server: () => PgServer;
  hook: () => WebhookReceiver;
}

/** Registers the beforeAll/afterAll of a cluster test file; the webhook receiver answers as `mode` says. */
export function clusterFixture(tag: string, mode: WebhookMode = { kind: 'ok' }): ClusterFixture {
  const tmp = tempDir(tag);
  const pgs = usePostgres();
  let hook: WebhookReceiver | null = null;
  const fx: ClusterFixture = {
    dir: tmp.dir,
    procs: [],
    feeders: [],
    server: pgs,
    hook: () => hook ?? fail('no webhook receiver'),
  };
  beforeAll(async () => {
    hook = await startWebhook(mode);
  }, 120_000);
  afterAll(async () => {
    for (const f of fx.feeders) f.close();
    for (const p of fx.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) await stopProc(p);
    killAll();
    await hook?.close();
    tmp.cleanup();
  });
  return fx;
}

/**
 * Three collectors on the fixture's PostgreSQL, with the spike rules (writeSpikeRules) notifying
 * its webhook receiver; resolves once exactly one of them leads.
 */
export async function startSpikeCluster(fx: ClusterFixture, token: string): Promise<{ cols: PgCollector[]; leader: PgCollector; others: [PgCollector, PgCollector] }> {
  const rules = writeSpikeRules(fx.dir, fx.hook());
  const cols = await startPgCollectors(3, fx.dir, fx.server().url, token, { extra: ['--rules', rules] });
  fx.procs.push(...cols);
  await waitFor(async () => (await leadersAmong(cols)).length === 1, 'one leader', 15_000);
  const [leader] = await leadersAmong(cols);
  if (leader === undefined) throw new Error('no leader among the collectors');
  return { cols, leader, others: cols.filter((c) => c !== leader) as [PgCollector, PgCollector] };
}

function fail(why: string): never {
  throw new Error(why);
}
