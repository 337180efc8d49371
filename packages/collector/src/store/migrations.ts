/**
 * The SQLite schema, as numbered migrations tracked by PRAGMA user_version. Each applies in one
 * transaction; a database newer than this collector is refused.
 *
 * snapshots is keyed by (host, boot, seq), the idempotency key: a replayed batch stores nothing
 * twice. Numbers are a varint blob in the order of a shared layout (common/src/codec/snapshot-values.ts).
 * latest holds each host's newest snapshot so fleet queries never scan history.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL DEFAULT '{}',
    interval_ms INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE boots (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    boot TEXT NOT NULL,
    UNIQUE (host_id, boot)
  ) STRICT;
  CREATE TABLE layouts (
    id INTEGER PRIMARY KEY,
    fields TEXT NOT NULL UNIQUE
  ) STRICT;
  CREATE TABLE snapshots (
    host_id INTEGER NOT NULL,
    boot_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    recv_ts INTEGER NOT NULL,
    layout_id INTEGER NOT NULL,
    vals BLOB NOT NULL,
    errors TEXT,
    PRIMARY KEY (host_id, boot_id, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX snapshots_by_time ON snapshots (host_id, ts);
  CREATE TABLE latest (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id),
    boot_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    recv_ts INTEGER NOT NULL,
    layout_id INTEGER NOT NULL,
    vals BLOB NOT NULL,
    errors TEXT,
    breakdown TEXT
  ) STRICT;
  CREATE TABLE gaps (
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    boot_id INTEGER NOT NULL,
    from_seq INTEGER NOT NULL,
    to_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    recv_ts INTEGER NOT NULL,
    PRIMARY KEY (host_id, boot_id, from_seq)
  ) STRICT;
  CREATE TABLE tokens (
    host TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    revoked INTEGER
  ) STRICT;
  `,
  // Rollups (issue 5, store/rollups.ts): one-minute and one-hour aggregates per host, the
  // fleet's one-minute sums, and how far each resolution has been rolled up.
  `
  CREATE TABLE rollup_1m (
    host_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (host_id, bucket)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX rollup_1m_by_bucket ON rollup_1m (bucket);
  CREATE TABLE rollup_1h (
    host_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (host_id, bucket)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE rollup_fleet_1m (
    bucket INTEGER PRIMARY KEY,
    hosts INTEGER NOT NULL,
    vals BLOB NOT NULL
  ) STRICT;
  CREATE TABLE rollup_state (
    resolution TEXT PRIMARY KEY,
    done_until INTEGER NOT NULL
  ) STRICT;
  `,
  // latest.breakdown holds either JSON text (a snapshot that came as JSON) or the binary
  // breakdown of a bin1 frame as it came (a BLOB, common/src/codec/breakdown-bytes.ts), so it
  // becomes ANY. SQLite cannot change a column's type: the (one row per host) table is rebuilt.
  `
  CREATE TABLE latest_v3 (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id),
    boot_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    recv_ts INTEGER NOT NULL,
    layout_id INTEGER NOT NULL,
    vals BLOB NOT NULL,
    errors TEXT,
    breakdown ANY
  ) STRICT;
  INSERT INTO latest_v3 SELECT host_id, boot_id, seq, ts, recv_ts, layout_id, vals, errors, breakdown FROM latest;
  DROP TABLE latest;
  ALTER TABLE latest_v3 RENAME TO latest;
  `,
  // Host removals (issue 14): `tcpfleet host rm` and `serve --forget-after` record each removal,
  // so a running collector drops the host from its in-memory fleet within one poll and its write
  // thread forgets the ids it cached for a purged host. Rows older than a week are pruned.
  `
  CREATE TABLE host_removals (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    at INTEGER NOT NULL,
    purged INTEGER NOT NULL
  ) STRICT;
  `,
  // Per-person read tokens (store/read-tokens.ts, `tcpfleet token create --read NAME`): only the
  // SHA-256 of each token, like the per-host write tokens.
  `
  CREATE TABLE read_tokens (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    revoked INTEGER
  ) STRICT;
  `,
  // Network namespaces (issue 10, store/ns-store.ts): each namespace other than a host's own is a
  // series keyed by (host, netns). ns_series holds its container identity (rewritten only when it
  // changes); ns_latest the entries of each host's latest snapshot; ns_snapshots the history
  // (written with the host's snapshot, in the same transaction, skipped when the host's row is a
  // replay: idempotent on (host, boot, seq)); ns_rollup_1m/1h the rollups as for hosts. Every key
  // starts with host_id, so a database sharded by host keeps a host's namespaces with it. History
  // and rollups are keyed by time before netns: a commit's entries are neighbours in one or two
  // pages (keyed by netns first, each entry dirtied a page of its own: 100 namespaces cost 7-12 ms
  // per commit instead of 0.9), and one series' history is read by scanning its host's rows.
  `
  CREATE TABLE ns_series (
    host_id INTEGER NOT NULL,
    netns INTEGER NOT NULL,
    runtime TEXT,
    container_id TEXT,
    container TEXT,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (host_id, netns)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE ns_snapshots (
    host_id INTEGER NOT NULL,
    netns INTEGER NOT NULL,
    boot_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    layout_id INTEGER NOT NULL,
    vals BLOB NOT NULL,
    errors TEXT,
    PRIMARY KEY (host_id, ts, boot_id, seq, netns)
  ) STRICT, WITHOUT ROWID;
  CREATE VIEW ns_latest AS
    SELECT n.host_id, n.netns, n.boot_id, n.seq, n.ts, n.pid, n.layout_id, n.vals, n.errors
    FROM latest l JOIN ns_snapshots n ON n.host_id = l.host_id AND n.ts = l.ts AND n.boot_id = l.boot_id AND n.seq = l.seq;
  CREATE TABLE ns_rollup_1m (
    host_id INTEGER NOT NULL,
    netns INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (host_id, bucket, netns)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE ns_rollup_1h (
    host_id INTEGER NOT NULL,
    netns INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (host_id, bucket, netns)
  ) STRICT, WITHOUT ROWID;
  `,
];
