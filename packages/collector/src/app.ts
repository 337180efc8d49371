/**
 * The collector's composition root: builds its components in order, each with its stop, and
 * stops them in reverse within a deadline (lifecycle.ts):
 *
 *   store        SQLite (writes on their own thread unless --write-thread off) or PostgreSQL; fleet loaded from it
 *   alerts       rules file, engine fed by commits, notifications (alerts/serve-alerts.ts)
 *   rollups      1m and 1h rollups and pruning (here unless SQLite's write thread runs them)
 *   loop-delay   event-loop delay monitor for /healthz
 *   read-thread  history pages planned and built on their own read-only connection
 *   ingest       group-commit writer and the server: WebSocket ingest and the HTTP route table
 *                (stop: stop reading, commit and acknowledge what is queued, close sessions with 1001)
 *   tokens       closes sessions on a token no longer valid for their host (their batches are
 *                refused in the commit already; this closes idle ones, polling every 2 s)
 *   removals     hosts removed by `tcpfleet host rm` leave the fleet; hosts silent for longer than
 *                --forget-after are forgotten
 *
 * Test-only behaviour (fault injection) comes in as an option from the caller; nothing here reads
 * it from the environment.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ConfigError, parseDuration } from '@tcpfleet/common';
import type { ServeConfig } from './config.js';
import { createLogger } from './log.js';
import { Lifecycle, STOP_DEADLINE_MS } from './lifecycle.js';
import { isPostgresUrl, openStore } from './store/open-store.js';
import { growHeapFor } from './heap-growth.js';
import { ReadLimiter } from './api/read-limiter.js';
import { hasLiveReadTokens } from './store/read-tokens.js';
import type { IngestItem, Store } from './store/store.js';
import { leaderAlerts } from './cluster/leader-alerts.js';
import { alwaysLeader, singleton } from './cluster/leadership.js';
import type { Leadership } from './cluster/leadership.js';
import { startFleetSync } from './cluster/fleet-sync.js';
import { pgStoreOf } from './cluster/pg-of.js';
import { Fleet } from './api/fleet.js';
import { apiHandlers } from './api/routes.js';
import { historyHandlers } from './api/history-routes.js';
import { healthHandler } from './api/health.js';
import { IngestWriter } from './ingest/writer.js';
import { Authenticator } from './ingest/auth.js';
import { CollectorServer } from './ingest/server.js';
import { watchTokens } from './ingest/token-watch.js';
import { watchHostRemovals } from './api/host-removals.js';
import { Router } from './http/router.js';
import { isLoopbackHost, readAccessGuard } from './http/read-access.js';
import { routeTable } from './app-routes.js';
import { viewHandlers } from './views/routes.js';
import { IngestRate } from './views/metrics.js';
import { firingAlerts } from './views/firing-alerts.js';
import type { FiringAlertsProvider } from './views/firing-alerts.js';

/**
 * Fault injection, for the fault suite only (test/helpers/fault-collector.mjs passes it).
 * dropAckEvery: every N-th committed batch cuts its connection instead of being acknowledged.
 * commitDelayMs: each ingest transaction waits this long before its COMMIT.
 */
export interface FaultInjection {
  dropAckEvery?: number | undefined;
  commitDelayMs?: number | undefined;
}

/** What the caller can add to a collector's start. */
export interface CollectorOptions {
  log?: Logger;
  /** Configuration warnings, logged once the collector is sure to start. */
  warnings?: readonly string[];
  /** The firing alerts the views show; default: the alert engine's (tests, embedding). */
  firingAlerts?: FiringAlertsProvider;
  faults?: FaultInjection;
  /** Overrides `--stop-timeout` (default STOP_DEADLINE_MS). */
  stopDeadlineMs?: number;
}

/** A running collector. */
export interface RunningCollector {
  port: number;
  /** Stops every component in reverse order; true when each stopped cleanly within the deadline. */
  stop(): Promise<boolean>;
}

type CommitListener = (items: readonly IngestItem[], recvTs: number) => void;

/**
 * Refuses (one line, before anything is created) to serve the fleet's data to the network
 * without a read token, unless --public-read says so.
 */
export function checkReadPolicy(cfg: ServeConfig, liveInDb?: boolean): void {
  if (isLoopbackHost(cfg.host) || cfg.publicRead || cfg.readTokenHashes.length > 0) return;
  // PostgreSQL: asked once the store is open (liveInDb); until then nothing is refused.
  if (isPostgresUrl(cfg.db) && liveInDb === undefined) return;
  let inDb = liveInDb ?? false;
  if (liveInDb === undefined) {
    try {
      inDb = hasLiveReadTokens(cfg.db);
    } catch {
      // An unreadable database fails with its own message when the store opens.
    }
  }
  if (inDb) return;
  throw new ConfigError([
    `--listen ${cfg.listen} is not a loopback address and no read token is set: give --read-token-file FILE or --read-token TOKEN (or create one with tcpfleet token create --read NAME) so only readers see the fleet, or --public-read to let anyone who reaches the port read it`,
  ]);
}

