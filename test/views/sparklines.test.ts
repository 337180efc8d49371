/**
 * Sparklines over a real SQLite store: the default hour (one point a minute) is seeded from the
 * store once and then follows committed snapshots from memory; other windows are read from the
 * store. Each point is the largest count of its bucket, null where nothing was reported.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Snapshot } from '@tcpfleet/common';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { Sparklines } from '../../packages/collector/src/views/sparklines.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { AGENT_BIN, tempDir } from '../helpers/procs.js';

const tmp = tempDir('sparklines');
afterAll(() => tmp.cleanup());

const base = JSON.parse(execFileSync(process.execPath, [AGENT_BIN, '--once', '--json', '--procfs', join(FIXTURES, 'proc')], { encoding: 'utf8' })) as Snapshot;
const MIN = 60_000;

function snap(seq: number, ts: number, established: number): Snapshot {
  // states = ipv4 + ipv6 is an invariant the store keeps; put the count in ipv4.
  return { ...base, host: 'h1', seq, ts, states: { ...base.states, established }, ipv4: { ...base.ipv4, established }, ipv6: { ...base.ipv6, established: 0 } };
}

describe('Sparklines', () => {
  it('seeds the last hour from the store, then follows commits from memory; other windows come from the store', async () => {
    const store = new SqliteStore({ path: join(tmp.dir, 's.db') });
    try {
      const minute = Math.floor(Date.now() / MIN);
      const now = minute * MIN + 30_000;
      const stored = [snap(1, (minute - 5) * MIN + 1000, 3), snap(2, (minute - 5) * MIN + 11_000, 7), snap(3, (minute - 2) * MIN, 4)];
      await store.ingest([{ host: 'h1', labels: {}, snapshots: stored }], now);
      const sp = new Sparklines(store);
      const a = await sp.get(['h1'], 'established', now);
      expect(a.step_ms).toBe(MIN);
      expect(a.since).toBe((minute - 59) * MIN);
      const series = a.hosts['h1']!;
      expect(series).toHaveLength(60);
      expect(series[54]).toBe(7);
      expect(series[57]).toBe(4);
      expect(series.filter((v) => v !== null)).toEqual([7, 4]);

      // A commit the store never saw reaches the series through observe().
      sp.observe([{ host: 'h1', labels: {}, snapshots: [snap(4, now - 1000, 9)] }]);
      const b = await sp.get(['h1'], 'established', now);
      expect(b.hosts['h1']![59]).toBe(9);
      expect((await sp.get(['h1'], 'listen', now)).hosts['h1']!.filter((v) => v !== null)).toEqual([base.states.listen, base.states.listen, base.states.listen]);

      // Two hours in 12 points: from the store (which does not hold the observed snapshot).
      const c = await sp.get(['h1'], 'established', now, 7_200_000, 12);
      expect(c.step_ms).toBe(600_000);
      expect(c.hosts['h1']!.filter((v) => v !== null)).toEqual([7]);
      expect((await sp.get(['nobody'], 'established', now)).hosts['nobody']!.every((v) => v === null)).toBe(true);
    } finally {
      await store.close();
    }
  });
  it('a host asked for keeps its minutes in a ring: after two hours of commits the hour shown is the last one; a host never asked for is read from the store when first asked', async () => {
    const store = new SqliteStore({ path: join(tmp.dir, 'ring.db') });
    try {
      const minute = Math.floor(Date.now() / MIN);
      const start = minute - 130;
      const sp = new Sparklines(store);
      // Asked once (nothing stored yet): from then on its commits are kept in memory.
      expect((await sp.get(['h1'], 'established', start * MIN)).hosts['h1']!.every((v) => v === null)).toBe(true);
      for (let m = start; m <= minute; m++)
        for (const [i, off] of [5_000, 35_000].entries()) sp.observe([{ host: 'h1', labels: {}, snapshots: [snap(1 + 2 * (m - start) + i, m * MIN + off, 200 - (m - start) + i)] }]);
      const series = (await sp.get(['h1'], 'established', minute * MIN + 40_000)).hosts['h1']!;
      // Bucket k is minute (minute - 59 + k): its larger count; counts fall minute by minute, so a slot not reset would show the older, larger one.
      expect(series).toEqual(Array.from({ length: 60 }, (_, k) => 200 - (minute - 59 + k - start) + 1));

      // h3 was never asked for: its observed commits are not kept, what the store holds is read when it is first asked.
      sp.observe([{ host: 'h3', labels: {}, snapshots: [{ ...snap(1, minute * MIN + 1000, 77), host: 'h3' }] }]);
      await store.ingest([{ host: 'h3', labels: {}, snapshots: [{ ...snap(2, minute * MIN + 2000, 55), host: 'h3' }] }], minute * MIN + 2000);
      expect((await sp.get(['h3'], 'established', minute * MIN + 40_000)).hosts['h3']![59]).toBe(55);
    } finally {
      await store.close();
    }
  });
});
