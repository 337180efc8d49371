/**
 * A database seeded with a long history before a collector opens it: snapshots of the fixture
 * procfs tree (real field set: snmp, netstat, sockstat) written through the SQLite store's own
 * ingest, so the rows are exactly what a collector would have stored.
 */
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { fixtureSnapshot } from './snapshots.js';

/** Stores `n` snapshots of `host`, one every `stepMs`, the newest at `newestTs`; returns the oldest ts. */
export async function seedHistory(db: string, host: string, n: number, newestTs: number, stepMs: number, boot = '0123456789abcdef'): Promise<number> {
  const store = new SqliteStore({ path: db, durability: 'normal' });
  const oldest = newestTs - (n - 1) * stepMs;
  try {
    const base = fixtureSnapshot({ seq: 1 });
    for (let from = 0; from < n; from += 1000) {
      const snaps = [];
      for (let i = from; i < Math.min(n, from + 1000); i++) {
        snaps.push({ ...base, host, boot, seq: i + 1, ts: oldest + i * stepMs, interval_ms: stepMs, states: { ...base.states, established: i % 1000 } });
      }
      await store.ingest([{ host, labels: { role: 'seeded' }, snapshots: snaps }], newestTs);
    }
  } finally {
    await store.close();
  }
  return oldest;
}

/** Stores one snapshot (at `ts`) of each of `hosts`, in one session. */
export async function seedHosts(db: string, hosts: readonly string[], ts: number): Promise<void> {
  const store = new SqliteStore({ path: db, durability: 'normal' });
  try {
    const base = fixtureSnapshot({ seq: 1 });
    await store.ingest(
      hosts.map((host) => ({ host, labels: { role: 'seeded' }, snapshots: [{ ...base, host, ts }] })),
      ts,
    );
  } finally {
    await store.close();
  }
}
