/**
 * The collector's storage interface. SQLite (store/sqlite-store.ts) is the embedded default; a
 * PostgreSQL driver (store/pg/pg-store.ts: many collectors, one database) implements the same
 * interface, which is why every method returns a promise. The collector runs the SQLite store's
 * writes on a worker thread (store/write-thread.ts) behind this same interface.
 *
 * Everything the collector and its commands keep in a database goes through here: ingest, latest,
 * history pages at every resolution, gaps, host and read tokens, host removals, alert state and
 * the notification outbox (openAlerts), rollups and retention (rollupJob), `db stats` (stats) and
 * migrations (run when a driver opens). No component holds a driver's handle.
 */
import type { Logger } from 'pino';
import type { ContainerIdentity, NamespaceEntry, Snapshot } from '@tcpfleet/common';
import type { AlertRecord, AlertStore } from '../alerts/alert-store.js';
import type { Key } from './keyset-pages.js';

/** Where a walk through a host's history stands (the API's cursor holds it). */
export interface HistoryPosition {
  resolution: Resolution;
  stage: '1h' | '1m' | 'raw';
  key: Key;
}

/** A snapshot as stored: what the agent sent plus the collector's receive time. */
export type StoredSnapshot = Snapshot & { recv_ts: number };

/**
 * The credential a batch came with, checked again inside the transaction that stores it, so a
 * token revoked or replaced (or a host given its own token) stores nothing of a session after
 * the command returned: a per-host token (its SHA-256), or the fleet token, which may write only
 * as a host without a token of its own.
 */
export type WriteAuth = { kind: 'host'; hash: string } | { kind: 'fleet' };

/** One batch to store, already bound to the host of the session that sent it. */
export interface IngestItem {
  host: string;
  labels: Record<string, string>;
  snapshots: readonly Snapshot[];
  /** Checked in the commit when set (sessions set it; tests and tools may not). */
  auth?: WriteAuth | undefined;
}

/** Why a batch was refused inside its commit (nothing of it stored). */
export type IngestRefusal = 'REVOKED' | 'HOST_HAS_TOKEN';

/** What storing one batch did. */
export interface IngestOutcome {
  stored: number;
  duplicates: number;
  /** Set when the batch's credential was no longer valid at commit: nothing stored. */
  refused?: IngestRefusal;
}

/** A host removed by `tcpfleet host rm` or forgotten by `serve --forget-after`. */
export interface HostRemoval {
  /** Increasing; the running collector asks for removals after the last id it saw. */
  id: number;
  host: string;
  at: number;
  purged: boolean;
}

/** What removing a host deleted. */
export interface RemoveOutcome {
  /** False when the host was not known (nothing deleted). */
  found: boolean;
  latest: number;
  snapshots: number;
  rollups: number;
  gaps: number;
  /** Rows of the per-namespace tables deleted (ns_latest; with purge also history, rollups, series). */
  namespaces: number;
}

/** One namespace series of a host (issue 10): its key, who holds it, when it was first and last stored. */
export interface NsSeries {
  netns: number;
  container: ContainerIdentity | null;
  first_seen: number;
  /** Updated at most every ten minutes (store/ns-store.ts LAST_SEEN_STEP_MS). */
  last_seen: number;
}

/** A namespace entry as stored in a host's history: the entry plus its snapshot's key and receive time. */
export type NsStoredEntry = NamespaceEntry & { host: string; ts: number; seq: number; boot: string; recv_ts: number };

/** A declared hole in a host's history (snapshots its agent had to drop). */
export interface GapRecord {
  host: string;
  boot: string;
  from_seq: number;
  to_seq: number;
  count: number;
  ts: number;
  recv_ts: number;
}

/** A per-host token as listed (never the token itself). */
export interface TokenInfo {
  host: string;
  created: number;
  revoked: number | null;
}

/** The tables behind each resolution of `db stats`, in the order it lists them: [resolution, table, time column]. */
export const RESOLUTION_TABLES: readonly (readonly [ResolutionStats['resolution'], string, string])[] = [
  ['raw', 'snapshots', 'ts'],
  ['1m', 'rollup_1m', 'bucket'],
  ['1h', 'rollup_1h', 'bucket'],
  ['fleet_1m', 'rollup_fleet_1m', 'bucket'],
  ['ns_raw', 'ns_snapshots', 'ts'],
  ['ns_1m', 'ns_rollup_1m', 'bucket'],
  ['ns_1h', 'ns_rollup_1h', 'bucket'],
];

/** How far the rollup job has rolled a resolution, from rollup_state's rows (null for raw data). */
export function rolledUntil(resolution: ResolutionStats['resolution'], state: ReadonlyMap<string, number>): number | null {
  if (resolution === 'raw' || resolution === 'ns_raw') return null;
  const key = resolution === 'fleet_1m' || resolution === 'ns_1m' ? '1m' : resolution === 'ns_1h' ? '1h' : resolution;
  return state.get(key) ?? null;
}

