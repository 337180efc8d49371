/**
 * `tcpfleet serve`: storage, ingest server, query API, and the jobs around them; stopped in
 * reverse order on SIGTERM/SIGINT (stop reading, commit and acknowledge what is queued, close
 * sessions with 1001, close the database).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CLOSE_CODES, parseDuration } from '@tcpfleet/common';
import type { ServeConfig } from '../config.js';
import { createLogger } from '../log.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ThreadedStore } from '../store/write-thread.js';
import { attachAlerts } from '../alerts/serve-alerts.js';
import { Fleet } from '../api/fleet.js';
import { createApi } from '../api/routes.js';
import type { RouteHandler } from '../api/routes.js';
import { IngestWriter } from '../ingest/writer.js';
import { Authenticator } from '../ingest/auth.js';
import { CollectorServer } from '../ingest/server.js';
import type { IngestItem } from '../store/store.js';
import type { Logger } from 'pino';
import { createViewRoutes } from '../views/routes.js';
import { IngestRate } from '../views/metrics.js';
import { firingAlerts } from '../views/firing-alerts.js';
import type { FiringAlertsProvider } from '../views/firing-alerts.js';
import { activeTestHooks } from '../ingest/test-hooks.js';

import { RollupJob } from '../store/rollups.js';
import { ReadThread } from '../store/read-thread.js';
import { historyRoutes } from '../api/history-routes.js';
import { ReadLimiter } from '../api/read-limiter.js';

/** Hooks other modules (alerts, metrics, dashboard) plug into the running collector. */
export interface ServeHooks {
  routes: RouteHandler[];
  onCommitted: ((items: readonly IngestItem[], recvTs: number) => void)[];
  onStop: (() => Promise<void> | void)[];
  /**
   * The alerts firing now, shown by /metrics, the dashboard and `tcpfleet watch`; set by the
   * alert engine. Unset: no alert is firing.
   */
  firingAlerts?: FiringAlertsProvider;
}

/** A running collector, for tests and `npm start`. */
export interface RunningCollector {
  port: number;
  stop(): Promise<void>;
}

