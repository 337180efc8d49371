/**
 * What the other collectors on the same PostgreSQL stored, brought into this collector's
 * in-memory fleet: every SYNC_MS the latest rows of the hosts received from since this
 * collector's last look (less MARGIN_MS, because a commit stamped earlier can land later and
 * collectors' clocks differ) are read and merged (Fleet.merge); the rows that moved a host on are
 * handed to `onChanged` (the leader's alert engine sees the whole fleet this way).
 *
 * Delay: a snapshot acknowledged by collector A is in collector B's answers after at most one
 * SYNC_MS plus that pass's queries (measured in test/cluster/pg-cluster.test.ts and docs/deploy.md).
 * While this collector's own ingest is behind (`behind`: a backlog its commits in flight cannot
 * take, ingest/writer.ts), a pass waits, up to DEFER_MAX_MS since the last pass: storing and
 * acknowledging its agents' snapshots comes before mirroring the other collectors' rows, and the
 * delay is then at most DEFER_MAX_MS plus a pass (`stats`, /healthz `fleet_sync`).
 *
 * `latest` reads only the rows other collectors wrote (latest.writer, issue 11): this collector's
 * own commits are in its fleet already (Fleet.apply). They still move the last look on
 * (`committed`), as reading them back did, so a pass reads only the hosts that moved since.
 *
 * A pass reads the keys first and asks the fleet of each (`have`: Fleet.known, which moves the
 * host's last receive time on): rows the fleet holds already at that snapshot time or newer (read
 * again within the margin, or a backlogged collector that committed nothing since the last pass)
 * are neither read whole nor decoded again.
 *
 * A collector that is not the leader and answers no reads is idle (`follower`, READ_IDLE_MS): it
 * then makes a pass every IDLE_EVERY_MS only, and a read route waits for a pass first (`fresh`,
 * which the composition root puts before every read route): an answer is never older than an
 * active collector's (SYNC_MS plus a pass), and a collector nobody asks does not mirror the others'
 * rows each second. The leader's alert engine needs every row, so the leader is never idle. With
 * two collectors at 10,000 agents a second, mirroring was a fifth of each collector's CPU and an
 * eighth of PostgreSQL's (bench/NOTES.md, twelfth session). What an idle collector's ingest reads
 * of its fleet (is a host new, how many hosts: --max-hosts) is up to IDLE_EVERY_MS old.
 *
 * Where the keys come from: every commit of a collector writes one line in sync_log (the hosts
 * and snapshot times it moved, store/pg/pg-schema.ts), and a pass reads the lines other
 * collectors wrote since the last look, so its cost follows what moved, not the fleet's size.
 * Every FULL_EVERY-th pass (the first included) reads the keys of every host's latest row instead,
 * as all passes did before the log: it finds the rows of a collector of a version before schema
 * 5, which writes no lines (during a rolling upgrade). Once a minute a pass deletes the lines
 * older than LOG_KEEP_MS.
 */
import type { Logger } from 'pino';
import type { StoredSnapshot } from '../store/store.js';
import type { Fleet } from '../api/fleet.js';
import type { HaveRow } from '../store/pg/pg-store.js';
import { pollEvery } from '../ingest/poll.js';

export const SYNC_MS = 1000;
/** Rows received this long before the last look are read again (duplicates merge as no-ops). */
export const MARGIN_MS = 3000;
/** One pass in this many reads every host's key instead of the log. */
export const FULL_EVERY = 10;
/** sync_log lines older than this are deleted, by one pass in PRUNE_EVERY (once a minute). */
export const LOG_KEEP_MS = 5 * 60_000;
const PRUNE_EVERY = 60;
/** Longest wait of a pass while ingest is behind (ms since the last pass). */
export const DEFER_MAX_MS = 5000;
/** A follower that answered no read for this long is idle. */
export const READ_IDLE_MS = 10_000;
/** An idle follower's passes, one every this many ms. */
export const IDLE_EVERY_MS = 5000;
/** Longest wait of a read for its pass (then it is answered from what the fleet holds). */
export const FRESH_WAIT_MS = 5000;

export interface FleetSyncOptions {
  /**
   * The latest rows received since `since`, leaving out those `have` says the fleet holds
   * (PgStore.latest); `full`: the keys of every host's row, else those of the sync log. Rows
   * given to `each` (in chunks, while the read goes on) and rows returned are taken alike.
   */
  latest: (since: number, have: HaveRow, full: boolean, each: (rows: StoredSnapshot[]) => void) => Promise<StoredSnapshot[]>;
  /** Deletes the sync log's lines received before `before` (PgStore.pruneSyncLog). */
  prune?: (before: number) => Promise<unknown>;
  fleet: Fleet;
  log: Logger;
  onChanged?: (rows: readonly StoredSnapshot[]) => void;
  everyMs?: number;
  /** True while this collector's ingest is behind: a pass then waits, up to deferMaxMs since the last one. */
  behind?: () => boolean;
  deferMaxMs?: number;
  /** True while this collector is not the leader: with no read for readIdleMs, passes run every idleEveryMs only. */
  follower?: () => boolean;
  readIdleMs?: number;
  idleEveryMs?: number;
}

