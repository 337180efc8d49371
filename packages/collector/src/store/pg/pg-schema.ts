/**
 * The PostgreSQL schema, as numbered migrations recorded in tcpfleet_schema. Collectors sharing one
 * database migrate under an advisory lock, one at a time; a database newer than the collector is
 * refused. The shape follows the SQLite schema (store/migrations.ts) with two differences:
 *
 * - Every per-host table is keyed by the host name first (no host ids), so the schema can be
 *   distributed by host (Citus: not tested) and no collector caches an id another one could delete.
 * - snapshots is partitioned by time (one partition a day, snapshots_dYYYYMMDD, created ahead by
 *   pg-partitions.ts); retention drops whole partitions. Its key is (host, ts, boot_id, seq), its
 *   only index (migration 4; before, (host, boot_id, seq, ts) and an index in this order): a
 *   partition key must be in the primary key, and a replayed snapshot carries its ts again.
 *
 * boots and layouts are never deleted (a purge keeps the host's boot names, no data), so the ids a
 * collector cached for them stay valid whatever another collector does.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE hosts (
    host text PRIMARY KEY,
    labels text NOT NULL DEFAULT '{}',
    interval_ms integer NOT NULL,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL
  );
  CREATE TABLE boots (
    host text NOT NULL,
    boot text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (host, boot)
  );
  CREATE UNIQUE INDEX boots_by_id ON boots (host, id);
  CREATE TABLE layouts (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fields text NOT NULL UNIQUE
  );
  CREATE TABLE snapshots (
    host text NOT NULL,
    boot_id bigint NOT NULL,
    seq bigint NOT NULL,
    ts bigint NOT NULL,
    recv_ts bigint NOT NULL,
    layout_id integer NOT NULL,
    vals bytea NOT NULL,
    errors text,
    PRIMARY KEY (host, boot_id, seq, ts)
  ) PARTITION BY RANGE (ts);
  CREATE INDEX snapshots_by_time ON snapshots (host, ts, boot_id, seq);
  CREATE TABLE latest (
    host text PRIMARY KEY,
    boot_id bigint NOT NULL,
    seq bigint NOT NULL,
    ts bigint NOT NULL,
    recv_ts bigint NOT NULL,
    layout_id integer NOT NULL,
    vals bytea NOT NULL,
    errors text,
    breakdown bytea,
    breakdown_json text
  );
  CREATE TABLE gaps (
    host text NOT NULL,
    boot_id bigint NOT NULL,
    from_seq bigint NOT NULL,
    to_seq bigint NOT NULL,
    count bigint NOT NULL,
    ts bigint NOT NULL,
    recv_ts bigint NOT NULL,
    PRIMARY KEY (host, boot_id, from_seq)
  );
  CREATE INDEX gaps_by_recv ON gaps (recv_ts);
  CREATE TABLE tokens (
    host text PRIMARY KEY,
    hash text NOT NULL UNIQUE,
    created bigint NOT NULL,
    revoked bigint
  );
  CREATE TABLE read_tokens (
    name text PRIMARY KEY,
    hash text NOT NULL UNIQUE,
    created bigint NOT NULL,
    revoked bigint
  );
  CREATE TABLE host_removals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host text NOT NULL,
    at bigint NOT NULL,
    purged boolean NOT NULL
  );
  CREATE TABLE rollup_1m (
    host text NOT NULL,
    bucket bigint NOT NULL,
    last_ts bigint NOT NULL,
    vals bytea NOT NULL,
    PRIMARY KEY (host, bucket)
  );
  CREATE INDEX rollup_1m_by_bucket ON rollup_1m (bucket);
  CREATE TABLE rollup_1h (
    host text NOT NULL,
    bucket bigint NOT NULL,
    last_ts bigint NOT NULL,
    vals bytea NOT NULL,
    PRIMARY KEY (host, bucket)
  );
  CREATE TABLE rollup_fleet_1m (
    bucket bigint PRIMARY KEY,
    hosts integer NOT NULL,
    vals bytea NOT NULL
  );
  CREATE TABLE rollup_state (
    resolution text PRIMARY KEY,
    done_until bigint NOT NULL
  );
  CREATE TABLE rollup_dirty (
    host text NOT NULL,
    minute bigint NOT NULL,
    PRIMARY KEY (host, minute)
  );
  CREATE TABLE alerts (
    id bigint PRIMARY KEY,
    rule text NOT NULL,
    key text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
    severity text NOT NULL,
    host text,
    labels text NOT NULL,
    metric text,
    value double precision,
    baseline double precision,
    pending_since bigint NOT NULL,
    starts_at bigint,
    ends_at bigint,
    last_notified bigint,
    evidence text
  );
  CREATE TABLE alert_deliveries (
    id bigint PRIMARY KEY,
    alert_id bigint NOT NULL,
    notifier text NOT NULL,
    body text NOT NULL,
    created bigint NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt bigint NOT NULL,
    last_error text,
    sent_at bigint
  );
  CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt) WHERE state = 'queued';
  CREATE SEQUENCE alert_id_blocks;
  `,
  // Network namespaces (issue 10, store/pg/pg-namespaces.ts), as on SQLite (store/migrations.ts
  // migration 6): ns_series (one row per (host, netns), its container identity), ns_snapshots
  // (the history, partitioned by day like snapshots: ns_snapshots_dYYYYMMDD, created and dropped
  // with the snapshots partition of the same day), ns_latest (a view: the entries of each host's
  // latest row) and ns_rollup_1m/1h. Every key starts with host; netns is an inode number (bigint).
  `
  CREATE TABLE ns_series (
    host text NOT NULL,
    netns bigint NOT NULL,
    runtime text,
    container_id text,
    container text,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    PRIMARY KEY (host, netns)
  );
  CREATE TABLE ns_snapshots (
    host text NOT NULL,
    netns bigint NOT NULL,
    boot_id bigint NOT NULL,
    seq bigint NOT NULL,
    ts bigint NOT NULL,
    pid bigint NOT NULL,
    layout_id integer NOT NULL,
    vals bytea NOT NULL,
    errors text,
    PRIMARY KEY (host, ts, boot_id, seq, netns)
  ) PARTITION BY RANGE (ts);
  CREATE VIEW ns_latest AS
    SELECT n.host, n.netns, n.boot_id, n.seq, n.ts, n.pid, n.layout_id, n.vals, n.errors
    FROM latest l JOIN ns_snapshots n ON n.host = l.host AND n.ts = l.ts AND n.boot_id = l.boot_id AND n.seq = l.seq;
  CREATE TABLE ns_rollup_1m (
    host text NOT NULL,
    netns bigint NOT NULL,
    bucket bigint NOT NULL,
    last_ts bigint NOT NULL,
    vals bytea NOT NULL,
    PRIMARY KEY (host, bucket, netns)
  );
  CREATE INDEX ns_rollup_1m_by_bucket ON ns_rollup_1m (bucket);
  CREATE TABLE ns_rollup_1h (
    host text NOT NULL,
    netns bigint NOT NULL,
    bucket bigint NOT NULL,
    last_ts bigint NOT NULL,
    vals bytea NOT NULL,
    PRIMARY KEY (host, bucket, netns)
  );
  DO $$
  DECLARE r record;
  BEGIN
    -- The days that already have a snapshots partition get their namespace partition.
    FOR r IN SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'snapshots'::regclass LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF ns_snapshots FOR VALUES FROM (%s) TO (%s)', 'ns_' || r.name,
        (extract(epoch FROM to_date(substring(r.name from 12), 'YYYYMMDD')) * 1000)::bigint,
        (extract(epoch FROM to_date(substring(r.name from 12), 'YYYYMMDD')) * 1000)::bigint + 86400000);
    END LOOP;
  END $$;
  `,
  // Which collector wrote each latest row (issue 11): PgStore.writer, a random id each collector
  // process takes at start. The fleet sync reads only the rows other collectors wrote
  // (cluster/fleet-sync.ts); NULL (a row written before this migration) counts as another's.
  `
  ALTER TABLE latest ADD COLUMN writer text;
  `,
  // The write path's cost per snapshot (issue 11). snapshots keeps one index: its primary key
  // becomes (host, ts, boot_id, seq), the order of snapshots_by_time, which goes (every read is
  // by host and a ts range, or by the whole key; the same uniqueness). latest and hosts are
  // rewritten for every snapshot: half of each latest page (one row is about 1 KB) and a third of
  // each hosts page stay free so an update can put the new row version beside the old one (a HOT
  // update: no index entry, the page prunes itself), and autovacuum visits them after 5,000 dead
  // rows rather than a fifth of the table, so the free space comes back while the tables are small.
  // Existing pages take the fillfactor as they are rewritten; the new key is built over every
  // existing partition (one pass of each, under the migration's lock).
  `
  ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey;
  DROP INDEX snapshots_by_time;
  ALTER TABLE snapshots ADD CONSTRAINT snapshots_pkey PRIMARY KEY (host, ts, boot_id, seq);
  ALTER TABLE latest SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
  ALTER TABLE hosts SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
  `,
  // What each commit moved, for the other collectors' fleet sync (issue 11, cluster/fleet-sync.ts):
  // one row per commit that wrote latest rows, its writer, receive time and the hosts and snapshot
  // times it carried. A sync pass reads the rows of the last seconds (by `at`) instead of probing
  // every host's latest row; rows older than a few minutes are deleted (PgStore.pruneSyncLog).
  `
  CREATE TABLE sync_log (id bigserial PRIMARY KEY, writer text NOT NULL, at bigint NOT NULL, hosts text[] NOT NULL, ts bigint[] NOT NULL);
  CREATE INDEX sync_log_at ON sync_log (at);
  `,
];
