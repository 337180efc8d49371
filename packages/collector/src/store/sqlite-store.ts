/**
 * The SQLite store: one file in WAL mode, one writer (this process), prepared statements built
 * once. Durability: synchronous=FULL by default (an acknowledged snapshot survives power loss);
 * `normal` keeps the last transactions of a power cut at risk, never on a process crash.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { TcpfleetError, parseLayout } from '@tcpfleet/common';
import type { Layout } from '@tcpfleet/common';
import { storedSnapshot } from './stored-row.js';
import { MIGRATIONS } from './migrations.js';
import { StorageError } from './storage-error.js';
import type { Logger } from 'pino';
import { sqliteStats } from './sqlite-stats.js';
import { sqliteReadTokens } from './read-tokens.js';
import { RollupJob } from './rollups.js';
import { ReadThread } from './read-thread.js';
import { SqliteAlertStore, readSqliteAlerts } from '../alerts/alert-store.js';
import type { AlertRecord, AlertStore } from '../alerts/alert-store.js';
import { RowEncoder, nsOffsets } from './ingest-rows.js';
import type { IngestRows } from './ingest-rows.js';
import type { HistoryPages, ReadTokens, RollupJobOptions, RollupService } from './store.js';
import type {
  DbStats,
  GapRecord,
  HostRemoval,
  IngestItem,
  IngestOutcome,
  IngestRefusal,
  NsRawHistory,
  NsSeries,
  NsStoredEntry,
  RawHistory,
  RawKey,
  RemoveOutcome,
  Store,
  StoredSnapshot,
  TokenInfo,
  WriteAuth,
} from './store.js';
import { NsStore } from './ns-store.js';
import { rawKeyStatements, rawSeekWith } from './raw-keys.js';
import type { KeyRow } from './raw-keys.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  path: string;
  durability?: 'full' | 'normal';
  busyTimeoutMs?: number;
  readonly?: boolean;
  /**
   * Page cache of this connection, KiB (default 65536: the writing connection touches each host's
   * `latest` row in every commit). The main thread's connection takes less when a write thread
   * owns the writes (store/open-store.ts): it only reads, and a full scan of `latest` at start
   * would otherwise leave 40 MB of pages cached at 10,000 hosts. The write thread's connection
   * then follows its `latest` table's size (store/write-cache.ts).
   */
  cacheKib?: number;
  /**
   * Fault injection for the fault suite only (test/helpers/fault-collector.mjs passes it; nothing
   * in the product sets it): each ingest transaction waits this long between its inserts and its
   * COMMIT, so a kill -9 often lands inside a commit.
   */
  commitDelayMs?: number | undefined;
}

export { StorageError };

const RETRYABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/;

function wrap(err: unknown, what: string): StorageError {
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : 'UNKNOWN';
  return new StorageError(`${what}: ${(err as Error).message}`, code, RETRYABLE.test(code), { cause: err });
}

/** The newest snapshot of a host within one commit, for its `latest` row (j: its index in the rows). */
interface NewestRow {
  j: number;
  ts: number;
  bootId: number;
  layoutId: number;
  vals: Uint8Array;
}

interface SnapRow {
  seq: number;
  ts: number;
  recv_ts: number;
  layout_id: number;
  vals: Buffer;
  errors: string | null;
  boot: string;
}

/** The statements of RawHistory; rows ordered by (ts, boot_id, seq), an index-only walk but for rawSlice. */
function rawHistoryStatements(p: (sql: string) => Statement): Record<string, Statement> {
  const host = 's.host_id = (SELECT id FROM hosts WHERE name = ?)';
  return {
    ...rawKeyStatements(p, 'raw', 'snapshots', host),
    rawSlice: p(`SELECT s.seq, s.ts, s.recv_ts, s.layout_id, s.vals, s.errors, s.boot_id, b.boot FROM snapshots s JOIN boots b ON b.id = s.boot_id
                 WHERE ${host} AND (s.ts, s.boot_id, s.seq) > (?, ?, ?) AND (s.ts, s.boot_id, s.seq) <= (?, ?, ?) ORDER BY s.ts, s.boot_id, s.seq LIMIT ?`),
  };
}

