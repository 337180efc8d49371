/**
 * Alerting inside `tcpfleet serve`: loads the rules file, feeds the engine from committed
 * batches and a periodic tick, runs the delivery pump, reloads the rules on SIGHUP (a bad file
 * leaves the running rules in place), and answers the read-only routes:
 *
 *   GET /api/v1/alerts[?all=1&selector=]   firing and pending alerts (with all=1 the history), as
 *                                           payloads; with a label selector, only alerts about a
 *                                           host whose labels (as the alert holds them) match
 *   GET /api/v1/rules            the rules in force: file, names, kinds, last reload outcome
 */
import type { Logger } from 'pino';
import { sendJson } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import type { IngestItem, Store, StoredSnapshot } from '../store/store.js';
import { AlertEngine, TICK_MS } from './engine.js';
import { DeliveryPump } from './notify.js';
import type { AlertPayload } from './payload.js';
import { RulesError, loadRulesFile } from './rules-file.js';

/** Resolved alerts (and their notifications) are kept this long. */
const KEEP_RESOLVED_MS = 30 * 86_400_000;

/** What alerting needs from the collector. */
export interface AlertsOptions {
  /** The store (alert state and the outbox live in the same database: Store.openAlerts). */
  store: Store;
  log: Logger;
  rulesFile?: string | undefined;
}

/** Alerting as a component of the collector (app.ts). */
export interface Alerts {
  /** Feeds committed batches to the engine (evaluated after the writer's turn). */
  onCommitted: (items: readonly IngestItem[], recvTs: number) => void;
  /**
   * Evaluates snapshots at once: what the fleet sync read of the other collectors, behind which no
   * agent waits for an ack, so nothing is gained by holding them for the writer's turn.
   */
  evaluate: (items: readonly IngestItem[], recvTs: number) => void;
  /** The alerts firing now (/metrics, the dashboard, `tcpfleet watch`). */
  firing: () => ReturnType<AlertEngine['firing']>;
  /** GET /api/v1/alerts and GET /api/v1/rules. */
  handlers: { alerts: Handler; rules: Handler };
  stop: () => Promise<void>;
}

/** Answers GET /api/v1/alerts[?all=1&selector=] with the list `listFor(all)` gives (the leader's engine, or a follower's read of the database). */
export async function answerAlerts({ res, query }: Parameters<Handler>[0], listFor: (all: boolean) => AlertPayload[] | Promise<AlertPayload[]>): Promise<void> {
  const all = query.string('all');
  const sel = query.selector();
  const list = await listFor(all === '1' || all === 'true');
  sendJson(res, 200, sel === null ? list : list.filter((a) => a.host !== undefined && sel.matches(a.labels)));
}

/** Starts alerting; throws RulesError for a bad rules file. */
export async function startAlerts(o: AlertsOptions): Promise<Alerts> {
  const log = o.log.child({ component: 'alerts' });
  const astore = await o.store.openAlerts();
  let engine: AlertEngine | null = null;
  const pump = new DeliveryPump({ store: astore, log: o.log, notifiers: () => engine?.notifiers ?? new Map() });
  engine = new AlertEngine({ store: astore, log: o.log, onQueued: () => pump.kick() });
  const eng = engine;
  let reload = { at: Date.now(), ok: true, problems: [] as readonly string[] };
  if (o.rulesFile !== undefined) {
    try {
      eng.setRules(loadRulesFile(o.rulesFile));
    } catch (err) {
      if (err instanceof RulesError) for (const p of err.problems) log.error({ problem: p }, 'bad rules file');
      throw err;
    }
    log.info({ file: o.rulesFile, rules: eng.rules.rules.length, notifiers: eng.rules.notifiers.length }, 'rules loaded');
  }

  // What the collector knew before this start, so spike baselines and absent checks go on.
  const latest = await o.store.latest();
  const history = new Map<string, StoredSnapshot[]>();
  const now = Date.now();
  if (eng.rules.rules.some((r) => r.kind === 'spike' || (r.kind === 'threshold' && r.metric.rate))) {
    for (const s of latest) history.set(s.host, await o.store.history(s.host, now - eng.keepMs, s.ts, 100_000));
  }
  eng.seed(latest, history);

  let stopped = false;
  const queue: { items: readonly IngestItem[]; recv: number }[] = [];
  let scheduled = false;
  // Evaluated after the writer's turn, so acknowledging agents never waits on alerting.
  const onCommitted = (items: readonly IngestItem[], recv: number): void => {
    if (stopped) return;
    queue.push({ items, recv });
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      for (const q of queue.splice(0)) if (!stopped) eng.ingest(q.items, q.recv);
    });
  };
  const timer = setInterval(() => {
    if (!stopped) eng.tick();
  }, TICK_MS);
  timer.unref();
  const prune = (): void => {
    try {
      const n = astore.prune(Date.now() - KEEP_RESOLVED_MS);
      if (n > 0) log.info({ alerts: n }, 'old resolved alerts pruned');
    } catch (err) {
      log.error({ err }, 'cannot prune old alerts');
    }
  };
  prune();
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref();
  pump.start();

  const onHup = (): void => {
    if (o.rulesFile === undefined) return;
    try {
      eng.setRules(loadRulesFile(o.rulesFile));
      reload = { at: Date.now(), ok: true, problems: [] };
      log.info({ file: o.rulesFile, rules: eng.rules.rules.length, notifiers: eng.rules.notifiers.length }, 'rules reloaded');
    } catch (err) {
      const problems = err instanceof RulesError ? err.problems : [(err as Error).message];
      reload = { at: Date.now(), ok: false, problems };
      log.error({ file: o.rulesFile, problems }, 'rules reload failed; keeping the previous rules');
    }
  };
  if (o.rulesFile !== undefined) process.on('SIGHUP', onHup);

  return {
    onCommitted,
    evaluate: (items, recv) => {
      if (!stopped) eng.ingest(items, recv);
    },
    firing: () => eng.firing(),
    handlers: {
      alerts: (ctx) => answerAlerts(ctx, (all) => eng.list(all)),
      rules: ({ res }) =>
        sendJson(res, 200, {
          file: o.rulesFile ?? null,
          reload: { at: reload.at, ok: reload.ok, problems: reload.problems },
          rules: eng.rules.rules.map((r) => ({ name: r.name, kind: r.kind, scope: r.scope, metric: r.kind === 'absent' ? null : r.metric.text, severity: r.severity, notify: r.notify })),
          notifiers: eng.rules.notifiers.map((n) => ({ name: n.name, type: n.type, ...(n.type === 'webhook' ? { format: n.format, signed: n.secret !== null } : {}) })),
          deliveries_queued: astore.queued(),
        }),
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      clearInterval(pruneTimer);
      process.off('SIGHUP', onHup);
      await pump.stop();
      await astore.close?.();
    },
  };
}
