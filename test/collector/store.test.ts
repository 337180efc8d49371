import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { decodeValues, encodeValues, layoutOf, parseLayout } from '../../packages/common/src/codec/snapshot-values.js';
import { fixtureSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const dirs: { cleanup: () => void }[] = [];
function freshDb(): string {
  const t = tempDir('store');
  dirs.push(t);
  return `${t.dir}/t.db`;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe('values codec', () => {
  it('round-trips every number of a real snapshot', () => {
    const s = fixtureSnapshot({ seq: 1 });
    const blob = encodeValues(s);
    const v = decodeValues(blob, parseLayout(layoutOf(s)));
    expect(v.ipv4).toEqual(s.ipv4);
    expect(v.ipv6).toEqual(s.ipv6);
    expect(v.states).toEqual(s.states);
    expect(v.summary).toEqual(s.summary);
    expect(v.sockstat).toEqual(s.sockstat);
    expect(v.snmp).toEqual(s.snmp);
    expect(v.netstat).toEqual(s.netstat);
    expect(v.interval_ms).toBe(s.interval_ms);
    expect(v.collect.ms).toBeCloseTo(s.collect.ms, 3);
  });

  it('keeps negative and large values (MaxConn -1, 2^53-1)', () => {
    const s = fixtureSnapshot({ seq: 1 });
    s.snmp = { ...s.snmp, MaxConn: -1, InSegs: Number.MAX_SAFE_INTEGER };
    const v = decodeValues(encodeValues(s), parseLayout(layoutOf(s)));
    expect(v.snmp['MaxConn']).toBe(-1);
    expect(v.snmp['InSegs']).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('costs under 2 bytes per number on a real snapshot', () => {
    const s = fixtureSnapshot({ seq: 1 });
    const numbers = 24 + 5 + 7 + 5 + Object.keys(s.snmp).length + Object.keys(s.netstat).length;
    expect(encodeValues(s).length / numbers).toBeLessThan(2);
  });

  it('refuses a truncated blob', () => {
    const s = fixtureSnapshot({ seq: 1 });
    expect(() => decodeValues(encodeValues(s).subarray(0, 10), parseLayout(layoutOf(s)))).toThrow(/truncated/);
  });
});

describe('SqliteStore', () => {
  it('stores a batch, keeps it after reopening the file, and answers history oldest first', async () => {
    const path = freshDb();
    const a = new SqliteStore({ path });
    const snaps = [3, 1, 2].map((seq) => fixtureSnapshot({ seq }));
    expect(await a.ingest([{ host: 'h1', labels: { env: 'test' }, snapshots: snaps }], 5000)).toEqual([{ stored: 3, duplicates: 0 }]);
    await a.close();
    const b = new SqliteStore({ path });
    const hist = await b.history('h1', 0, Number.MAX_SAFE_INTEGER, 100);
    expect(hist.map((s) => s.seq)).toEqual([1, 2, 3]);
    expect(hist[0]).toMatchObject({ host: 'h1', labels: { env: 'test' }, recv_ts: 5000, boot: '0123456789abcdef' });
    expect(hist[0]?.states).toEqual(snaps[1]?.states);
    const latest = await b.latest();
    expect(latest).toHaveLength(1);
    expect(latest[0]?.seq).toBe(3);
    expect(latest[0]?.breakdown).toEqual(snaps[0]?.breakdown);
    await b.close();
  });

  it('is idempotent on (host, boot, seq): a replay stores nothing twice', async () => {
    const s = new SqliteStore({ path: freshDb() });
    const snaps = [1, 2].map((seq) => fixtureSnapshot({ seq }));
    await s.ingest([{ host: 'h1', labels: {}, snapshots: snaps }], 1);
    const again = await s.ingest([{ host: 'h1', labels: {}, snapshots: [...snaps, fixtureSnapshot({ seq: 3 })] }], 2);
    expect(again).toEqual([{ stored: 1, duplicates: 2 }]);
    expect((await s.history('h1', 0, Number.MAX_SAFE_INTEGER, 100)).length).toBe(3);
    // The same seq under another boot is another snapshot (the agent restarted).
    const other = await s.ingest([{ host: 'h1', labels: {}, snapshots: [fixtureSnapshot({ seq: 1, boot: 'fedcba9876543210' })] }], 3);
    expect(other).toEqual([{ stored: 1, duplicates: 0 }]);
    await s.close();
  });

  it('does not let an older replayed snapshot replace the latest one', async () => {
    const s = new SqliteStore({ path: freshDb() });
    await s.ingest([{ host: 'h1', labels: {}, snapshots: [fixtureSnapshot({ seq: 5 })] }], 1);
    await s.ingest([{ host: 'h1', labels: {}, snapshots: [fixtureSnapshot({ seq: 2 })] }], 2);
    expect((await s.latest())[0]?.seq).toBe(5);
    await s.close();
  });

  it('stores host names and labels with quotes, SQL and escapes as plain data', async () => {
    const path = freshDb();
    const s = new SqliteStore({ path });
    const evil = "x');DROP_TABLE_snapshots;--";
    await s.ingest([{ host: evil, labels: { note: 'a\'b"c; DROP TABLE hosts' }, snapshots: [fixtureSnapshot({ seq: 1 })] }], 1);
    expect((await s.latest()).map((h) => h.host)).toEqual([evil]);
    expect((await s.history(evil, 0, Number.MAX_SAFE_INTEGER, 10)).length).toBe(1);
    expect(await s.history("x' OR 1=1 --", 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    await s.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('rolls back a whole group commit when one item fails, and stores nothing of it', async () => {
    const path = freshDb();
    const s = new SqliteStore({ path });
    const bad = fixtureSnapshot({ seq: 2 });
    (bad as { seq: unknown }).seq = 'not a number'; // STRICT tables refuse it
    await expect(
      s.ingest(
        [
          { host: 'h1', labels: {}, snapshots: [fixtureSnapshot({ seq: 1 })] },
          { host: 'h2', labels: {}, snapshots: [bad] },
        ],
        1,
      ),
    ).rejects.toMatchObject({ code: 'TCPFLEET_ERR_STORAGE' });
    expect(await s.latest()).toEqual([]);
    // And the store still works afterwards (cached ids of the rolled-back rows are gone).
    expect(await s.ingest([{ host: 'h1', labels: {}, snapshots: [fixtureSnapshot({ seq: 1 })] }], 2)).toEqual([{ stored: 1, duplicates: 0 }]);
    await s.close();
  });

  it('uses WAL and synchronous=FULL by default, NORMAL on request', async () => {
    const path = freshDb();
    const s = new SqliteStore({ path });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('synchronous', { simple: true })).toBe(2);
    await s.close();
    const n = new SqliteStore({ path, durability: 'normal' });
    expect(n.db.pragma('synchronous', { simple: true })).toBe(1);
    await n.close();
  });

  it('refuses a database from a newer tcpfleet', () => {
    const path = freshDb();
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();
    expect(() => new SqliteStore({ path })).toThrow(/schema version 999, newer than this collector/);
  });

  it('records gaps idempotently and lists them per host', async () => {
    const s = new SqliteStore({ path: freshDb() });
    await s.ingest([{ host: 'h1', labels: {}, snapshots: [fixtureSnapshot({ seq: 9 })] }], 1);
    const gap = { host: 'h1', boot: '0123456789abcdef', from_seq: 1, to_seq: 8, count: 8, ts: 5, recv_ts: 10 };
    await s.recordGap(gap);
    await s.recordGap(gap);
    expect(await s.gaps('h1', 0)).toEqual([gap]);
    expect(await s.gaps('nobody', 0)).toEqual([]);
    await s.close();
  });
});