/** One resolution in `db stats --json`. */
export interface ResolutionStats {
  resolution: 'raw' | '1m' | '1h' | 'fleet_1m' | 'ns_raw' | 'ns_1m' | 'ns_1h';
  table: string;
  rows: number;
  /** Bytes of the table and its indexes; null when the driver cannot tell. */
  bytes: number | null;
  oldest: number | null;
  newest: number | null;
  rolled_until: number | null;
}

/** Row counts, sizes and time spans: the document `tcpfleet db stats --json` prints. */
export interface DbStats {
  /** The database file, or the PostgreSQL URL without its password. */
  path: string;
  bytes: number;
  wal_bytes: number;
  hosts: number;
  resolutions: ResolutionStats[];
}

/** A read token as listed (never the token itself). */
export interface ReadTokenInfo {
  name: string;
  created: number;
  revoked: number | null;
}

/** The read tokens as the HTTP guard asks them on every guarded request (synchronous). */
export interface ReadTokenLookup {
  nameFor(hash: string): string | null;
  anyLive(): boolean;
}

/** Per-person read tokens (`tcpfleet token create --read NAME`): only their SHA-256 is stored. */
export interface ReadTokens {
  /** Stores a new token's hash for `name`, replacing (and so ending) any previous one. */
  put(name: string, hash: string, now: number): Promise<void>;
  /** Revokes `name`'s token; false when it had no live one. */
  revoke(name: string, now: number): Promise<boolean>;
  list(): Promise<ReadTokenInfo[]>;
  /** True when at least one read token is live. */
  anyLive(): Promise<boolean>;
  /**
   * The guard's view. SQLite asks the table on every call; PostgreSQL answers from a copy
   * refreshed every second (a token created or revoked counts within a second). Stopped by close().
   */
  lookup(): ReadTokenLookup;
}

/** The rollup and retention job of a store (store/rollups.ts, store/pg/pg-rollups.ts). */
export interface RollupService {
  /** Runs a pass every `everyMs` until stop(). */
  start(everyMs: number): void;
  stop(): Promise<void>;
  /** One pass now: roll closed minutes and hours, re-roll late ones, prune. */
  runOnce(): Promise<void>;
  /** Marks the minute of a committed snapshot of `host` (time `ts`) when it was already rolled (after each commit, once a snapshot). */
  noteCommitted(host: string, ts: number): void;
}

/** Options of a rollup job. */
export interface RollupJobOptions {
  rawRetentionMs: number;
  minuteRetentionMs?: number;
  hourRetentionMs?: number;
  graceMs?: number;
  now?: () => number;
  log?: Logger;
}

/** A page of history being answered: pull() its JSON slices until one is `done`, or drop() it. */
export interface PageStream {
  resolution: string;
  next: { stage: string; key: number[] } | null;
  pull(): Promise<{ text: Uint8Array; done: boolean }>;
  drop(): void;
}