/** Starts the collector and returns once it listens. `preset` fills hooks up front (tests, embedding). */
export async function startCollector(cfg: ServeConfig, log: Logger = createLogger(cfg.logLevel), preset: Pick<ServeHooks, 'firingAlerts'> = {}): Promise<RunningCollector> {
  // better-sqlite3 waits for a lock synchronously, freezing every session; keep that wait short
  // and let a locked database become a retryable refusal instead (reliability, issue 4).
  const storeOpts = { path: cfg.db, durability: cfg.durability, busyTimeoutMs: 250 };
  const mainStore = new SqliteStore(storeOpts);
  // Ingest transactions on their own thread (store/write-thread.ts) unless --write-thread off.
  // With the write thread, the rollup and pruning job runs there too (one writing connection).
  const rawRetentionMs = parseDuration(cfg.retention) ?? 48 * 3_600_000;
  const threaded = cfg.writeThread === 'on';
  const store = threaded ? new ThreadedStore(mainStore, { store: storeOpts, rollups: { rawRetentionMs, everyMs: 10_000 }, logLevel: cfg.logLevel }, log) : mainStore;
  const fleet = new Fleet();
  fleet.load(await store.latest());
  const hooks: ServeHooks = { routes: [], onCommitted: [], onStop: [], ...preset };
  let server: CollectorServer | null = null;
  const writer = new IngestWriter({
    store,
    log,
    onCommitted: (items, recvTs) => {
      fleet.apply(items, recvTs);
      for (const h of hooks.onCommitted) h(items, recvTs);
    },
    onPressure: (full) => server?.setPaused(full),
  });
  // --- alerting (issue 3): rules file, engine fed by onCommitted, notifications, /api/v1/alerts ---
  await attachAlerts(hooks, { store, log, rulesFile: cfg.rules });
  // --- end alerting ---

  const started = Date.now();
  // How long callbacks waited for the event loop (a commit, a GC pause, a slow handler): /healthz.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  hooks.onStop.push(() => {
    loopDelay.disable();
  });
  // Expensive reads (history, an uncached overview, the hosts list at scale) share one budget (issue 14).
  const reads = new ReadLimiter();
  const api = createApi({
    fleet,
    store,
    reads,
    extra: hooks.routes,
    health: () => ({
      status: 'ok',
      uptime_ms: Date.now() - started,
      agents_connected: server?.connected ?? 0,
      hosts: fleet.size,
      write_queue: writer.queued,
      commits: writer.stats.commits,
      snapshots_stored: writer.stats.snapshots,
      commit_failures: writer.stats.failures,
      commit_ms_max: Math.round(writer.stats.maxCommitMs),
      slow_commits: writer.stats.slowCommits,
      event_loop_delay_ms: { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
      batch_frames: { json: server?.frames.json ?? 0, bin1: server?.frames.bin1 ?? 0 },
      reads: reads.stats(),
    }),
  });
  server = new CollectorServer({
    host: cfg.host,
    port: cfg.port,
    log,
    store,
    writer,
    auth: new Authenticator(store, cfg.tokenValue),
    tls: cfg.tlsCert !== undefined && cfg.tlsKey !== undefined ? { cert: readFileSync(cfg.tlsCert), key: readFileSync(cfg.tlsKey) } : undefined,
    heartbeatMs: parseDuration(cfg.heartbeat) ?? 15_000,
    http: api,
  });

  // --- operator views (issue 6): dashboard at /, /api/v1/overview, Prometheus /metrics ---
  const ingestRate = new IngestRate();
  hooks.onCommitted.push((items) => ingestRate.add(items.reduce((n, i) => n + i.snapshots.length, 0), Date.now()));
  const views = createViewRoutes({
    fleet,
    store,
    reads,
    alerts: () => firingAlerts(hooks.firingAlerts),
    gauges: (now) => ({
      agentsConnected: server?.connected ?? 0,
      writeQueue: writer.queued,
      snapshotsStored: writer.stats.snapshots,
      commits: writer.stats.commits,
      commitFailures: writer.stats.failures,
      uptimeMs: now - started,
      snapshotsPerSecond: ingestRate.perSecond(now),
    }),
  });
  hooks.routes.push(...views.routes);
  hooks.onCommitted.push(views.onCommitted);
  // --- end operator views ---

  // --- retention and rollups (issue 5): raw kept for --retention, then 1m and 1h rollups;
  // history answered at the resolution that covers the asked range.
  {
    for (const [t, c] of [['rollup_1m', 'bucket'], ['rollup_1h', 'bucket'], ['rollup_fleet_1m', 'bucket']] as const) store.registerTable(t, c);
    // History pages are planned and built on their own thread (issue 14: store/read-thread.ts).
    const reader = new ReadThread({ path: cfg.db, rawRetentionMs }, log);
    hooks.onStop.push(() => reader.close());
    hooks.routes.push(historyRoutes(fleet, reader, reads));
    if (!threaded) {
      const rollups = new RollupJob(store.db, { rawRetentionMs, log });
      hooks.onCommitted.push((items) => {
        for (const item of items) rollups.noteCommitted(item.host, item.snapshots.map((s) => s.ts));
      });
      hooks.onStop.push(() => rollups.stop());
      rollups.start(10_000);
    }
  }
  // --- end retention and rollups

  const port = await server.listen();

  // Revoked tokens close their host's live session within one poll.
  let revoked = new Set((await store.listTokens()).filter((t) => t.revoked !== null).map((t) => t.host));
  const revokeTimer = setInterval(() => {
    void store.listTokens().then((tokens) => {
      const now = new Set(tokens.filter((t) => t.revoked !== null).map((t) => t.host));
      for (const host of now) if (!revoked.has(host) && server?.closeHost(host, CLOSE_CODES.REVOKED, 'token revoked') === true) log.warn({ host }, 'token revoked; session closed');
      revoked = now;
    });
  }, 2000);
  revokeTimer.unref();

  // --- reliability (issue 4): fault-injection hooks are loud when set ---
  const hooksOn = activeTestHooks();
  if (hooksOn.length > 0) log.warn({ hooks: hooksOn }, 'test hooks active: not for production');
  // --- end reliability ---

  log.info({ listen: `${cfg.host}:${port}`, port, db: cfg.db, durability: cfg.durability, tls: cfg.tlsCert !== undefined, hosts: fleet.size }, 'collector started');
  let stopping: Promise<void> | null = null;
  return {
    port,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(revokeTimer);
        server?.setPaused(true);
        await writer.drain();
        for (const h of hooks.onStop) await h();
        await server?.close();
        await store.close();
        log.info('collector stopped');
      })();
      return stopping;
    },
  };
}

/** Runs `serve` until a signal. */
export async function runServe(cfg: ServeConfig, warnings: readonly string[]): Promise<void> {
  const log = createLogger(cfg.logLevel);
  for (const w of warnings) log.warn(w);
  const running = await startCollector(cfg, log);
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    void running.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
