/**
 * Per-namespace series on PostgreSQL beyond the conformance cases (test/store/conformance):
 * a database at schema version 1 (before issue 10) is migrated, the days that already had a
 * snapshots partition get their ns_snapshots partition, and retention drops both together.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { PG_MIGRATIONS } from '../../packages/collector/src/store/pg/pg-schema.js';
import { DAY } from '../../packages/collector/src/store/rollups.js';
import { usePostgres } from '../helpers/postgres.js';
import { synthNamespace, synthSnapshot } from '../helpers/snapshots.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 30);
const DAY0 = Date.UTC(2026, 10, 20);

const pgServer = usePostgres();

async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

const partitionsOf = async (url: string, parent: string): Promise<string[]> =>
  (await sql<{ name: string }>(url, `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${parent}'::regclass ORDER BY 1`)).map((r) => r.name);

describe('namespace series on PostgreSQL', () => {
  it('migrates a version 1 database: existing days get their ns_snapshots partition; namespaces are stored in them; retention drops both', async () => {
    const url = await pgServer().createDatabase('ns_migrate');
    // A database as a collector before issue 10 left it: schema version 1, a partition for the day of NOW.
    await sql(url, `CREATE TABLE tcpfleet_schema (version integer NOT NULL); INSERT INTO tcpfleet_schema VALUES (1); ${PG_MIGRATIONS[0]!}`);
    await sql(url, `CREATE TABLE snapshots_d20261120 PARTITION OF snapshots FOR VALUES FROM (${DAY0}) TO (${DAY0 + DAY})`);
    // Read before any newer collector migrated it (`db stats --db`): the resolutions it has.
    const reader = await PgStore.open(url, { readonly: true });
    try {
      expect((await reader.stats()).resolutions.map((r) => r.resolution)).toEqual(['raw', '1m', '1h', 'fleet_1m']);
    } finally {
      await reader.close();
    }
    const store = await PgStore.open(url);
    try {
      expect((await sql<{ version: number }>(url, 'SELECT version FROM tcpfleet_schema'))[0]?.version).toBe(PG_MIGRATIONS.length);
      const ns = await partitionsOf(url, 'ns_snapshots');
      expect(ns).toContain('ns_snapshots_d20261120');
      // Its bounds are the day's (a row on the day's last millisecond goes in, the next day's does not).
      const bound = await sql<{ b: string }>(url, "SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.relname = 'ns_snapshots_d20261120'");
      expect(bound[0]?.b).toBe(`FOR VALUES FROM ('${DAY0}') TO ('${DAY0 + DAY}')`);
      const entries = [synthNamespace(4026532463, 3), synthNamespace(4026532500, 8)];
      const snap = { ...synthSnapshot('m', DAY0 + DAY - 1, 1, 1), namespaces: entries };
      expect(await store.ingest([{ host: 'm', labels: {}, snapshots: [snap] }], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
      expect((await store.latest())[0]?.namespaces).toEqual(entries);
      expect((await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM ns_snapshots_d20261120'))[0]?.n).toBe(2);
      // Raw retention drops the day's snapshots and namespace partitions together.
      expect(await store.partitions.dropBefore(DAY0 + 3 * DAY)).toBeGreaterThanOrEqual(0);
      expect(await partitionsOf(url, 'snapshots')).not.toContain('snapshots_d20261120');
      expect(await partitionsOf(url, 'ns_snapshots')).not.toContain('ns_snapshots_d20261120');
      expect(await store.namespaceHistory('m', 4026532463, 0, NOW + DAY, 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