export class SqliteStore implements Store, RawHistory, NsRawHistory {
  readonly #db: Db;
  readonly #path: string;
  /** What this process last wrote to each host's row (cleared when a transaction fails). */
  readonly #hostRows = new Map<string, { id: number; labels: Record<string, string>; labelsJson: string; intervalMs: number }>();
  readonly #bootIds = new Map<string, number>();
  readonly #layoutIds = new Map<string, number>();
  readonly #layouts = new Map<number, Layout>();
  readonly #s: Record<string, Statement>;
  /** The per-namespace tables' statements (store/ns-store.ts). */
  readonly #ns: NsStore;
  /** Encodes this store's own ingest() calls. */
  readonly #encoder = new RowEncoder();
  /** Layout texts by the id their encoder gave them (kept across failed transactions: encoders send each once). */
  readonly #wireLayouts = new Map<number, string>();
  /** The last host removal this store's id caches know of (store/migrations.ts, host_removals). */
  #removalEpoch = -1;

  readonly #commitDelayMs: number;

  constructor(opts: SqliteStoreOptions) {
    this.#path = opts.path;
    this.#commitDelayMs = opts.commitDelayMs ?? 0;
    if (opts.readonly !== true) mkdirSync(dirname(opts.path), { recursive: true });
    try {
      this.#db = new Database(opts.path, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
      this.#db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      if (opts.readonly !== true) {
        this.#db.pragma('journal_mode = WAL');
        this.#db.pragma(`synchronous = ${opts.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
        this.#db.pragma('journal_size_limit = 67108864');
        // Checkpoint every 256 WAL pages (1 MiB; SQLite's default is 1000): the checkpoint runs
        // inside the commit that crosses the mark, and at 10,000 snapshots a second the default
        // made commits of 100-170 ms, each holding back the acks of every batch waiting behind
        // it (ingest benchmark: ack p99 269 ms with 4000 pages, 204 ms with 250).
        this.#db.pragma('wal_autocheckpoint = 256');
        // 64 MiB of page cache (SQLite's default is 2 MiB): at 10,000 hosts the `latest` rows alone
        // (one ~3 KB row per page) take 40 MB, and every commit touches each host's page; with the
        // default cache each of those upserts read its page back from the file.
        this.#db.pragma(`cache_size = -${opts.cacheKib ?? 65536}`);
        this.#db.pragma('foreign_keys = ON');
        this.#migrate();
      }
    } catch (err) {
      if (err instanceof TcpfleetError) throw err;
      throw wrap(err, `cannot open database ${opts.path}`);
    }
    const db = this.#db;
    const p = (sql: string): Statement => db.prepare(sql);
    this.#ns = new NsStore(db, opts.readonly === true);
    this.#s =
      opts.readonly === true
        ? this.#readStatements(p)
        : {
            ...this.#readStatements(p),
            upsertHost: p(`INSERT INTO hosts (name, labels, interval_ms, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
                         ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, interval_ms = excluded.interval_ms,
                         last_seen = max(last_seen, excluded.last_seen) RETURNING id`),
            findHostId: p('SELECT id FROM hosts WHERE name = ?'),
            touchHosts: p('UPDATE hosts SET last_seen = max(last_seen, ?) WHERE id IN (SELECT value FROM json_each(?))'),
            insertBoot: p('INSERT INTO boots (host_id, boot) VALUES (?, ?) ON CONFLICT DO NOTHING'),
            findBoot: p('SELECT id FROM boots WHERE host_id = ? AND boot = ?'),
            insertLayout: p('INSERT INTO layouts (fields) VALUES (?) ON CONFLICT DO NOTHING'),
            findLayout: p('SELECT id FROM layouts WHERE fields = ?'),
            insertSnap: p(`INSERT INTO snapshots (host_id, boot_id, seq, ts, recv_ts, layout_id, vals, errors)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
            upsertLatest: p(`INSERT INTO latest (host_id, boot_id, seq, ts, recv_ts, layout_id, vals, errors, breakdown)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                           ON CONFLICT (host_id) DO UPDATE SET boot_id = excluded.boot_id, seq = excluded.seq, ts = excluded.ts,
                           recv_ts = excluded.recv_ts, layout_id = excluded.layout_id, vals = excluded.vals,
                           errors = excluded.errors, breakdown = excluded.breakdown
                           WHERE excluded.ts >= latest.ts`),
            insertGap: p(`INSERT INTO gaps (host_id, boot_id, from_seq, to_seq, count, ts, recv_ts) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET to_seq = max(to_seq, excluded.to_seq), count = max(count, excluded.count)`),
            putToken: p(`INSERT INTO tokens (host, hash, created, revoked) VALUES (?, ?, ?, NULL)
                       ON CONFLICT (host) DO UPDATE SET hash = excluded.hash, created = excluded.created, revoked = NULL`),
            revokeToken: p('UPDATE tokens SET revoked = ? WHERE host = ? AND revoked IS NULL'),
            removalEpoch: p('SELECT coalesce(max(id), 0) AS id FROM host_removals'),
            hostSilentSince: p('SELECT id FROM hosts WHERE name = ? AND last_seen < ?'),
            delLatest: p('DELETE FROM latest WHERE host_id = ?'),
            delSnapshots: p('DELETE FROM snapshots WHERE host_id = ?'),
            delRollup1m: p('DELETE FROM rollup_1m WHERE host_id = ?'),
            delRollup1h: p('DELETE FROM rollup_1h WHERE host_id = ?'),
            delGaps: p('DELETE FROM gaps WHERE host_id = ?'),
            delBoots: p('DELETE FROM boots WHERE host_id = ?'),
            delHost: p('DELETE FROM hosts WHERE id = ?'),
            addRemoval: p('INSERT INTO host_removals (host, at, purged) VALUES (?, ?, ?)'),
            pruneRemovals: p('DELETE FROM host_removals WHERE at < ?'),
          };
  }

  #readStatements(p: (sql: string) => Statement): Record<string, Statement> {
    return {
      latestAll: p(`SELECT h.name AS host, h.labels, h.last_seen, l.seq, l.ts, l.layout_id, l.vals, l.errors, l.breakdown, b.boot
                    FROM latest l JOIN hosts h ON h.id = l.host_id JOIN boots b ON b.id = l.boot_id ORDER BY h.name`),
      history: p(`SELECT s.seq, s.ts, s.recv_ts, s.layout_id, s.vals, s.errors, b.boot FROM snapshots s JOIN boots b ON b.id = s.boot_id
                  WHERE s.host_id = (SELECT id FROM hosts WHERE name = ?) AND s.ts >= ? AND s.ts < ? ORDER BY s.ts, s.seq LIMIT ?`),
      hostLabels: p('SELECT labels FROM hosts WHERE name = ?'),
      // Keyset reads of raw history (RawHistory): the (host_id, ts) index holds (boot_id, seq) too.
      ...rawHistoryStatements(p),
      layout: p('SELECT fields FROM layouts WHERE id = ?'),
      gapsAll: p(`SELECT h.name AS host, b.boot, g.from_seq, g.to_seq, g.count, g.ts, g.recv_ts FROM gaps g
                  JOIN hosts h ON h.id = g.host_id JOIN boots b ON b.id = g.boot_id WHERE g.recv_ts >= ? ORDER BY g.recv_ts`),
      gapsHost: p(`SELECT h.name AS host, b.boot, g.from_seq, g.to_seq, g.count, g.ts, g.recv_ts FROM gaps g
                   JOIN hosts h ON h.id = g.host_id JOIN boots b ON b.id = g.boot_id WHERE h.name = ? AND g.recv_ts >= ? ORDER BY g.recv_ts`),
      tokenHost: p('SELECT host FROM tokens WHERE hash = ? AND revoked IS NULL'),
      tokenValid: p('SELECT 1 AS ok FROM tokens WHERE host = ? AND hash = ? AND revoked IS NULL'),
      hostToken: p('SELECT 1 AS ok FROM tokens WHERE host = ? AND revoked IS NULL'),
      liveTokens: p('SELECT host, hash FROM tokens WHERE revoked IS NULL'),
      removals: p('SELECT id, host, at, purged FROM host_removals WHERE id > ? ORDER BY id LIMIT ?'),
      tokens: p('SELECT host, created, revoked FROM tokens ORDER BY host'),
    };
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new StorageError(`database ${this.#path} has schema version ${version}, newer than this collector (${MIGRATIONS.length}); upgrade tcpfleet`, 'SCHEMA', false);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v] ?? '');
        this.#db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** The underlying connection, for the modules that extend the schema (alerts, rollups). */
  get db(): Db {
    return this.#db;
  }

  #hostId(name: string, labels: Record<string, string>, intervalMs: number, recvTs: number): number {
    const labelsJson = JSON.stringify(labels);
    const row = this.#s['upsertHost']!.get(name, labelsJson, intervalMs, recvTs, recvTs) as { id: number };
    this.#hostRows.set(name, { id: row.id, labels, labelsJson, intervalMs });
    return row.id;
  }

  /**
   * The host's id; the host row is upserted only when the host is new to this process or its
   * labels or interval changed. Otherwise its id goes into `seen`, whose last_seen the commit
   * updates in one statement.
   */
  #hostIdCached(name: string, labels: Record<string, string>, intervalMs: number, recvTs: number, seen: number[]): number {
    const c = this.#hostRows.get(name);
    if (c !== undefined && c.intervalMs === intervalMs && (c.labels === labels || c.labelsJson === JSON.stringify(labels))) {
      c.labels = labels;
      seen.push(c.id);
      return c.id;
    }
    return this.#hostId(name, labels, intervalMs, recvTs);
  }

  #bootId(hostId: number, boot: string): number {
    const key = `${hostId}/${boot}`;
    let id = this.#bootIds.get(key);
    if (id === undefined) {
      this.#s['insertBoot']!.run(hostId, boot);
      id = (this.#s['findBoot']!.get(hostId, boot) as { id: number }).id;
      this.#bootIds.set(key, id);
    }
    return id;
  }

  #layoutId(text: string): number {
    let id = this.#layoutIds.get(text);
    if (id === undefined) {
      this.#s['insertLayout']!.run(text);
      id = (this.#s['findLayout']!.get(text) as { id: number }).id;
      this.#layoutIds.set(text, id);
    }
    return id;
  }

  #layout(id: number): Layout {
    let l = this.#layouts.get(id);
    if (l === undefined) {
      const row = this.#s['layout']!.get(id) as { fields: string } | undefined;
      l = parseLayout(row?.fields ?? '|');
      this.#layouts.set(id, l);
    }
    return l;
  }

