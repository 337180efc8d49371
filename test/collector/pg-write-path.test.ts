/**
 * The PostgreSQL write path on a real server. Schema version 4 on a database of version 3:
 * snapshots keeps one index, its key reordered to (host, ts, boot_id, seq), the rows stored
 * before stay and their replay is a duplicate; latest and hosts get their fillfactor. Host rows:
 * with PgStore.hostSeenStepMs a host's row is rewritten only when it is new, its labels or
 * interval changed (also by another collector), the row is gone (a purge by another process) or
 * its last_seen is that old; with 0, for every commit. The rollup job before its first
 * minute: an older snapshot stored after a pass read the oldest is rolled from its own minute. Array parameters in the binary array format
 * (store/pg/pg-arrays.ts BinArrays) come back element for element, whatever the text holds, NULLs and integers up to ±2^53 included. Token checks
 * made together are answered by one query over all their keys
 * (store/pg/pg-lookups.ts): on a real PostgreSQL server through the real PgStore, many checks at
 * once each get their own answer (live, revoked, unknown, a host with and without a token), and a
 * check made after a token changed sees the change even while an earlier query is in flight.
 * A connection the server ends between two statements of a transaction fails that transaction as
 * retryable and does not end the process (store/pg/pg-db.ts tx).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { PG_MIGRATIONS } from '../../packages/collector/src/store/pg/pg-schema.js';
import { BinArrays } from '../../packages/collector/src/store/pg/pg-arrays.js';
import { DAY } from '../../packages/collector/src/store/rollups.js';
import { StorageError } from '../../packages/collector/src/store/storage-error.js';
import { usePostgres } from '../helpers/postgres.js';
import { synthSnapshot } from '../helpers/snapshots.js';

const pgServer = usePostgres();
let store: PgStore | null = null;
afterAll(async () => {
  await store?.close();
});

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const DAY0 = Date.UTC(2026, 10, 30);
const BOOT = '00000000-0000-4000-8000-000000000001';

async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** Runs `fn` on a store over a fresh database, closed afterwards. */
async function withStore(name: string, fn: (s: PgStore, url: string) => Promise<void>): Promise<void> {
  const url = await pgServer().createDatabase(name);
  const s = await PgStore.open(url);
  try {
    await fn(s, url);
  } finally {
    await s.close();
  }
}

