import { expect, it } from 'vitest';
import { takeSnapshot } from '../../packages/agent/src/sampler.js';
import { SnapshotSchema } from '@tcpfleet/common';
import { GOLDEN, stableJson } from '../helpers/fixtures.js';
import { FIXTURE_PROC } from '../helpers/snapshots.js';

// node_exporter's e2e-output.txt: the whole agent pipeline over one fake /proc tree.
it('the sampler over test/fixtures/proc produces the golden snapshot', async () => {
  const snap = takeSnapshot(FIXTURE_PROC, { host: 'golden-host', boot: '00000000-0000-0000-0000-000000000000', seq: 1, interval_ms: 10_000, labels: { env: 'test' } }, 10);
  snap.ts = 1_795_000_000_000;
  snap.collect.ms = 0;
  expect(SnapshotSchema.safeParse(snap).success).toBe(true);
  await expect(stableJson(snap)).toMatchFileSnapshot(`${GOLDEN}agent/snapshot.json`);
});