/** Pages of history, by key (cursor semantics in store/keyset-pages.ts). */
export interface HistoryPages {
  /** The page of a host's history over [since, until) after `from` (null: the first page). */
  hostPage(host: string, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream>;
  /** The page of the fleet's one-minute sums over [since, until) after bucket `after`. */
  fleetPage(since: number, until: number, limit: number, after: number | null): Promise<PageStream>;
  /** The page of one namespace series (host, netns) over [since, until) after `from`, as hostPage. */
  nsPage(host: string, netns: number, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): Promise<PageStream>;
  close(): Promise<void>;
}

/** The history resolution a query was answered from. */
export type Resolution = 'raw' | '1m' | '1h';

/** Everything the collector needs from a database. */
export interface Store {
  /**
   * Stores batches in one transaction; all or nothing. Idempotent on (host, boot, seq). A
   * snapshot's `namespaces` (issue 10) are stored in the same transaction, each entry in its
   * series (host, netns): history, and the host's latest set when the snapshot is its newest
   * (entries missing from the newest snapshot leave the latest set). A replayed snapshot stores
   * none of its entries again.
   */
  ingest(items: readonly IngestItem[], recvTs: number): Promise<IngestOutcome[]>;
  /** Records a declared gap (idempotent on host, boot, first seq); nothing when `auth` is no longer valid. */
  recordGap(gap: GapRecord, auth?: WriteAuth): Promise<void>;
  /** Each host's latest snapshot, with `namespaces` when its latest snapshot had entries. */
  latest(): Promise<StoredSnapshot[]>;
  /** The namespace series stored for a host (any age), by netns; [] for an unknown host. */
  namespaceSeries(host: string): Promise<NsSeries[]>;
  /** One namespace series' raw entries with since <= ts < until, oldest first (at most `limit`). */
  namespaceHistory(host: string, netns: number, since: number, until: number, limit: number): Promise<NsStoredEntry[]>;
  /** A host's snapshots with since <= ts < until, oldest first. */
  history(host: string, since: number, until: number, limit: number): Promise<StoredSnapshot[]>;
  /** Gaps, of one host or all, declared since `since`. */
  gaps(host: string | null, since: number): Promise<GapRecord[]>;
  /** Stores the hash of a new per-host token, replacing any previous one. */
  putToken(host: string, hash: string, now: number): Promise<void>;
  /** Marks a host's token revoked; false when there was none. */
  revokeToken(host: string, now: number): Promise<boolean>;
  /** The host bound to a token hash, unless revoked. */
  hostForToken(hash: string): Promise<string | null>;
  /** Every per-host token. */
  listTokens(): Promise<TokenInfo[]>;
  /** True when the host has a live (not revoked) token of its own. */
  hostHasToken(host: string): Promise<boolean>;
  /** Each host with a live token, and that token's hash. */
  liveTokens(): Promise<Map<string, string>>;
  /**
   * Removes a host's latest row (it leaves the fleet; its history stays until retention), or with
   * `purge` everything stored about it (history, rollups, gaps, boots, the host row, its
   * namespace series). Its latest namespace entries go in both cases. With
   * `silentBefore`, only when nothing was received from it since then (forgetting silent hosts).
   */
  removeHost(host: string, o: { purge: boolean; now: number; silentBefore?: number }): Promise<RemoveOutcome>;
  /** Removals recorded after `afterId`, oldest first (at most `limit`). */
  removalsSince(afterId: number, limit: number): Promise<HostRemoval[]>;
  /** Row counts, sizes and time spans at each resolution (`tcpfleet db stats`). */
  stats(): Promise<DbStats>;
  /** Which driver this is. */
  readonly driver: 'sqlite' | 'postgres';
  /** The database for logs and messages (a PostgreSQL URL without its password). */
  readonly where: string;
  /** Per-person read tokens. */
  readonly readTokens: ReadTokens;
  /** For /healthz: false while the database cannot be reached (PostgreSQL away or restarting; SQLite: always true). */
  reachable(): boolean;
  /**
   * Alert state and the notification outbox, loaded. The AlertStore is synchronous (the engine
   * runs between two commits and must not yield); see each driver for when its writes are durable.
   */
  openAlerts(): Promise<AlertStore>;
  /**
   * Alerts as stored, read for a collector that does not lead (the leader's engine answers from
   * its own state): the pending and firing ones, or with `all` the newest `limit` of every status.
   */
  readAlerts(all: boolean, limit: number): Promise<AlertRecord[]>;
  /** The rollup and retention job to run in this process, or null when the store runs it itself (SQLite's write thread). */
  rollupJob(o: RollupJobOptions): RollupService | null;
  /** History pages at every resolution (SQLite: on a read thread with its own connection). */
  historyPages(rawRetentionMs: number, log: Logger): HistoryPages;
  /** Closes the database. */
  close(): Promise<void>;
}

/**
 * The position of a raw snapshot in a host's history, in the order history is answered:
 * [ts, boot number, seq]. The boot number is the store's own (opaque to clients).
 */
export type RawKey = readonly [number, number, number];

/**
 * Keyset reads of one host's raw history in bounded slices (issue 14: every read bounded). Each
 * call is one short statement; nothing stays open between calls, so a reader may yield to the
 * event loop between slices. Rows after `after` and before `until` (ts) or up to `end` (key).
 */
export interface RawHistory {
  /** How many rows (at most `n`) follow `after` before `until`, and the key of the last of them. */
  rawSeek(host: string, after: RawKey, until: number, n: number): { count: number; last: RawKey | null };
  /** True when a row follows `after` before `until`. */
  rawAny(host: string, after: RawKey, until: number): boolean;
  /** At most `n` snapshots with after < key <= end, oldest first, and the key of the last one. */
  rawSlice(host: string, after: RawKey, end: RawKey, n: number): { rows: StoredSnapshot[]; last: RawKey | null };
}

/** RawHistory of one namespace series (host, netns): the same keyset reads over its raw entries. */
export interface NsRawHistory {
  nsRawSeek(host: string, netns: number, after: RawKey, until: number, n: number): { count: number; last: RawKey | null };
  nsRawAny(host: string, netns: number, after: RawKey, until: number): boolean;
  nsRawSlice(host: string, netns: number, after: RawKey, end: RawKey, n: number): { rows: NsStoredEntry[]; last: RawKey | null };
}