/** What /healthz shows of the sync. */
export interface FleetSyncStats {
  /** Since the last pass began, ms. */
  last_pass_ms_ago: number;
  /** Passes that waited because ingest was behind, since start. */
  deferred: number;
  /** True while this collector is an idle follower (not the leader, no read for READ_IDLE_MS): a pass every IDLE_EVERY_MS. */
  idle: boolean;
  /** Passes a read waited for (it came to an idle follower), since start. */
  read_passes: number;
}

export interface FleetSync {
  stop: () => void;
  /** This collector committed snapshots received at `recvTs` (its own rows, which `latest` leaves out). */
  committed: (recvTs: number) => void;
  /**
   * Resolves when the fleet is as fresh as an active collector's: at once when a pass began within
   * the interval, else once a pass (the one running, or one begun now) ended, or FRESH_WAIT_MS passed.
   * Also marks this collector as read from (not idle).
   */
  fresh: () => Promise<void>;
  stats: () => FleetSyncStats;
}

/** Starts the sync (the fleet was loaded just before). */
export function startFleetSync(o: FleetSyncOptions, startedAt: number): FleetSync {
  const log = o.log.child({ component: 'fleet-sync' });
  const every = o.everyMs ?? SYNC_MS;
  let seen = startedAt;
  let passes = 0;
  let lastPass = Date.now();
  let deferred = 0;
  let readPasses = 0;
  // The last read (fresh()); a collector starts as read from, so a follower syncs at once.
  let lastRead = Date.now();
  let running: Promise<void> | null = null;
  const idle = (now: number): boolean => o.follower?.() === true && now - lastRead >= (o.readIdleMs ?? READ_IDLE_MS);

  const pass = async (): Promise<void> => {
    const look = Date.now();
    lastPass = look;
    let newest = seen;
    const n = passes++;
    if (n % PRUNE_EVERY === PRUNE_EVERY - 1) await o.prune?.(look - LOG_KEEP_MS).catch((err: unknown) => log.warn({ err }, 'pruning the sync log failed; tried again in a minute'));
    // Each chunk is merged (and handed to the alert engine) as it comes, before the next is read.
    const take = (rows: readonly StoredSnapshot[]): void => {
      for (const r of rows) if (r.recv_ts > newest) newest = r.recv_ts;
      const changed = o.fleet.merge(rows);
      if (changed.length > 0) o.onChanged?.(changed);
    };
    take(
      await o.latest(
        Math.min(seen, look) - MARGIN_MS,
        (host, ts, recvTs) => {
          if (recvTs > newest) newest = recvTs;
          return o.fleet.known(host, ts, recvTs);
        },
        n % FULL_EVERY === 0,
        take,
      ),
    );
    if (newest > seen) seen = newest;
  };
  const onError = (err: unknown): void => log.warn({ err }, 'fleet sync pass failed; tried again next pass');
  /** The pass running, or a new one: a read's pass (fresh) and the poll's are never two at once. */
  const run = (): Promise<void> => {
    running ??= pass()
      .catch(onError)
      .finally(() => {
        running = null;
      });
    return running;
  };

  const stop = pollEvery(
    every,
    async () => {
      const now = Date.now();
      if (o.behind?.() === true && now - lastPass < (o.deferMaxMs ?? DEFER_MAX_MS)) {
        deferred++;
        return;
      }
      if (idle(now) && now - lastPass < (o.idleEveryMs ?? IDLE_EVERY_MS)) return;
      await run();
    },
    onError,
  );

  return {
    stop,
    committed: (recvTs) => {
      if (recvTs > seen) seen = recvTs;
    },
    fresh: () => {
      const now = Date.now();
      const wasIdle = idle(now);
      lastRead = now;
      if (!wasIdle || now - lastPass < every) return Promise.resolve();
      readPasses++;
      let timeout: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timeout = setTimeout(resolve, FRESH_WAIT_MS)));
      return Promise.race([run(), waited]).finally(() => clearTimeout(timeout));
    },
    stats: () => ({ last_pass_ms_ago: Date.now() - lastPass, deferred, idle: idle(Date.now()), read_passes: readPasses }),
  };
}
