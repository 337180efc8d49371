/**
 * The collector's storage interface. SQLite (store/sqlite-store.ts) is the embedded default; a
 * PostgreSQL driver (many collectors, one database) is meant to implement the same interface,
 * which is why every method returns a promise. The collector runs the SQLite store's writes on
 * a worker thread (store/write-thread.ts) behind this same interface.
 */
import type { ContainerIdentity, NamespaceEntry, Snapshot } from '@tcpfleet/common';

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

/** Row counts and sizes, for `tcpfleet db stats`. */
export interface DbStats {
  path: string;
  bytes: number;
  walBytes: number;
  hosts: number;
  tables: { name: string; rows: number; oldest: number | null; newest: number | null }[];
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
  /** Row counts and sizes. */
  stats(): Promise<DbStats>;
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