describe('PostgreSQL write path', () => {
  it('binary arrays (BinArrays): text of any content, bigint and integer extremes, NULLs, booleans and empty arrays, many views of one buffer and of the buffers after it', async () => {
    const texts = ['plain', 'a"b', 'back\\slash\\', '{braces}', 'a,b', ' spaced ', 'NULL', 'null', '', 'ünï😀', '\\"', null, 'x', "it's", 'tab\tnew\nline', '\\x00'];
    const big = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), null, 1796034416943, 4294967295, -4294967297];
    const small = [0, 1, -1, 2_147_483_647, -2_147_483_648, null, 65_536, 300];
    const bools = [true, false, false, true];
    // A small first buffer: the later arrays go to the buffers that replace it, the earlier views stay whole.
    const a = new BinArrays(64);
    const params = [
      a.text(texts.length, (k) => texts[k]),
      a.int8(big.length, (k) => big[k]),
      a.int4(small.length, (k) => small[k]),
      a.bool(bools.length, (k) => bools[k]!),
      a.int8(0, () => 1),
      a.int4(0, () => 1),
      a.text(0, () => 'x'),
      a.text(2000, (k) => `host-${k}`),
      a.int8(3000, (k) => k * 1_000_003),
    ];
    const q = (sql: string, i: number): Promise<{ v: unknown }[]> => pgServer().sql<{ v: unknown }>(sql, [params[i]]);
    expect((await q('SELECT unnest($1::text[]) AS v', 0)).map((r) => r.v)).toEqual(texts);
    expect((await q('SELECT unnest($1::bigint[])::text AS v', 1)).map((r) => (r.v === null ? null : Number(r.v)))).toEqual(big);
    expect((await q('SELECT unnest($1::int[]) AS v', 2)).map((r) => r.v)).toEqual(small);
    expect((await q('SELECT unnest($1::boolean[]) AS v', 3)).map((r) => r.v)).toEqual(bools);
    for (const [i, t] of [
      [4, 'bigint'],
      [5, 'int'],
      [6, 'text'],
    ] as const)
      expect(await q(`SELECT cardinality($1::${t}[]) AS v`, i)).toEqual([{ v: 0 }]);
    expect((await q('SELECT unnest($1::text[]) AS v', 7)).map((r) => r.v)).toEqual(Array.from({ length: 2000 }, (_, k) => `host-${k}`));
    expect((await q('SELECT unnest($1::bigint[])::text AS v', 8)).map((r) => Number(r.v))).toEqual(Array.from({ length: 3000 }, (_, k) => k * 1_000_003));
    // Several in one statement, as the ingest statement uses them.
    const rows = await pgServer().sql<{ t: string | null; b: string | null }>('SELECT t, b::text FROM unnest($1::text[], $2::bigint[]) AS u(t, b)', [params[0], params[1]]);
    expect(rows.map((r) => r.t)).toEqual([...texts]);
    expect(rows.slice(0, big.length).map((r) => (r.b === null ? null : Number(r.b)))).toEqual(big);
    // The server checks the element type against the declared one; a number no column holds is refused before anything is sent.
    await expect(pgServer().sql('SELECT unnest($1::int[])', [new BinArrays().int8(1, () => 1)])).rejects.toThrow(/element type/);
    expect(() => new BinArrays().int8(1, () => 1.5)).toThrow(RangeError);
    expect(() => new BinArrays().int4(1, () => 2 ** 31)).toThrow(RangeError);
  });

  it('token checks made together: each of many concurrent checks answered, and a check after a change sees it', async () => {
    const s = await PgStore.open(await pgServer().createDatabase('token_lookups'));
    store = s;
    const now = Date.now();
    for (let i = 0; i < 50; i++) await s.putToken(`h${i}`, `hash-${i}`, now);
    for (let i = 40; i < 50; i++) await s.revokeToken(`h${i}`, now);
    const hashes = Array.from({ length: 300 }, (_, i) => `hash-${i % 60}`);
    const hosts = await Promise.all(hashes.map((h) => s.hostForToken(h)));
    hosts.forEach((host, i) => expect(host, hashes[i]).toBe(i % 60 < 40 ? `h${i % 60}` : null));
    const has = await Promise.all(Array.from({ length: 300 }, (_, i) => s.hostHasToken(`h${i % 60}`)));
    has.forEach((v, i) => expect(v, `h${i % 60}`).toBe(i % 60 < 40));

    // A lookup in flight, then a token made: a check made after it sees the new token.
    const early = s.hostForToken('hash-new');
    await s.putToken('h-new', 'hash-new', now);
    const late = s.hostForToken('hash-new');
    expect(await late).toBe('h-new');
    expect([null, 'h-new']).toContain(await early);
    await s.revokeToken('h-new', now);
    expect(await s.hostForToken('hash-new')).toBeNull();
    expect(await s.hostHasToken('h-new')).toBe(false);
  }, 60_000);

  it('schema version 4 on a version 3 database: one snapshots index keyed (host, ts, boot_id, seq), rows kept and their replay a duplicate; fillfactor of latest and hosts', async () => {
    const url = await pgServer().createDatabase('migrate_v4');
    // A database as a collector of schema version 3 left it, with one stored snapshot in the day's partition.
    await sql(url, `CREATE TABLE tcpfleet_schema (version integer NOT NULL); INSERT INTO tcpfleet_schema VALUES (3); ${PG_MIGRATIONS.slice(0, 3).join(';')}`);
    await sql(url, `CREATE TABLE snapshots_d20261130 PARTITION OF snapshots FOR VALUES FROM (${DAY0}) TO (${DAY0 + DAY})`);
    await sql(url, `CREATE TABLE ns_snapshots_d20261130 PARTITION OF ns_snapshots FOR VALUES FROM (${DAY0}) TO (${DAY0 + DAY})`);
    const indexes = (table: string): Promise<string[]> =>
      sql<{ d: string }>(url, 'SELECT indexdef AS d FROM pg_indexes WHERE tablename = $1 ORDER BY indexname', [table]).then((r) => r.map((x) => x.d.replace(/ ON (ONLY )?public\.\w+/, '')));
    expect(await indexes('snapshots_d20261130')).toEqual(
      ['CREATE UNIQUE INDEX snapshots_d20261130_pkey USING btree (host, boot_id, seq, ts)', 'CREATE INDEX snapshots_d20261130_host_ts_boot_id_seq_idx USING btree (host, ts, boot_id, seq)'].sort(),
    );
    await sql(url, "INSERT INTO boots (host, boot) VALUES ('m', $1); INSERT INTO layouts (fields) VALUES ('|')".replace('$1', `'${BOOT}'`));
    await sql(url, "INSERT INTO snapshots (host, boot_id, seq, ts, recv_ts, layout_id, vals) SELECT 'm', id, 1, $1, $1, 1, '\\x00' FROM boots", [NOW - 2000]);
    const s = await PgStore.open(url);
    try {
      expect((await sql<{ version: number }>(url, 'SELECT version FROM tcpfleet_schema'))[0]?.version).toBe(PG_MIGRATIONS.length);
      expect(await indexes('snapshots')).toEqual(['CREATE UNIQUE INDEX snapshots_pkey USING btree (host, ts, boot_id, seq)']);
      expect(await indexes('snapshots_d20261130')).toEqual(['CREATE UNIQUE INDEX snapshots_d20261130_pkey USING btree (host, ts, boot_id, seq)']);
      // The row stored before: its replay is a duplicate; the next one is stored; so is the same seq at another ts.
      const out = await s.ingest([{ host: 'm', labels: {}, snapshots: [synthSnapshot('m', NOW - 2000, 1, 1, BOOT), synthSnapshot('m', NOW - 1000, 2, 2, BOOT)] }], NOW);
      expect(out).toEqual([{ stored: 1, duplicates: 1 }]);
      expect(await s.ingest([{ host: 'm', labels: {}, snapshots: [synthSnapshot('m', NOW - 2000, 1, 1, BOOT)] }], NOW)).toEqual([{ stored: 0, duplicates: 1 }]);
      expect((await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM snapshots'))[0]?.n).toBe(2);
      // A partition made after the migration has the one index too.
      await s.partitions.ensure([DAY0 + 5 * DAY]);
      expect(await indexes('snapshots_d20261205')).toEqual(['CREATE UNIQUE INDEX snapshots_d20261205_pkey USING btree (host, ts, boot_id, seq)']);
      const opts = await sql<{ t: string; o: string[] }>(url, "SELECT relname AS t, reloptions AS o FROM pg_class WHERE relname IN ('latest', 'hosts') ORDER BY 1");
      expect(opts).toEqual([
        { t: 'hosts', o: ['fillfactor=70', 'autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=5000'] },
        { t: 'latest', o: ['fillfactor=50', 'autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=5000'] },
      ]);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('host rows: rewritten for every commit with hostSeenStepMs 0; above only when new, changed, gone or that old', async () => {
    await withStore('host_rows', async (s, url) => {
      const hostRow = async (host: string): Promise<{ labels: string; interval_ms: number; first_seen: number; last_seen: number } | undefined> =>
        (await sql<{ labels: string; interval_ms: number; first_seen: string; last_seen: string }>(url, 'SELECT labels, interval_ms, first_seen, last_seen FROM hosts WHERE host = $1', [host])).map(
          (r) => ({
            ...r,
            first_seen: Number(r.first_seen),
            last_seen: Number(r.last_seen),
          }),
        )[0];
      let seq = 0;
      const send = (host: string, recv: number, labels: Record<string, string> = { role: 'a' }, interval = 1000): Promise<unknown> =>
        s.ingest([{ host, labels, snapshots: [{ ...synthSnapshot(host, recv - 100, ++seq, seq), interval_ms: interval }] }], recv);
      // Step 0: last_seen is each commit's receive time.
      s.hostSeenStepMs = 0;
      await send('a', NOW);
      await send('a', NOW + 1);
      expect(await hostRow('a')).toEqual({ labels: '{"role":"a"}', interval_ms: 1000, first_seen: NOW, last_seen: NOW + 1 });

      s.hostSeenStepMs = 10_000;
      await send('a', NOW + 2000);
      await send('a', NOW + 10_000);
      expect((await hostRow('a'))?.last_seen).toBe(NOW + 1);
      // The latest row moves on with every snapshot whatever the host row does.
      expect(Number((await sql<{ r: string }>(url, "SELECT recv_ts AS r FROM latest WHERE host = 'a'"))[0]?.r)).toBe(NOW + 10_000);
      await send('a', NOW + 10_001);
      expect((await hostRow('a'))?.last_seen).toBe(NOW + 10_001);
      // New labels, a new interval: written at once.
      await send('a', NOW + 12_000, { role: 'b' });
      expect(await hostRow('a')).toEqual({ labels: '{"role":"b"}', interval_ms: 1000, first_seen: NOW, last_seen: NOW + 12_000 });
      await send('a', NOW + 13_000, { role: 'b' }, 2000);
      expect(await hostRow('a')).toEqual({ labels: '{"role":"b"}', interval_ms: 2000, first_seen: NOW, last_seen: NOW + 13_000 });
      // A host new to this collector (its row written by another one): written at once.
      const other = await PgStore.open(url);
      try {
        await other.ingest([{ host: 'b', labels: {}, snapshots: [synthSnapshot('b', NOW, 1, 1)] }], NOW);
      } finally {
        await other.close();
      }
      await send('b', NOW + 14_000);
      expect(await hostRow('b')).toEqual({ labels: '{"role":"a"}', interval_ms: 1000, first_seen: NOW, last_seen: NOW + 14_000 });
      // Purged by another process (the row gone) or relabelled by another collector: this one's next snapshot writes the row again, within the step.
      const other2 = await PgStore.open(url);
      try {
        expect((await other2.removeHost('b', { purge: true, now: NOW + 14_001 })).found).toBe(true);
        await send('b', NOW + 14_002);
        expect(await hostRow('b')).toEqual({ labels: '{"role":"a"}', interval_ms: 1000, first_seen: NOW + 14_002, last_seen: NOW + 14_002 });
        await other2.ingest([{ host: 'b', labels: { role: 'z' }, snapshots: [synthSnapshot('b', NOW + 14_003, 100, 1)] }], NOW + 14_003);
        expect((await hostRow('b'))?.labels).toBe('{"role":"z"}');
        await send('b', NOW + 14_004);
        expect(await hostRow('b')).toEqual({ labels: '{"role":"a"}', interval_ms: 1000, first_seen: NOW + 14_002, last_seen: NOW + 14_004 });
        // Unchanged and within the step: not rewritten.
        await send('b', NOW + 14_005);
        expect((await hostRow('b'))?.last_seen).toBe(NOW + 14_004);
      } finally {
        await other2.close();
      }
      // Purged by this store: its next snapshot writes the row again.
      expect((await s.removeHost('a', { purge: true, now: NOW + 15_000 })).found).toBe(true);
      expect(await hostRow('a')).toBeUndefined();
      await send('a', NOW + 15_001, { role: 'b' }, 2000);
      expect(await hostRow('a')).toEqual({ labels: '{"role":"b"}', interval_ms: 2000, first_seen: NOW + 15_001, last_seen: NOW + 15_001 });
      // Forgetting a silent host looks at the latest row too: last_seen behind by the step is no silence.
      await send('a', NOW + 16_000, { role: 'b' }, 2000);
      expect((await hostRow('a'))?.last_seen).toBe(NOW + 15_001);
      expect((await s.removeHost('a', { purge: false, now: NOW + 16_001, silentBefore: NOW + 15_500 })).found).toBe(false);
      expect((await s.removeHost('a', { purge: false, now: NOW + 16_001, silentBefore: NOW + 16_001 })).found).toBe(true);
    });
  }, 60_000);

  it('the ingest statement is prepared once per shape and connection: after its generic plan, replays, new days (a new partition) and a lost connection still store exactly once', async () => {
    const url = await pgServer().createDatabase('ingest_prepared');
    // One connection: every commit runs on it, so its prepared statements are the ones to read.
    const s = await PgStore.open(url, { max: 1 });
    try {
      s.hostSeenStepMs = 60_000;
      const prepared = async (): Promise<string[]> =>
        (await s.db.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name LIKE 'tcpfleet-ingest-%' ORDER BY name")).map((r) => r.name);
      const stored = async (): Promise<number> => Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM snapshots'))[0]?.n);
      const commit = (recv: number, hosts: string[], seqOf: (h: string) => number[]): Promise<unknown> =>
        s.ingest(
          // A seq's snapshot time is fixed (the key is host, ts, boot, seq): seqs from 100 on are the next day's.
          hosts.map((h) => ({ host: h, labels: {}, snapshots: seqOf(h).map((q) => synthSnapshot(h, (q >= 100 ? NOW + DAY : NOW) + q * 100, q, q, BOOT)) })),
          recv,
        );
      // Ten commits of the two usual shapes (new hosts: every host row written; then within the step: checked only),
      // past the five runs after which PostgreSQL may keep a generic plan.
      expect(await commit(NOW, ['p1', 'p2'], () => [1])).toEqual([
        { stored: 1, duplicates: 0 },
        { stored: 1, duplicates: 0 },
      ]);
      for (let i = 2; i <= 10; i++)
        expect(await commit(NOW + i * 1000, ['p1', 'p2'], () => [i])).toEqual([
          { stored: 1, duplicates: 0 },
          { stored: 1, duplicates: 0 },
        ]);
      const names = await prepared();
      expect(names.length).toBe(2);
      // A replay (every row a duplicate) and a half replay, through the plan kept.
      expect(await commit(NOW + 11_000, ['p1', 'p2'], () => [3, 4])).toEqual([
        { stored: 0, duplicates: 2 },
        { stored: 0, duplicates: 2 },
      ]);
      expect(await commit(NOW + 12_000, ['p1', 'p2'], (h) => (h === 'p1' ? [5, 11] : [12]))).toEqual([
        { stored: 1, duplicates: 1 },
        { stored: 1, duplicates: 0 },
      ]);
      // The next day: a partition created (DDL, which invalidates the plans), the same statements used.
      const next = NOW + DAY;
      expect(await commit(next, ['p1', 'p2'], () => [100])).toEqual([
        { stored: 1, duplicates: 0 },
        { stored: 1, duplicates: 0 },
      ]);
      expect(await prepared()).toEqual(names);
      // The connection killed by the server: the next commit fails as retryable or runs on a new
      // connection, which prepares the statement again; nothing is stored twice.
      await sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tcpfleet' AND pid <> pg_backend_pid()");
      let out: unknown = null;
      for (let i = 0; i < 5 && out === null; i++) out = await commit(next + 1000, ['p1', 'p2'], () => [101]).catch(() => null);
      expect(out).toEqual([
        { stored: 1, duplicates: 0 },
        { stored: 1, duplicates: 0 },
      ]);
      expect((await prepared()).length).toBeGreaterThan(0);
      expect(await stored()).toBe(2 * 10 + 2 + 2 * 2);
      expect(Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM (SELECT DISTINCT host, boot_id, seq FROM snapshots) d'))[0]?.n)).toBe(await stored());
    } finally {
      await s.close();
    }
  }, 60_000);

  it('a commit whose boots and layouts are known is one statement with the credentials checked inside; a token revoked or given between commits refuses those items, the others stored once', async () => {
    await withStore('ingest_guard', async (s, url) => {
      await s.putToken('hx', 'hash-x', NOW);
      const fleet = { kind: 'fleet' as const };
      const own = { kind: 'host' as const, hash: 'hash-x' };
      const commit = (q: number): Promise<unknown> =>
        s.ingest(
          [
            { host: 'h1', labels: {}, snapshots: [synthSnapshot('h1', NOW + q * 1000, q, q, BOOT)], auth: fleet },
            { host: 'hx', labels: {}, snapshots: [synthSnapshot('hx', NOW + q * 1000, q, q, BOOT)], auth: own },
            { host: 'h2', labels: {}, snapshots: [synthSnapshot('h2', NOW + q * 1000, q, q, BOOT)] },
          ],
          NOW + q * 1000,
        );
      const all = [
        { stored: 1, duplicates: 0 },
        { stored: 1, duplicates: 0 },
        { stored: 1, duplicates: 0 },
      ];
      // Statements sent to the server while `fn` runs (pg's Client.query, called through).
      const statements = async (fn: () => Promise<unknown>): Promise<{ out: unknown; texts: string[] }> => {
        const spy = vi.spyOn(pg.Client.prototype, 'query');
        try {
          const out = await fn();
          const texts = spy.mock.calls.map(([q]) => (typeof q === 'string' ? q : (q as { text: string }).text).trim().split(/\s+/).slice(0, 3).join(' '));
          return { out, texts };
        } finally {
          spy.mockRestore();
        }
      };
      // New boots: a transaction (credentials, boots, rows), after the day's partitions.
      const first = await statements(() => commit(1));
      expect(first.out).toEqual(all);
      expect(first.texts).toContain('BEGIN');
      expect(first.texts.some((t) => /^WITH tok AS/.test(t))).toBe(false);
      // Boots and layouts known: one statement, no BEGIN or COMMIT.
      const second = await statements(() => commit(2));
      expect(second.out).toEqual(all);
      expect(second.texts).toHaveLength(1);
      expect(second.texts[0]).toMatch(/^WITH tok AS/);
      // hx's token revoked, h1 given one of its own: the statement's guard sees both and writes
      // nothing; the commit is made again as a transaction, which refuses those two items.
      expect(await s.revokeToken('hx', NOW + 2500)).toBe(true);
      await s.putToken('h1', 'hash-1', NOW + 2500);
      const third = await statements(() => commit(3));
      expect(third.out).toEqual([
        { stored: 0, duplicates: 0, refused: 'HOST_HAS_TOKEN' },
        { stored: 0, duplicates: 0, refused: 'REVOKED' },
        { stored: 1, duplicates: 0 },
      ]);
      expect(third.texts[0]).toMatch(/^WITH tok AS/);
      expect(third.texts.slice(1, 2)).toEqual(['BEGIN']);
      const rows = await sql<{ host: string; seqs: number[] }>(url, 'SELECT host, array_agg(seq::int ORDER BY seq) AS seqs FROM snapshots GROUP BY host ORDER BY host');
      expect(rows).toEqual([
        { host: 'h1', seqs: [1, 2] },
        { host: 'h2', seqs: [1, 2, 3] },
        { host: 'hx', seqs: [1, 2] },
      ]);
      // The guarded statement wrote nothing: one sync_log line per commit stored, latest rows as of the commits that held.
      expect(Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM sync_log'))[0]?.n)).toBe(3);
      expect(await sql(url, 'SELECT host, seq::int AS seq FROM latest ORDER BY host')).toEqual([
        { host: 'h1', seq: 2 },
        { host: 'h2', seq: 3 },
        { host: 'hx', seq: 2 },
      ]);
      // A commit without credentials at all has no guard.
      const plain = await statements(() => s.ingest([{ host: 'h2', labels: {}, snapshots: [synthSnapshot('h2', NOW + 4000, 4, 4, BOOT)] }], NOW + 4000));
      expect(plain.out).toEqual([{ stored: 1, duplicates: 0 }]);
      expect(plain.texts).toHaveLength(1);
      expect(plain.texts[0]).not.toMatch(/tok AS/);
    });
  }, 60_000);

  it('the server ending a connection between two statements of a transaction: the transaction fails as retryable, the process goes on, the next one runs on a new connection', async () => {
    await withStore('tx_terminated', async (s, url) => {
      let pid = 0;
      const killed = s.db.tx('test transaction', async (c) => {
        pid = Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
        // Between two statements (no query in flight): the server ends this connection.
        await sql(url, 'SELECT pg_terminate_backend($1)', [pid]);
        // The end reaches the client as an event; give it time to arrive before the next statement.
        await new Promise((r) => setTimeout(r, 300));
        await c.query('SELECT 1');
      });
      const err = await killed.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).retryable).toBe(true);
      const again = await s.db.tx('next transaction', async (c) => Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid));
      expect(again).not.toBe(pid);
      expect(await s.ingest([{ host: 'after-kill', labels: {}, snapshots: [synthSnapshot('after-kill', NOW, 1, 1, BOOT)] }], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
    });
  });

  it('rollups before the first minute is rolled: a snapshot older than the oldest a pass saw is rolled from its own minute', async () => {
    await withStore('first_roll', async (s, url) => {
      let clock = NOW;
      const job = s.rollupJob({ rawRetentionMs: DAY, graceMs: 60_000, now: () => clock });
      if (job === null) throw new Error('no rollup job');
      expect(await s.ingest([{ host: 'r', labels: {}, snapshots: [synthSnapshot('r', NOW - 5000, 100, 1, BOOT)] }], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
      await job.runOnce();
      expect(await sql(url, 'SELECT 1 FROM rollup_1m')).toEqual([]);
      // Older than what the pass saw, before anything was rolled.
      const early = NOW - 10 * 60_000;
      expect(await s.ingest([{ host: 'r', labels: {}, snapshots: [synthSnapshot('r', early, 1, 2, BOOT)] }], NOW + 1000)).toEqual([{ stored: 1, duplicates: 0 }]);
      await job.runOnce();
      clock = NOW + 5 * 60_000;
      await job.runOnce();
      const buckets = await sql<{ b: string }>(url, "SELECT bucket AS b FROM rollup_1m WHERE host = 'r' ORDER BY bucket");
      expect(buckets.map((r) => Number(r.b))).toEqual([early - (early % 60_000), NOW - 5000 - ((NOW - 5000) % 60_000)]);
    });
  }, 60_000);
});