  ingest(items: readonly IngestItem[], recvTs: number): Promise<IngestOutcome[]> {
    try {
      return Promise.resolve(this.ingestRows(this.#encoder.encode(items), recvTs));
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the synchronous store threw (an Error), passed on as is
      return Promise.reject(err);
    }
  }

  /**
   * Stores an encoded commit (store/ingest-rows.ts) in one transaction; all or nothing. The write
   * thread calls this directly. Throws StorageError.
   */
  ingestRows(rows: IngestRows, recvTs: number): IngestOutcome[] {
    for (const [id, text] of rows.layouts) this.#wireLayouts.set(id, text);
    const s = this.#s;
    const run = this.#db.transaction((): IngestOutcome[] => {
      this.#checkRemovals();
      // Per group commit, not per batch: each host's row is written once (last_seen of the hosts
      // whose labels and interval did not change in one UPDATE), and each host's `latest` row once,
      // with the newest snapshot of all its batches in this commit (the upsert's ts guard keeps the
      // result the same as one upsert per batch).
      const seen: number[] = [];
      const newestOf = new Map<number, NewestRow>();
      const nsAt = nsOffsets(rows.ns.count);
      const nsLayout = (wireId: number): number => this.#layoutId(this.#wireLayouts.get(wireId) ?? '|');
      let j = 0;
      const outcomes = rows.items.map((item): IngestOutcome => {
        const refused = this.#refusal(item.host, item.auth);
        if (refused !== null) {
          j += item.n;
          return { stored: 0, duplicates: 0, refused };
        }
        const hostId = this.#hostIdCached(item.host, item.labels, item.intervalMs, recvTs, seen);
        let stored = 0;
        let duplicates = 0;
        let newest = newestOf.get(hostId);
        for (let k = 0; k < item.n; k++, j++) {
          const bootId = this.#bootId(hostId, rows.boot[j]!);
          const layoutId = this.#layoutId(this.#wireLayouts.get(rows.layout[j]!) ?? '|');
          const at = rows.valsAt[j]!;
          const vals = rows.bytes.subarray(at, at + rows.valsLen[j]!);
          const ts = rows.ts[j]!;
          const r = s['insertSnap']!.run(hostId, bootId, rows.seq[j]!, ts, recvTs, layoutId, vals, rows.errors[j] ?? null);
          if (r.changes > 0) {
            stored++;
            if (rows.ns.count[j]! > 0) this.#ns.writeHistory(rows.ns, nsAt[j]!, j, { hostId, bootId, seq: rows.seq[j]!, ts, recvTs }, rows.bytes, nsLayout);
          } else duplicates++;
          if (newest === undefined) {
            newest = { j, ts, bootId, layoutId, vals };
            newestOf.set(hostId, newest);
          } else if (ts >= newest.ts) {
            newest.j = j;
            newest.ts = ts;
            newest.bootId = bootId;
            newest.layoutId = layoutId;
            newest.vals = vals;
          }
        }
        return { stored, duplicates };
      });
      if (seen.length > 0) s['touchHosts']!.run(recvTs, JSON.stringify(seen));
      for (const [hostId, n] of newestOf) {
        const bdLen = rows.bdLen[n.j]!;
        const breakdown = bdLen >= 0 ? rows.bytes.subarray(rows.bdAt[n.j], rows.bdAt[n.j]! + bdLen) : (rows.bdJson[n.j] ?? null);
        s['upsertLatest']!.run(hostId, n.bootId, rows.seq[n.j]!, n.ts, recvTs, n.layoutId, n.vals, rows.errors[n.j] ?? null, breakdown);
      }
      return outcomes;
    });
    const delayMs = this.#commitDelayMs;
    const delayed =
      delayMs > 0
        ? this.#db.transaction((): IngestOutcome[] => {
            const out = run();
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
            return out;
          })
        : run;
    try {
      return delayed.immediate();
    } catch (err) {
      // Ids cached during the failed transaction may not exist any more.
      this.#hostRows.clear();
      this.#bootIds.clear();
      this.#layoutIds.clear();
      this.#ns.clearCaches();
      throw wrap(err, 'cannot store batch');
    }
  }

  recordGap(g: GapRecord, auth?: WriteAuth): Promise<void> {
    try {
      this.recordGapSync(g, auth);
      return Promise.resolve();
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the synchronous store threw (an Error), passed on as is
      return Promise.reject(err);
    }
  }

  /** recordGap for the write thread; throws StorageError. */
  recordGapSync(g: GapRecord, auth?: WriteAuth): void {
    try {
      this.#db
        .transaction(() => {
          this.#checkRemovals();
          if (this.#refusal(g.host, auth) !== null) return;
          const hostId = this.#hostRows.get(g.host)?.id ?? (this.#s['findHostId']!.get(g.host) as { id: number } | undefined)?.id;
          if (hostId === undefined) return;
          this.#s['insertGap']!.run(hostId, this.#bootId(hostId, g.boot), g.from_seq, g.to_seq, g.count, g.ts, g.recv_ts);
        })
        .immediate();
    } catch (err) {
      this.#bootIds.clear();
      throw wrap(err, 'cannot store gap');
    }
  }

  /**
   * Drops the cached host and boot ids when a host was removed since the last transaction (a
   * purge deletes its rows; ids cached for it would point at nothing). One index lookup.
   */
  #checkRemovals(): void {
    const epoch = (this.#s['removalEpoch']!.get() as { id: number }).id;
    if (epoch === this.#removalEpoch) return;
    this.#removalEpoch = epoch;
    this.#ns.clearCaches();
    this.#hostRows.clear();
    this.#bootIds.clear();
  }

  /** Why a batch may not be stored under its credential any more, or null (inside the commit). */
  #refusal(host: string, auth: WriteAuth | undefined): IngestRefusal | null {
    if (auth === undefined) return null;
    if (auth.kind === 'host') return this.#s['tokenValid']!.get(host, auth.hash) === undefined ? 'REVOKED' : null;
    return this.#s['hostToken']!.get(host) === undefined ? null : 'HOST_HAS_TOKEN';
  }

  #toSnapshot(host: string, labels: Record<string, string>, row: SnapRow, breakdown: Uint8Array | string | null): StoredSnapshot {
    return storedSnapshot(host, labels, row, this.#layout(row.layout_id), breakdown);
  }

  latest(): Promise<StoredSnapshot[]> {
    const rows = this.#s['latestAll']!.all() as (SnapRow & { host: string; labels: string; last_seen: number; breakdown: Uint8Array | string | null })[];
    const ns = this.#ns.latest(this.#snmpNames);
    return Promise.resolve(
      rows.map((r) => {
        const snap = this.#toSnapshot(r.host, JSON.parse(r.labels) as Record<string, string>, { ...r, recv_ts: r.last_seen }, r.breakdown);
        const entries = ns.get(r.host);
        if (entries !== undefined) snap.namespaces = entries;
        return snap;
      }),
    );
  }

  /** The counter names of a namespace entry layout. */
  readonly #snmpNames = (layoutId: number): readonly string[] => this.#layout(layoutId).snmp;

  namespaceSeries(host: string): Promise<NsSeries[]> {
    return Promise.resolve(this.#ns.series(host));
  }

  namespaceHistory(host: string, netns: number, since: number, until: number, limit: number): Promise<NsStoredEntry[]> {
    return Promise.resolve(this.nsRawSlice(host, netns, [since - 1, Infinity, Infinity], [until - 1, Infinity, Infinity], limit).rows);
  }

  nsRawSeek(host: string, netns: number, after: RawKey, until: number, n: number): { count: number; last: RawKey | null } {
    return this.#ns.rawSeek(host, netns, after, until, n);
  }

  nsRawAny(host: string, netns: number, after: RawKey, until: number): boolean {
    return this.#ns.rawAny(host, netns, after, until);
  }

  nsRawSlice(host: string, netns: number, after: RawKey, end: RawKey, n: number): { rows: NsStoredEntry[]; last: RawKey | null } {
    return this.#ns.rawSlice(host, netns, after, end, n, this.#snmpNames);
  }

  history(host: string, since: number, until: number, limit: number): Promise<StoredSnapshot[]> {
    const labelsRow = this.#s['hostLabels']!.get(host) as { labels: string } | undefined;
    if (labelsRow === undefined) return Promise.resolve([]);
    const labels = JSON.parse(labelsRow.labels) as Record<string, string>;
    const rows = this.#s['history']!.all(host, since, until, limit) as SnapRow[];
    return Promise.resolve(rows.map((r) => this.#toSnapshot(host, labels, r, null)));
  }

  rawSeek(host: string, after: RawKey, until: number, n: number): { count: number; last: RawKey | null } {
    return rawSeekWith(this.#s, 'raw', [host], after, until, n);
  }

  rawAny(host: string, after: RawKey, until: number): boolean {
    return this.#s['rawKeyAt']!.get(host, ...after, until, 0) !== undefined;
  }

  rawSlice(host: string, after: RawKey, end: RawKey, n: number): { rows: StoredSnapshot[]; last: RawKey | null } {
    const labelsRow = this.#s['hostLabels']!.get(host) as { labels: string } | undefined;
    if (labelsRow === undefined) return { rows: [], last: null };
    const labels = JSON.parse(labelsRow.labels) as Record<string, string>;
    const rows: StoredSnapshot[] = [];
    let last: KeyRow | null = null;
    for (const r of this.#s['rawSlice']!.iterate(host, ...after, ...end, n) as IterableIterator<SnapRow & KeyRow>) {
      rows.push(this.#toSnapshot(host, labels, r, null));
      last = r;
    }
    return { rows, last: last === null ? null : [last.ts, last.boot_id, last.seq] };
  }

  gaps(host: string | null, since: number): Promise<GapRecord[]> {
    const rows = host === null ? this.#s['gapsAll']!.all(since) : this.#s['gapsHost']!.all(host, since);
    return Promise.resolve(rows as GapRecord[]);
  }

  putToken(host: string, hash: string, now: number): Promise<void> {
    this.#s['putToken']!.run(host, hash, now);
    return Promise.resolve();
  }

  revokeToken(host: string, now: number): Promise<boolean> {
    return Promise.resolve(this.#s['revokeToken']!.run(now, host).changes > 0);
  }

  hostForToken(hash: string): Promise<string | null> {
    const row = this.#s['tokenHost']!.get(hash) as { host: string } | undefined;
    return Promise.resolve(row?.host ?? null);
  }

  listTokens(): Promise<TokenInfo[]> {
    return Promise.resolve(this.#s['tokens']!.all() as TokenInfo[]);
  }

  hostHasToken(host: string): Promise<boolean> {
    return Promise.resolve(this.#s['hostToken']!.get(host) !== undefined);
  }

  liveTokens(): Promise<Map<string, string>> {
    const rows = this.#s['liveTokens']!.all() as { host: string; hash: string }[];
    return Promise.resolve(new Map(rows.map((r) => [r.host, r.hash])));
  }

  removeHost(host: string, o: { purge: boolean; now: number; silentBefore?: number }): Promise<RemoveOutcome> {
    const s = this.#s;
    try {
      const out = this.#db
        .transaction((): RemoveOutcome => {
          const none = { found: false, latest: 0, snapshots: 0, rollups: 0, gaps: 0, namespaces: 0 };
          const row = (o.silentBefore === undefined ? s['findHostId']!.get(host) : s['hostSilentSince']!.get(host, o.silentBefore)) as { id: number } | undefined;
          if (row === undefined) return none;
          const id = row.id;
          const nsGone = this.#ns.remove(id, o.purge);
          const result = { found: true, latest: s['delLatest']!.run(id).changes, snapshots: 0, rollups: 0, gaps: 0, namespaces: nsGone.latest + nsGone.snapshots + nsGone.rollups };
          if (o.purge) {
            result.gaps = s['delGaps']!.run(id).changes;
            result.snapshots = s['delSnapshots']!.run(id).changes;
            result.rollups = s['delRollup1m']!.run(id).changes + s['delRollup1h']!.run(id).changes;
            s['delBoots']!.run(id);
            s['delHost']!.run(id);
          }
          s['pruneRemovals']!.run(o.now - 7 * 86_400_000);
          s['addRemoval']!.run(host, o.now, o.purge ? 1 : 0);
          return result;
        })
        .immediate();
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(wrap(err, `cannot remove host ${host}`));
    }
  }

  removalsSince(afterId: number, limit: number): Promise<HostRemoval[]> {
    const rows = this.#s['removals']!.all(afterId, limit) as { id: number; host: string; at: number; purged: number }[];
    return Promise.resolve(rows.map((r) => ({ id: r.id, host: r.host, at: r.at, purged: r.purged === 1 })));
  }

  stats(): Promise<DbStats> {
    try {
      return Promise.resolve(sqliteStats(this.#db, this.#path));
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the synchronous store threw (an Error), passed on as is
      return Promise.reject(err);
    }
  }

  readonly driver = 'sqlite' as const;

  reachable(): boolean {
    return true;
  }

  get where(): string {
    return this.#path;
  }

  #readTokens: ReadTokens | null = null;
  get readTokens(): ReadTokens {
    return (this.#readTokens ??= sqliteReadTokens(this.#db));
  }

  /** The alert tables live in this database (created if missing); the engine's writes are durable when its call returns. */
  openAlerts(): Promise<AlertStore> {
    return Promise.resolve(new SqliteAlertStore(this.#db));
  }

  readAlerts(all: boolean, limit: number): Promise<AlertRecord[]> {
    return Promise.resolve(readSqliteAlerts(this.#db, all, limit));
  }

  rollupJob(o: RollupJobOptions): RollupService | null {
    return new RollupJob(this.#db, o);
  }

  historyPages(rawRetentionMs: number, log: Logger): HistoryPages {
    return new ReadThread({ path: this.#path, rawRetentionMs }, log);
  }

  close(): Promise<void> {
    if (this.#db.open) {
      if (!this.#db.readonly) {
        try {
          this.#db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // A reader holding the WAL open only delays the checkpoint.
        }
      }
      this.#db.close();
    }
    return Promise.resolve();
  }
}
