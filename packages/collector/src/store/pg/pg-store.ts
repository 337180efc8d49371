/**
 * The PostgreSQL store (`serve --db postgres://USER@HOST:PORT/DB`): any number of collectors on
 * one database. Nothing another collector must see lives only in this process: host rows, boots,
 * layouts, tokens, removals, rollup state and late-minute marks are all in the database; the
 * process caches only ids that never change (boots and layouts are never deleted).
 *
 * Writes are batched: one group commit is one statement over arrays (unnest), whatever the number
 * of snapshots, or a transaction of a few such statements when it needs ids read first
 * (#ingestRows); duplicates are ignored by key (ON CONFLICT DO NOTHING). The ack still goes out
 * only after the commit returned. A lost connection, a restarting
 * server or a statement timeout refuse the batch as retryable (its agent sends it again; the key
 * keeps it from being stored twice, also when the COMMIT did land before the connection broke).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { parseLayout } from '@tcpfleet/common';
import type { Layout } from '@tcpfleet/common';
import type { PoolClient, QueryConfig } from 'pg';
import { RowEncoder } from '../ingest-rows.js';
import type { IngestRows } from '../ingest-rows.js';
import { packedStoredSnapshot, storedSnapshot } from '../stored-row.js';
import type { StoredRow } from '../stored-row.js';
import { StorageError } from '../storage-error.js';
import type {
  DbStats,
  GapRecord,
  HistoryPages,
  HostRemoval,
  IngestItem,
  IngestOutcome,
  IngestRefusal,
  RemoveOutcome,
  ResolutionStats,
  RollupJobOptions,
  RollupService,
  Store,
  StoredSnapshot,
  TokenInfo,
  WriteAuth,
} from '../store.js';
import { RESOLUTION_TABLES, rolledUntil } from '../store.js';
import type { NsSeries, NsStoredEntry } from '../store.js';
import type { AlertRecord, AlertStore } from '../../alerts/alert-store.js';
import { PgDb } from './pg-db.js';
import { int8ArrayParam, textArrayParam } from './pg-arrays.js';
import { BatchedLookup } from './pg-lookups.js';
import type { PgDbOptions } from './pg-db.js';
import { PG_MIGRATIONS } from './pg-schema.js';
import { Partitions } from './pg-partitions.js';
import { PgReadTokens } from './pg-read-tokens.js';
import { PgAlertStore, readPgAlerts } from './pg-alerts.js';
import { PgRollupJob } from './pg-rollups.js';
import { PgHistoryPages } from './pg-history.js';
import { nsLatest, nsRawRows, nsRemove, nsSeries, nsWrite } from './pg-namespaces.js';
import { ingestStatement, outcomes, refusalOf, storedRows } from './pg-ingest.js';
import type { HostRowState, IngestAnswer, IngestContext, IngestStatement, Selection } from './pg-ingest.js';

/** Ingest statement texts given a name (prepared once per connection); twelve shapes exist (token check or not, x host rows none, all or checked, x latest rows or not). */
const MAX_INGEST_SHAPES = 16;

/** Hosts whose latest rows one read of a fleet sync pass takes (PgStore.#movedRows). */
export const MOVED_CHUNK = 500;

export interface PgStoreOptions extends PgDbOptions {
  /** Commands that only read: no migration. */
  readonly?: boolean;
}

/**
 * PgStore.hostSeenStepMs's default: a host's row is rewritten at most every 30 s while its labels
 * and interval stay (the latest row carries the exact receive time: PgStore.latest reads
 * greatest(h.last_seen, l.recv_ts)).
 */
export const HOST_SEEN_STEP_MS = 30_000;

/** Whether the caller holds `host` at snapshot time `ts` or newer (the fleet sync: Fleet.known), told the row's receive time. */
export type HaveRow = (host: string, ts: number, recvTs: number) => boolean;

/** A snapshot row with its host's name and labels and the latest row's breakdown columns. */
type LatestRow = Omit<StoredRow, 'boot'> & {
  host: string;
  labels: string;
  last_seen: number;
  boot_id: number;
  layout_id: number;
  breakdown: Buffer | null;
  breakdown_json: string | null;
  /** The fleet sync's read: whether the snapshot has namespace entries (read only then: no round trip per chunk for hosts without). */
  ns?: boolean;
};

export class PgStore implements Store {
  readonly driver = 'postgres' as const;
  /** This collector process among those on the database: written into each latest row it upserts (latest.writer). */
  readonly writer = randomBytes(8).toString('hex');
  readonly db: PgDb;
  readonly partitions: Partitions;
  readonly readTokens: PgReadTokens;
  readonly #encoder = new RowEncoder();
  /** Layout texts by the id this store's encoder gave them. */
  readonly #wireLayouts = new Map<number, string>();
  /** Database layout ids by text, and parsed layouts by id (layouts never change or go). */
  readonly #layoutIds = new Map<string, number>();
  readonly #layouts = new Map<number, Layout>();
  /** Boot ids by host, then boot (boots never go). */
  readonly #bootIds = new Map<string, Map<string, number>>();
  /** The hosts row this collector last wrote for each host: labels (JSON), interval and last_seen. */
  readonly #hostRows = new Map<string, { labels: string; interval: number; seen: number }>();
  /**
   * A host's row is rewritten when it is new to this collector, its labels or interval changed,
   * or the last_seen this collector wrote is this old (ms). 0: for every snapshot (last_seen exact).
   * Readers of hosts.last_seen see it up to this much behind (docs/storage.md, "Writes").
   */
  hostSeenStepMs = HOST_SEEN_STEP_MS;
  #timer: NodeJS.Timeout | null = null;
  readonly #log: Logger | undefined;

