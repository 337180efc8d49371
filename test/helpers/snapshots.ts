/** Snapshots built from the fixture procfs tree, for storage and protocol tests. */
import { fileURLToPath } from 'node:url';
import { takeSnapshot } from '../../packages/agent/src/sampler.js';
import type { Snapshot } from '@tcpfleet/common';

export const FIXTURE_PROC = fileURLToPath(new URL('../fixtures/proc', import.meta.url));

/** A real snapshot of the fixture tree with the given identity. */
export function fixtureSnapshot(over: Partial<Snapshot> & { seq: number }): Snapshot {
  const s = takeSnapshot(FIXTURE_PROC, { host: 'fixture-host', boot: '0123456789abcdef', seq: over.seq, interval_ms: 1000, labels: { env: 'test' } }, 10);
  return { ...s, ts: 1_795_000_000_000 + over.seq * 1000, ...over };
}