/** Starts the collector and resolves once it listens. */
export async function startCollector(cfg: ServeConfig, opts: CollectorOptions = {}): Promise<RunningCollector> {
  const log = opts.log ?? createLogger(cfg.logLevel);
  checkReadPolicy(cfg);
  for (const w of opts.warnings ?? []) log.warn(w);
  const faults = opts.faults ?? {};
  const faultsOn = Object.entries(faults).filter(([, v]) => typeof v === 'number' && v > 0);
  if (faultsOn.length > 0) log.warn({ faults: Object.fromEntries(faultsOn) }, 'fault injection active: a test collector, not for production');
  const deadlineMs = opts.stopDeadlineMs ?? parseDuration(cfg.stopTimeout) ?? STOP_DEADLINE_MS;
  const app = new Lifecycle(log);
  const started = Date.now();
  const rawRetentionMs = parseDuration(cfg.retention) ?? 48 * 3_600_000;
  const threaded = cfg.writeThread === 'on';
  try {
    const store = await app.start('store', async () => {
      // better-sqlite3 waits for a lock synchronously, freezing every session; keep that wait
      // short and let a locked database become a retryable refusal instead.
      const s = await openStore(cfg.db, {
        log,
        sqlite: { durability: cfg.durability, busyTimeoutMs: 250, commitDelayMs: faults.commitDelayMs },
        writeThread: threaded ? { rawRetentionMs, logLevel: cfg.logLevel } : undefined,
      });
      return { value: s, stop: () => s.close() };
    });
    if (store.driver === 'postgres') checkReadPolicy(cfg, await store.readTokens.anyLive());
    // On PostgreSQL, the old generation's growth follows what is live (heap-growth.ts).
    growHeapFor(store.driver);
    const fleet = new Fleet();
    const loadedAt = Date.now();
    fleet.load(await store.latest());
    const committed: CommitListener[] = [];

    // Several collectors on one PostgreSQL: one leads the singleton jobs (cluster/leadership.ts).
    const pgStore = await pgStoreOf(store);
    const leadership = await app.start('leadership', async (): Promise<{ value: Leadership; stop: () => Promise<void> }> => {
      if (pgStore === null) return { value: alwaysLeader(), stop: () => Promise.resolve() };
      const { PgLeader } = await import('./store/pg/pg-leader.js');
      const l = new PgLeader(pgStore.db, log);
      await l.start();
      return { value: l, stop: () => l.stop() };
    });

    const alerts = await app.start('alerts', async () => {
      const a = await leaderAlerts({ store, log, rulesFile: cfg.rules, leadership });
      return { value: a, stop: a.stop };
    });
    committed.push(alerts.onCommitted);
    // The ingest writer, once it runs (started below): the fleet sync waits while it is behind.
    let ingestBehind = (): boolean => false;
    // On PostgreSQL: /healthz shows its stats, and read routes wait for it while this collector is an idle follower (fresh()).
    const fleetSync =
      pgStore === null
        ? null
        : await app.start('fleet-sync', () => {
            const sync = startFleetSync(
              {
                latest: (since, have, full, each) => pgStore.latest(since, { othersOnly: true, packed: true, have, fromLog: !full, each }),
                prune: (before) => pgStore.pruneSyncLog(before),
                fleet,
                log,
                behind: () => ingestBehind(),
                follower: () => !leadership.leader,
                onChanged: (rows) =>
                  alerts.evaluate(
                    rows.map((r) => ({ host: r.host, labels: r.labels, snapshots: [r] })),
                    Date.now(),
                  ),
              },
              loadedAt,
            );
            committed.push((_, recvTs) => sync.committed(recvTs));
            return { value: sync, stop: sync.stop };
          });
    const firing = (): ReturnType<typeof firingAlerts> => firingAlerts(opts.firingAlerts ?? alerts.firing);

    // A new rollup job for each term as leader (a stopped job stays stopped).
    let rollups: ReturnType<Store['rollupJob']> = null;
    await app.start('rollups', async () => {
      committed.push((items) => {
        const r = rollups;
        if (r === null) return;
        for (const item of items) for (const s of item.snapshots) r.noteCommitted(item.host, s.ts);
      });
      const stop = await singleton(leadership, log, 'rollups', () => {
        const r = store.rollupJob({ rawRetentionMs, log });
        rollups = r;
        r?.start(10_000);
        return Promise.resolve(async () => {
          rollups = null;
          await r?.stop();
        });
      });
      return { value: null, stop };
    });

    // How long callbacks waited for the event loop (a commit, a GC pause, a slow handler): /healthz.
    const loopDelay = await app.start('loop-delay', () => {
      const h = monitorEventLoopDelay({ resolution: 10 });
      h.enable();
      return { value: h, stop: () => void h.disable() };
    });

    // Expensive reads (history, an uncached overview, the hosts list at scale) share one budget,
    // and history pages are planned and built on their own thread (issue 14).
    const reads = new ReadLimiter();
    const reader = await app.start('read-thread', () => {
      const r = store.historyPages(rawRetentionMs, log);
      return { value: r, stop: () => r.close() };
    });

    // Late-bound: the route table is built before the server it is served by.
    let ingest: { writer: IngestWriter; server: CollectorServer } | null = null;
    const ingestRate = new IngestRate();
    committed.push((items) =>
      ingestRate.add(
        items.reduce((n, i) => n + i.snapshots.length, 0),
        Date.now(),
      ),
    );
    const views = viewHandlers({
      fleet,
      store,
      reads,
      alerts: firing,
      gauges: (now) => ({
        agentsConnected: ingest?.server.connected ?? 0,
        writeQueue: ingest?.writer.queued ?? 0,
        snapshotsStored: ingest?.writer.stats.snapshots ?? 0,
        commits: ingest?.writer.stats.commits ?? 0,
        commitFailures: ingest?.writer.stats.failures ?? 0,
        uptimeMs: now - started,
        snapshotsPerSecond: ingestRate.perSecond(now),
      }),
    });
    committed.push(views.onCommitted);
    const health = (): Record<string, unknown> => {
      const w = ingest?.writer.stats;
      return {
        status: 'ok',
        uptime_ms: Date.now() - started,
        agents_connected: ingest?.server.connected ?? 0,
        hosts: fleet.size,
        write_queue: ingest?.writer.queued ?? 0,
        commits: w?.commits ?? 0,
        snapshots_stored: w?.snapshots ?? 0,
        commit_failures: w?.failures ?? 0,
        commit_ms_max: Math.round(w?.maxCommitMs ?? 0),
        slow_commits: w?.slowCommits ?? 0,
        event_loop_delay_ms: { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
        batch_frames: { json: ingest?.server.frames.json ?? 0, bin1: ingest?.server.frames.bin1 ?? 0 },
        reads: reads.stats(),
        database: { driver: store.driver, reachable: store.reachable() },
        leader: leadership.leader,
        ...(fleetSync === null ? {} : { fleet_sync: fleetSync.stats() }),
      };
    };
    const readTokens = store.readTokens.lookup();
    const router = new Router(
      routeTable({
        health: healthHandler(health),
        api: apiHandlers({ fleet, store, reads }),
        history: historyHandlers(fleet, reader, reads, store),
        views,
        alerts: alerts.handlers,
      }).map((r) =>
        fleetSync === null || r.access !== 'read'
          ? r
          : {
              ...r,
              handle: async (req) => {
                await fleetSync.fresh();
                await r.handle(req);
              },
            },
      ),
      readAccessGuard({ tokenHashes: cfg.readTokenHashes, tokens: readTokens, listenHost: cfg.host, publicHosts: cfg.publicHosts }),
    );

    const running = await app.start('ingest', async () => {
      let server: CollectorServer | null = null;
      const writer = new IngestWriter({
        store,
        log,
        onCommitted: (items, recvTs) => {
          fleet.apply(items, recvTs);
          for (const h of committed) h(items, recvTs);
        },
        onPressure: (full) => server?.setPaused(full),
        onRoom: (room) => server?.admit(room),
      });
      ingestBehind = () => writer.behind;
      server = new CollectorServer({
        host: cfg.host,
        port: cfg.port,
        log,
        store,
        writer,
        auth: new Authenticator(store, cfg.tokenValue),
        tls: cfg.tlsCert !== undefined && cfg.tlsKey !== undefined ? { cert: readFileSync(cfg.tlsCert), key: readFileSync(cfg.tlsKey) } : undefined,
        heartbeatMs: parseDuration(cfg.heartbeat) ?? 15_000,
        maxPendingPerAddress: cfg.maxPendingPerAddress,
        hosts: { max: cfg.maxHosts, known: (h) => fleet.has(h), count: () => fleet.size },
        http: router.handle,
        dropAckEvery: faults.dropAckEvery,
      });
      const s = server;
      const port = await s.listen();
      return {
        value: { writer, server: s, port },
        stop: async () => {
          s.setPaused(true);
          await writer.drain();
          await s.close();
        },
      };
    });
    ingest = running;

    await app.start('tokens', () => ({ value: null, stop: watchTokens(store, () => running.server, log) }));
    await app.start('removals', async () => ({
      value: null,
      stop: await watchHostRemovals({ store, fleet, log, forgetAfterMs: parseDuration(cfg.forgetAfter) ?? 0, isLeader: () => leadership.leader }),
    }));

    // How reads are guarded now (a read token created later with the CLI protects them at once).
    const readAccess = cfg.readTokenHashes.length > 0 || readTokens.anyLive() ? 'token' : cfg.publicRead ? 'public' : 'open';
    log.info(
      { listen: `${cfg.host}:${running.port}`, port: running.port, db: store.where, durability: cfg.durability, tls: cfg.tlsCert !== undefined, hosts: fleet.size, read: readAccess },
      'collector started',
    );
    return {
      port: running.port,
      stop: async () => {
        const ok = await app.stop(deadlineMs);
        if (ok) log.info('collector stopped');
        return ok;
      },
    };
  } catch (err) {
    await app.stop(deadlineMs);
    throw err;
  }
}