  private constructor(db: PgDb, log: Logger | undefined) {
    this.db = db;
    this.#log = log;
    this.partitions = new Partitions(db);
    this.readTokens = new PgReadTokens(db);
  }

  /** Connects, migrates (unless read-only) and creates the partitions of today and the next two days. */
  static async open(url: string, o: PgStoreOptions & { log?: Logger | undefined } = {}): Promise<PgStore> {
    const db = new PgDb(url, o);
    const store = new PgStore(db, o.log);
    try {
      await db.query('SELECT 1', [], `cannot connect to PostgreSQL at ${db.where}`);
      if (o.readonly !== true) await store.#migrate();
      else {
        const v = await db.query("SELECT 1 FROM pg_class WHERE relname = 'tcpfleet_schema'");
        if (v.length === 0) throw new StorageError(`${db.where} is not a tcpfleet database (no tcpfleet_schema table; tcpfleet serve --db URL creates it)`, 'SCHEMA', false);
      }
      await store.partitions.load();
      await store.readTokens.refresh();
      if (o.readonly !== true) {
        await store.partitions.ahead(Date.now());
        store.#timer = setInterval(() => {
          store.partitions.ahead(Date.now()).catch((err: unknown) => o.log?.warn({ err: (err as Error).message }, 'cannot create the next partitions; retried in an hour'));
        }, 3_600_000);
        store.#timer.unref();
      }
    } catch (err) {
      await db.end().catch(() => undefined);
      throw db.wrap(err, `cannot open PostgreSQL at ${db.where}`);
    }
    db.watch();
    return store;
  }

  get where(): string {
    return this.db.where;
  }

  reachable(): boolean {
    return !this.db.down;
  }

  async #migrate(): Promise<void> {
    await this.db.tx('cannot migrate the database', async (c) => {
      // One collector at a time; the others wait here and find the schema done.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('tcpfleet-migrate'))");
      await c.query('CREATE TABLE IF NOT EXISTS tcpfleet_schema (version integer NOT NULL)');
      const rows = (await c.query<{ version: number }>('SELECT version FROM tcpfleet_schema')).rows;
      const version = rows[0]?.version ?? 0;
      if (rows.length === 0) await c.query('INSERT INTO tcpfleet_schema (version) VALUES (0)');
      if (version > PG_MIGRATIONS.length)
        throw new StorageError(`database ${this.where} has schema version ${version}, newer than this collector (${PG_MIGRATIONS.length}); upgrade tcpfleet`, 'SCHEMA', false);
      for (let v = version; v < PG_MIGRATIONS.length; v++) await c.query(PG_MIGRATIONS[v] ?? '');
      await c.query('UPDATE tcpfleet_schema SET version = $1', [PG_MIGRATIONS.length]);
    });
  }

  async #layoutIdsFor(c: PoolClient, texts: readonly string[]): Promise<Map<string, number>> {
    // Sorted: commits in flight side by side (and other collectors) take the unique keys in one order.
    const missing = [...new Set(texts)].filter((t) => !this.#layoutIds.has(t)).sort();
    const fresh = new Map<string, number>();
    if (missing.length > 0) {
      await c.query('INSERT INTO layouts (fields) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [missing]);
      for (const r of (await c.query<{ id: number; fields: string }>('SELECT id, fields FROM layouts WHERE fields = ANY($1::text[])', [missing])).rows) fresh.set(r.fields, r.id);
    }
    return fresh;
  }

  /**
   * The ids of boots not cached yet (`missing`: boots by host), inserted when new; in host then boot
   * order, so commits in flight side by side (and other collectors) take the unique keys in one order.
   */
  async #bootIdsFor(c: PoolClient, missing: ReadonlyMap<string, ReadonlySet<string>>): Promise<Map<string, Map<string, number>>> {
    const fresh = new Map<string, Map<string, number>>();
    if (missing.size === 0) return fresh;
    const hosts: string[] = [];
    const boots: string[] = [];
    for (const h of [...missing.keys()].sort())
      for (const b of [...missing.get(h)!].sort()) {
        hosts.push(h);
        boots.push(b);
      }
    await c.query('INSERT INTO boots (host, boot) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [hosts, boots]);
    const rows = await c.query<{ host: string; boot: string; id: number }>(
      'SELECT b.host, b.boot, b.id FROM boots b JOIN unnest($1::text[], $2::text[]) AS u(h, bt) ON b.host = u.h AND b.boot = u.bt',
      [hosts, boots],
    );
    for (const r of rows.rows) setIn(fresh, r.host, r.boot, r.id);
    return fresh;
  }

  /** Boot ids read in a transaction that committed, cached. */
  #keepBoots(fresh: ReadonlyMap<string, ReadonlyMap<string, number>>): void {
    for (const [h, m] of fresh) for (const [b, id] of m) setIn(this.#bootIds, h, b, id);
  }

  /**
   * Labels as the JSON text of the host row, made once per labels object: a session's batches
   * all carry the one object its hello gave (labels are replaced, never changed in place).
   */
  readonly #labelTexts = new WeakMap<Record<string, string>, string>();
  #labelText(labels: Record<string, string>): string {
    let t = this.#labelTexts.get(labels);
    if (t === undefined) this.#labelTexts.set(labels, (t = JSON.stringify(labels)));
    return t;
  }

  /** Why a batch may not be stored under its credential any more (inside the commit), by host. */
  async #refusals(c: PoolClient, items: readonly { host: string; auth?: WriteAuth | undefined }[]): Promise<Map<string, string>> {
    const asked = new Set<string>();
    for (const i of items) if (i.auth !== undefined) asked.add(i.host);
    const hosts = [...asked];
    if (hosts.length === 0) return new Map();
    // FOR SHARE: a token command waits for this commit, or this commit sees its change.
    const rows = await c.query<{ host: string; hash: string }>('SELECT host, hash FROM tokens WHERE revoked IS NULL AND host = ANY($1::text[]) FOR SHARE', [textArrayParam(hosts)]);
    return new Map(rows.rows.map((r) => [r.host, r.hash]));
  }

  /**
   * An ingest statement as a query, named for the shape of its text (prepared under that name).
   * The statement has a handful of shapes (whether host rows and latest rows go in, whether every
   * host row is rewritten, whether it checks the credentials); each connection parses a shape
   * once and then only binds and runs it (node-postgres prepares a named statement on a
   * connection the first time it is used there). After five runs PostgreSQL keeps
   * a generic plan: a custom plan of this statement, made for each commit's arrays, took 24 ms of
   * the server's CPU at 900 rows a commit (pg_stat_statements, bench/fleet-pg.mjs), the generic
   * plan 2 ms on average over the run's commits (its first five plans included).
   */
  readonly #statementNames = new Map<string, string>();
  #statementConfig(st: IngestStatement): QueryConfig {
    let name = this.#statementNames.get(st.text);
    // Bounded: a text outside the known shapes (never seen here) would go unnamed, parsed each time.
    if (name === undefined && this.#statementNames.size < MAX_INGEST_SHAPES) this.#statementNames.set(st.text, (name = `tcpfleet-ingest-${this.#statementNames.size}`));
    return name === undefined ? { text: st.text, values: st.params } : { name, text: st.text, values: st.params };
  }

  ingest(items: readonly IngestItem[], recvTs: number): Promise<IngestOutcome[]> {
    const rows = this.#encoder.encode(items);
    for (const [id, text] of rows.layouts) this.#wireLayouts.set(id, text);
    return this.#ingestRows(rows, recvTs, true);
  }

  /**
   * A commit. Usually one statement in one round trip (its own implicit transaction: no BEGIN or
   * COMMIT): when every boot and layout of the commit has its id here already and no snapshot
   * carries namespace entries, the credentials are checked inside the statement (a guard that
   * writes nothing when any of them changed) and the statement is the whole commit. Otherwise, and
   * when the guard found a change, the commit is a transaction of several statements: the
   * credentials read first (refusals), new boots and layouts, the rows, the namespace entries.
   */
  async #ingestRows(rows: IngestRows, recvTs: number, retryPartition: boolean): Promise<IngestOutcome[]> {
    await this.partitions.ensure(rows.ts);
    try {
      if (rows.ns.netns.length === 0) {
        const sel = this.#select(rows, null);
        if (sel.missingBoots.size === 0 && this.#layoutsKnown(sel.wireIds)) {
          const out = await this.#commitOnce(rows, recvTs, sel);
          if (out !== null) return out;
        }
      }
      return await this.#commitTx(rows, recvTs);
    } catch (err) {
      // A partition another collector dropped (an old snapshot): create it and try once more.
      if (retryPartition && err instanceof StorageError && err.sqliteCode === '23514') {
        this.partitions.forget();
        await this.partitions.load();
        return this.#ingestRows(rows, recvTs, false);
      }
      throw err;
    }
  }

  /** Whether every layout of these encoder ids has its database id here. */
  #layoutsKnown(wireIds: ReadonlySet<number>): boolean {
    for (const id of wireIds) if (!this.#layoutIds.has(this.#wireText(id))) return false;
    return true;
  }

  #wireText(id: number): string {
    return this.#wireLayouts.get(id) ?? '|';
  }

  /** What the ingest statement reads of this store (pg-ingest.ts). */
  get #ingestContext(): IngestContext {
    return {
      writer: this.writer,
      hostSeenStepMs: this.hostSeenStepMs,
      hostRows: this.#hostRows,
      labelText: (labels) => this.#labelText(labels),
      layoutIds: this.#layoutIds,
      wireText: (id) => this.#wireText(id),
      bootIds: this.#bootIds,
    };
  }

  /** The one-statement commit; null when its guard found a credential changed (nothing written). */
  async #commitOnce(rows: IngestRows, recvTs: number, sel: Selection): Promise<IngestOutcome[] | null> {
    const st = ingestStatement(this.#ingestContext, rows, recvTs, sel, new Map(), new Map(), true);
    const answer = await this.db.once<IngestAnswer>(this.#statementConfig(st), 'cannot store batch');
    if (answer.find((r) => r.n !== null)?.ok === false) return null;
    for (const [k, v] of st.wroteHosts) this.#hostRows.set(k, v);
    return outcomes(rows, sel, storedRows(answer, st.col));
  }

  /** The commit as a transaction: credentials read first, then boots and layouts not known yet, the rows, the namespace entries. */
  async #commitTx(rows: IngestRows, recvTs: number): Promise<IngestOutcome[]> {
    let newBoots = new Map<string, Map<string, number>>();
    const newLayouts = new Map<string, number>();
    let wroteHosts = new Map<string, HostRowState>();
    const out = await this.db.tx('cannot store batch', async (c) => {
      const sel = this.#select(rows, await this.#refusals(c, rows.items));
      if (sel.take.length === 0 && sel.hostItem.size === 0) return outcomes(rows, sel, []);
      newBoots = await this.#bootIdsFor(c, sel.missingBoots);
      for (const [k, v] of await this.#layoutIdsFor(
        c,
        [...sel.wireIds].map((id) => this.#wireText(id)),
      ))
        newLayouts.set(k, v);
      const st = ingestStatement(this.#ingestContext, rows, recvTs, sel, newBoots, newLayouts, false);
      wroteHosts = st.wroteHosts;
      const answer = await c.query<IngestAnswer>(this.#statementConfig(st));
      // Whether each row taken was stored now (a row twice in one commit: its first time only).
      const stored = storedRows(answer.rows, st.col);
      // The namespace entries of the snapshots stored now (a replay stores none of its entries again).
      if (rows.ns.netns.length > 0) {
        const nsOf = sel.take.flatMap((j, t) => (stored[t] ? [{ j, host: st.col.host[t]!, bootId: st.col.boot[t]! }] : []));
        await nsWrite(c, rows, nsOf, recvTs, Buffer.from(rows.bytes.buffer, rows.bytes.byteOffset, rows.bytes.length), (id) => st.dbLayout.get(id)!);
      }
      return outcomes(rows, sel, stored);
    });
    this.#keepBoots(newBoots);
    for (const [k, v] of newLayouts) this.#layoutIds.set(k, v);
    for (const [k, v] of wroteHosts) this.#hostRows.set(k, v);
    return out;
  }

  /**
   * Which rows of the commit go in: those of the items whose credential holds by `live` (the
   * hosts' live token hashes read in the transaction; null: every credential assumed to hold, the
   * statement's guard checks them), and the boots not cached yet.
   */
  #select(rows: IngestRows, live: ReadonlyMap<string, string> | null): Selection {
    const take: number[] = [];
    const hostOfRow: string[] = [];
    const hostItem = new Map<string, IngestRows['items'][number]>();
    const refused: (IngestRefusal | null)[] = [];
    const missingBoots = new Map<string, Set<string>>();
    const wireIds = new Set<number>();
    let j = 0;
    for (const item of rows.items) {
      const r = live === null ? null : refusalOf(live, item.host, item.auth);
      refused.push(r);
      if (r !== null) {
        j += item.n;
        continue;
      }
      const known = this.#bootIds.get(item.host);
      for (let k = 0; k < item.n; k++, j++) {
        take.push(j);
        hostOfRow[j] = item.host;
        wireIds.add(rows.layout[j]!);
        const boot = rows.boot[j]!;
        if (known?.has(boot) !== true) {
          let m = missingBoots.get(item.host);
          if (m === undefined) missingBoots.set(item.host, (m = new Set()));
          m.add(boot);
        }
      }
      hostItem.set(item.host, item);
    }
    for (const id of rows.ns.layout) wireIds.add(id);
    return { take, hostOfRow, hostItem, refused, missingBoots, wireIds };
  }

  async recordGap(g: GapRecord, auth?: WriteAuth): Promise<void> {
    const boots = await this.db.tx('cannot store gap', async (c) => {
      const live = await this.#refusals(c, [{ host: g.host, auth }]);
      if (refusalOf(live, g.host, auth) !== null) return null;
      const h = await c.query('SELECT 1 FROM hosts WHERE host = $1', [g.host]);
      if (h.rows.length === 0) return null;
      const known = this.#bootIds.get(g.host)?.get(g.boot);
      const fresh = known === undefined ? await this.#bootIdsFor(c, new Map([[g.host, new Set([g.boot])]])) : new Map<string, Map<string, number>>();
      const bootId = known ?? fresh.get(g.host)!.get(g.boot)!;
      await c.query(
        `INSERT INTO gaps (host, boot_id, from_seq, to_seq, count, ts, recv_ts) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (host, boot_id, from_seq) DO UPDATE SET to_seq = greatest(gaps.to_seq, excluded.to_seq), count = greatest(gaps.count, excluded.count)`,
        [g.host, bootId, g.from_seq, g.to_seq, g.count, g.ts, g.recv_ts],
      );
      return fresh;
    });
    if (boots !== null) this.#keepBoots(boots);
  }

  /** A layout by its database id (read once). */
  async layout(id: number): Promise<Layout> {
    let l = this.#layouts.get(id);
    if (l === undefined) {
      const rows = await this.db.query<{ fields: string }>('SELECT fields FROM layouts WHERE id = $1', [id]);
      l = parseLayout(rows[0]?.fields ?? '|');
      this.#layouts.set(id, l);
    }
    return l;
  }

  /** Rows of snapshots back into snapshots (layouts read as needed). */
  async toSnapshots(host: string, labels: Record<string, string>, rows: readonly (StoredRow & { layout_id: number })[]): Promise<StoredSnapshot[]> {
    const out: StoredSnapshot[] = [];
    for (const r of rows) out.push(storedSnapshot(host, labels, r, await this.layout(r.layout_id), null));
    return out;
  }

  /**
   * Each host's latest row; with `since`, only hosts a collector received something from at or
   * after it, and with `othersOnly`, only rows another collector wrote (cluster/fleet-sync.ts: this
   * collector's own rows are in its fleet already). The namespace entries are read for the hosts
   * returned only. With `packed`, each row is a PackedSnapshot whose counters and breakdown stay in
   * their bytes (store/stored-row.ts packedStoredSnapshot: what the fleet keeps, ~2 KB of heap a
   * host instead of ~10 KB); without, plain objects (spread and compared as they are).
   *
   * With `have` (the fleet sync: Fleet.known), the keys of the rows are read first (host, ts,
   * last receive time: no values, no breakdown) and `have` is asked for each; only the rows it does
   * not hold are read whole and decoded, by host. Boot names and parsed labels are kept here (boots
   * never change; labels are parsed again only when a host's text changes), so a row's read joins
   * only its host. With `fromLog` as well (and `since` and `othersOnly`), the keys come from
   * sync_log, the hosts and snapshot times the other collectors' commits received since `since`
   * moved, instead of from every host's latest row: a pass costs what moved, not one probe per
   * host of the fleet. Rows written by a collector that keeps no log (a version before schema 5,
   * during a rolling upgrade) are found only by a pass without it. With `each` as well, the rows
   * go to it in chunks of up to MOVED_CHUNK, each decoded and handed on before the next is read,
   * and the answer is empty.
   */
  async latest(since?: number, o: { othersOnly?: boolean; packed?: boolean; have?: HaveRow; fromLog?: boolean; each?: (rows: StoredSnapshot[]) => void } = {}): Promise<StoredSnapshot[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (since !== undefined) where.push(`greatest(h.last_seen, l.recv_ts) >= $${params.push(since)}`);
    if (o.othersOnly === true) where.push(`l.writer IS DISTINCT FROM $${params.push(this.writer)}`);
    const packed = o.packed === true;
    if (o.have !== undefined) {
      const out: StoredSnapshot[] = [];
      const each = o.each ?? ((rows: StoredSnapshot[]) => void out.push(...rows));
      const logSince = o.fromLog === true && since !== undefined && o.othersOnly === true ? since : null;
      await this.#movedRows(where, params, o.have, logSince, async (rows) =>
        each(
          await this.#snapshotsOf(
            rows,
            packed,
            rows.filter((r) => r.ns === true),
          ),
        ),
      );
      return out;
    }
    const rows = await this.db.query<LatestRow>(
      `SELECT h.host, h.labels, greatest(h.last_seen, l.recv_ts) AS last_seen, l.boot_id, l.seq, l.ts, l.layout_id, l.vals, l.errors, l.breakdown, l.breakdown_json
       FROM latest l JOIN hosts h ON h.host = l.host${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY h.host`,
      params,
    );
    return this.#snapshotsOf(rows, packed, where.length === 0 ? undefined : rows);
  }

  /** Latest rows as snapshots, with the namespace entries of `nsOf` (undefined: of every host). */
  async #snapshotsOf(rows: readonly LatestRow[], packed: boolean, nsOf: readonly LatestRow[] | undefined): Promise<StoredSnapshot[]> {
    const ns = await nsLatest(this.db, this.#snmpNames, nsOf);
    await this.#bootNamesOf(rows);
    const out: StoredSnapshot[] = [];
    for (const r of rows) {
      const row: StoredRow = { seq: r.seq, ts: r.ts, recv_ts: r.last_seen, vals: r.vals, errors: r.errors, boot: this.#bootNames.get(r.boot_id) ?? '' };
      const snap = (packed ? packedStoredSnapshot : storedSnapshot)(
        r.host,
        this.#labelsOf(r.host, r.labels),
        row,
        this.#layouts.get(r.layout_id) ?? (await this.layout(r.layout_id)),
        r.breakdown ?? r.breakdown_json,
      );
      const entries = ns.get(r.host);
      if (entries !== undefined) snap.namespaces = entries;
      out.push(snap);
    }
    return out;
  }

  /**
   * latest() with `have`: the keys, then the rows `have` does not hold, by host, in chunks of
   * MOVED_CHUNK hosts, each handed to `take` (decoded and merged by the fleet sync) before the
   * next is read; a row says whether its snapshot has namespace entries (`ns`), which are then
   * read for those rows only. A pass at 10,000 agents a second moves ~5,000 hosts of another
   * collector: read and decoded at once they were some 10-20 MB alive together (an estimate),
   * more than the young generation holds, and the leader ran twice as many full GCs as
   * without them (bench/NOTES.md, fourteenth session). A pass that fails after some chunks keeps
   * what it merged; the next one starts from the same look. Both reads go from each host to its
   * latest row by key (a LATERAL subquery, which the planner does not turn into a hash join):
   * `latest` is rewritten ~10,000 times a second at full load and carries dead row versions until
   * vacuumed (hundreds of MB), which a join scanning it whole read on every pass. JIT is off for them (SET LOCAL): the planner's estimates over those tables cross
   * jit_above_cost, and compiling took longer than running.
   */
  async #movedRows(where: readonly string[], params: readonly unknown[], have: HaveRow, logSince: number | null, take: (rows: LatestRow[]) => Promise<void>): Promise<void> {
    await this.db.tx('cannot read the latest rows', async (c) => {
      await c.query('SET LOCAL jit = off');
      const keys =
        logSince !== null
          ? await c.query<{ host: string; ts: number; last_seen: number }>(
              'SELECT u.host, max(u.ts) AS ts, max(s.at) AS last_seen FROM sync_log s CROSS JOIN LATERAL unnest(s.hosts, s.ts) AS u(host, ts) WHERE s.at >= $1 AND s.writer <> $2 GROUP BY u.host',
              [logSince, this.writer],
            )
          : await c.query<{ host: string; ts: number; last_seen: number }>(
              `SELECT h.host, greatest(h.last_seen, l.recv_ts) AS last_seen, l.ts FROM hosts h CROSS JOIN LATERAL (SELECT ts, recv_ts, writer FROM latest WHERE host = h.host LIMIT 1) l${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}`,
              [...params],
            );
      // A host is in the log once per commit that moved it: its newest snapshot time and receive time, once.
      const want = keys.rows
        .filter((k) => !have(k.host, k.ts, k.last_seen))
        .map((k) => k.host)
        .sort();
      for (let i = 0; i < want.length; i += MOVED_CHUNK) {
        // The values and breakdowns as base64 text, decoded here: node-postgres reads every value
        // as text, and a bytea's own text form is hex, twice its size, of which pg's parser copies a
        // substring before decoding (base64: 1.37 x, decoded in place).
        const rows = await c.query<Omit<LatestRow, 'vals' | 'breakdown'> & { vals: string | Buffer; breakdown: string | Buffer | null }>(
          `SELECT k.host, h.labels, greatest(h.last_seen, l.recv_ts) AS last_seen, l.boot_id, l.seq, l.ts, l.layout_id, encode(l.vals, 'base64') AS vals, l.errors,
             encode(l.breakdown, 'base64') AS breakdown, l.breakdown_json,
             EXISTS (SELECT 1 FROM ns_snapshots n WHERE n.host = k.host AND n.ts = l.ts AND n.boot_id = l.boot_id AND n.seq = l.seq) AS ns
           FROM unnest($1::text[]) AS k(host) CROSS JOIN LATERAL (SELECT labels, last_seen FROM hosts WHERE host = k.host LIMIT 1) h
           CROSS JOIN LATERAL (SELECT * FROM latest WHERE host = k.host LIMIT 1) l`,
          [textArrayParam(want.slice(i, i + MOVED_CHUNK))],
        );
        const out = rows.rows as LatestRow[];
        for (const r of rows.rows) {
          r.vals = Buffer.from(r.vals as string, 'base64');
          if (r.breakdown !== null) r.breakdown = Buffer.from(r.breakdown as string, 'base64');
        }
        await take(out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)));
      }
    });
  }

  /** Deletes the sync_log lines received before `before` (any collector may; the fleet sync does every minute). */
  async pruneSyncLog(before: number): Promise<number> {
    return this.db.tx('cannot prune the sync log', async (c) => (await c.query('DELETE FROM sync_log WHERE at < $1', [before])).rowCount ?? 0);
  }

  /** Boot names by id (boots never change or go): read once, for the ids not known yet. */
  readonly #bootNames = new Map<number, string>();
  async #bootNamesOf(rows: readonly { boot_id: number }[]): Promise<void> {
    const missing = new Set<number>();
    for (const r of rows) if (!this.#bootNames.has(r.boot_id)) missing.add(r.boot_id);
    if (missing.size === 0) return;
    const ids = [...missing];
    const boots = await this.db.query<{ id: number; boot: string }>('SELECT id, boot FROM boots WHERE id = ANY($1::bigint[])', [int8ArrayParam(ids)]);
    for (const b of boots) this.#bootNames.set(b.id, b.boot);
  }

  /** Each host's labels as last read, parsed once per text (the fleet sync reads every moved host's each second). */
  readonly #labels = new Map<string, { text: string; labels: Record<string, string> }>();
  #labelsOf(host: string, text: string): Record<string, string> {
    const cur = this.#labels.get(host);
    if (cur !== undefined && cur.text === text) return cur.labels;
    const labels = JSON.parse(text) as Record<string, string>;
    this.#labels.set(host, { text, labels });
    return labels;
  }

  /** A host's labels, or null when it is not known. */
  async hostLabels(host: string): Promise<Record<string, string> | null> {
    const rows = await this.db.query<{ labels: string }>('SELECT labels FROM hosts WHERE host = $1', [host]);
    return rows[0] === undefined ? null : (JSON.parse(rows[0].labels) as Record<string, string>);
  }

  async history(host: string, since: number, until: number, limit: number): Promise<StoredSnapshot[]> {
    const labels = await this.hostLabels(host);
    if (labels === null) return [];
    const rows = await this.db.query<StoredRow & { layout_id: number }>(
      `SELECT s.seq, s.ts, s.recv_ts, s.layout_id, s.vals, s.errors, b.boot FROM snapshots s JOIN boots b ON b.host = s.host AND b.id = s.boot_id
       WHERE s.host = $1 AND s.ts >= $2 AND s.ts < $3 ORDER BY s.ts, s.seq LIMIT $4`,
      [host, since, until, limit],
    );
    return this.toSnapshots(host, labels, rows);
  }

  gaps(host: string | null, since: number): Promise<GapRecord[]> {
    const sql = `SELECT g.host, b.boot, g.from_seq, g.to_seq, g.count, g.ts, g.recv_ts FROM gaps g JOIN boots b ON b.host = g.host AND b.id = g.boot_id
                 WHERE g.recv_ts >= $1 ${host === null ? '' : 'AND g.host = $2'} ORDER BY g.recv_ts`;
    return this.db.query<GapRecord>(sql, host === null ? [since] : [since, host]);
  }

  async putToken(host: string, hash: string, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO tokens (host, hash, created, revoked) VALUES ($1, $2, $3, NULL)
       ON CONFLICT (host) DO UPDATE SET hash = excluded.hash, created = excluded.created, revoked = NULL`,
      [host, hash, now],
      'cannot store token',
    );
  }

  async revokeToken(host: string, now: number): Promise<boolean> {
    const rows = await this.db.query('UPDATE tokens SET revoked = $1 WHERE host = $2 AND revoked IS NULL RETURNING host', [now, host], 'cannot revoke token');
    return rows.length > 0;
  }

  /** Token checks of upgrades arriving together, one query (pg-lookups.ts). */
  readonly #tokenHosts = new BatchedLookup<string | null>(async (hashes) => {
    const rows = await this.db.query<{ hash: string; host: string }>('SELECT hash, host FROM tokens WHERE hash = ANY($1::text[]) AND revoked IS NULL', [hashes]);
    return new Map(rows.map((r) => [r.hash, r.host]));
  }, null);

  /** Hosts with a live token of their own, asked by hellos arriving together, one query. */
  readonly #hostsWithToken = new BatchedLookup<boolean>(async (hosts) => {
    const rows = await this.db.query<{ host: string }>('SELECT DISTINCT host FROM tokens WHERE host = ANY($1::text[]) AND revoked IS NULL', [hosts]);
    return new Map(rows.map((r) => [r.host, true]));
  }, false);

  hostForToken(hash: string): Promise<string | null> {
    return this.#tokenHosts.get(hash);
  }

  listTokens(): Promise<TokenInfo[]> {
    return this.db.query<TokenInfo>('SELECT host, created, revoked FROM tokens ORDER BY host');
  }

  hostHasToken(host: string): Promise<boolean> {
    return this.#hostsWithToken.get(host);
  }

  /** The counter names of a namespace entry layout (store/pg/pg-namespaces.ts). */
  readonly #snmpNames = async (layoutId: number): Promise<readonly string[]> => (await this.layout(layoutId)).snmp;

  snmpNames(layoutId: number): Promise<readonly string[]> {
    return this.#snmpNames(layoutId);
  }

  namespaceSeries(host: string): Promise<NsSeries[]> {
    return nsSeries(this.db, host);
  }

  async namespaceHistory(host: string, netns: number, since: number, until: number, limit: number): Promise<NsStoredEntry[]> {
    return (await nsRawRows(this.db, host, netns, [since - 1], until, limit, this.#snmpNames)).map((r) => r.row);
  }

  /** Raw entries of one series after a key, with their keys (history pages). */
  nsRawRows(host: string, netns: number, after: readonly number[], until: number, n: number): ReturnType<typeof nsRawRows> {
    return nsRawRows(this.db, host, netns, after, until, n, this.#snmpNames);
  }

  async liveTokens(): Promise<Map<string, string>> {
    const rows = await this.db.query<{ host: string; hash: string }>('SELECT host, hash FROM tokens WHERE revoked IS NULL');
    return new Map(rows.map((r) => [r.host, r.hash]));
  }

  removeHost(host: string, o: { purge: boolean; now: number; silentBefore?: number }): Promise<RemoveOutcome> {
    this.#hostRows.delete(host);
    this.#labels.delete(host);
    return this.db.tx(`cannot remove host ${host}`, async (c) => {
      const none = { found: false, latest: 0, snapshots: 0, rollups: 0, gaps: 0, namespaces: 0 };
      const found =
        o.silentBefore === undefined
          ? await c.query('SELECT 1 FROM hosts WHERE host = $1 FOR UPDATE', [host])
          : // Silent: nothing received since (last_seen may lag by hostSeenStepMs; the latest row's recv_ts does not).
            await c.query('SELECT 1 FROM hosts h WHERE h.host = $1 AND h.last_seen < $2 AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.host = h.host AND l.recv_ts >= $2) FOR UPDATE OF h', [
              host,
              o.silentBefore,
            ]);
      if (found.rows.length === 0) return none;
      const namespaces = await nsRemove(c, host, o.purge);
      const result = { found: true, latest: (await c.query('DELETE FROM latest WHERE host = $1', [host])).rowCount ?? 0, snapshots: 0, rollups: 0, gaps: 0, namespaces };
      if (o.purge) {
        result.gaps = (await c.query('DELETE FROM gaps WHERE host = $1', [host])).rowCount ?? 0;
        result.snapshots = (await c.query('DELETE FROM snapshots WHERE host = $1', [host])).rowCount ?? 0;
        result.rollups = ((await c.query('DELETE FROM rollup_1m WHERE host = $1', [host])).rowCount ?? 0) + ((await c.query('DELETE FROM rollup_1h WHERE host = $1', [host])).rowCount ?? 0);
        await c.query('DELETE FROM rollup_dirty WHERE host = $1', [host]);
        await c.query('DELETE FROM hosts WHERE host = $1', [host]);
      }
      await c.query('DELETE FROM host_removals WHERE at < $1', [o.now - 7 * 86_400_000]);
      await c.query('INSERT INTO host_removals (host, at, purged) VALUES ($1, $2, $3)', [host, o.now, o.purge]);
      return result;
    });
  }

  /** Removals after `afterId` (any collector's); the labels kept for the fleet sync go with them. */
  async removalsSince(afterId: number, limit: number): Promise<HostRemoval[]> {
    const rows = await this.db.query<HostRemoval>('SELECT id, host, at, purged FROM host_removals WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit]);
    for (const r of rows) this.#labels.delete(r.host);
    return rows;
  }

  async stats(): Promise<DbStats> {
    const state = new Map((await this.db.query<{ resolution: string; done_until: number }>('SELECT resolution, done_until FROM rollup_state')).map((r) => [r.resolution, r.done_until]));
    const resolutions: ResolutionStats[] = [];
    for (const [resolution, table, col] of RESOLUTION_TABLES) {
      // A database of an older schema (read by `db stats` before a newer collector migrated it) lacks the ns tables.
      if ((await this.db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]))[0]?.t == null) continue;
      const r = (await this.db.query<{ n: number; lo: number | null; hi: number | null }>(`SELECT count(*) AS n, min(${col}) AS lo, max(${col}) AS hi FROM ${table}`))[0]!;
      const sizeSql =
        table === 'snapshots' || table === 'ns_snapshots'
          ? `SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) AS b FROM pg_inherits WHERE inhparent = '${table}'::regclass`
          : `SELECT pg_total_relation_size('${table}') AS b`;
      const bytes = (await this.db.query<{ b: number }>(sizeSql))[0]?.b ?? null;
      resolutions.push({
        resolution,
        table,
        rows: r.n,
        bytes,
        oldest: r.lo,
        newest: r.hi,
        rolled_until: rolledUntil(resolution, state),
      });
    }
    const hosts = (await this.db.query<{ n: number }>('SELECT count(*) AS n FROM hosts'))[0]?.n ?? 0;
    const bytes = (await this.db.query<{ b: number }>('SELECT pg_database_size(current_database()) AS b'))[0]?.b ?? 0;
    return { path: this.where, bytes, wal_bytes: 0, hosts, resolutions };
  }

  openAlerts(): Promise<AlertStore> {
    return PgAlertStore.load(this.db, this.#log);
  }

  readAlerts(all: boolean, limit: number): Promise<AlertRecord[]> {
    return readPgAlerts(this.db, all, limit);
  }

  rollupJob(o: RollupJobOptions): RollupService | null {
    return new PgRollupJob(this, o);
  }

  historyPages(rawRetentionMs: number): HistoryPages {
    return new PgHistoryPages(this, rawRetentionMs);
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.readTokens.close();
    await this.db.end();
  }
}

/** `m.get(a).set(b, v)`, the inner map made when missing. */
function setIn<V>(m: Map<string, Map<string, V>>, a: string, b: string, v: V): void {
  let inner = m.get(a);
  if (inner === undefined) m.set(a, (inner = new Map<string, V>()));
  inner.set(b, v);
}
