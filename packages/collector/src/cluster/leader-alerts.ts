/**
 * Alerting as a singleton job: the engine, its state and the delivery pump run only on the
 * leader (cluster/leadership.ts). Each time this collector takes the lead it starts alerting
 * afresh (startAlerts loads the alert state and the queued notifications from the database before
 * it evaluates anything, and delivers what the previous leader queued but did not mark sent);
 * when it loses the lead it stops it (its written-behind state is flushed first).
 *
 * Reads work on every collector: on one that does not lead, GET /api/v1/alerts answers from the
 * shared database (Store.readAlerts) and the firing list of /metrics, the dashboard and `watch`
 * is read from it too (at most FIRING_REFRESH_MS old). Only GET /api/v1/rules (the rules in
 * force and the outcome of the leader's last reload) is the leader's: 503 TCPFLEET_ERR_NOT_LEADER.
 */
import type { Logger } from 'pino';
import { sendError } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import type { IngestItem, Store } from '../store/store.js';
import { answerAlerts, startAlerts } from '../alerts/serve-alerts.js';
import type { Alerts } from '../alerts/serve-alerts.js';
import { ALERT_LIST_LIMIT, firingOf, listOf } from '../alerts/engine.js';
import { RulesError, loadRulesFile } from '../alerts/rules-file.js';
import type { RuleSet } from '../alerts/rules-file.js';
import type { FiringAlert } from '../views/firing-alerts.js';
import { singleton } from './leadership.js';
import type { Leadership } from './leadership.js';

/** On a collector that does not lead, the firing list is read from the database at most this often. */
export const FIRING_REFRESH_MS = 1000;

export async function leaderAlerts(o: { store: Store; log: Logger; rulesFile?: string | undefined; leadership: Leadership }): Promise<Alerts> {
  const log = o.log.child({ component: 'alerts' });
  // A bad rules file stops the start on every collector, leader or not; a follower keeps it for the kinds of the alerts it lists.
  let rules: RuleSet = { file: '', rules: [], notifiers: [] };
  if (o.rulesFile !== undefined) {
    try {
      rules = loadRulesFile(o.rulesFile);
    } catch (err) {
      if (err instanceof RulesError) for (const p of err.problems) log.error({ problem: p }, 'bad rules file');
      throw err;
    }
  }
  let cur: Alerts | null = null;
  const stop = await singleton(o.leadership, o.log, 'alerts', async () => {
    const a = await startAlerts({ store: o.store, log: o.log, rulesFile: o.rulesFile });
    cur = a;
    return async () => {
      cur = null;
      await a.stop();
    };
  });

  // A follower's firing list: the last one read, read again (in the background) when asked and older than FIRING_REFRESH_MS.
  let firing: { at: number; list: FiringAlert[]; reading: boolean } = { at: 0, list: [], reading: false };
  const followerFiring = (): FiringAlert[] => {
    if (!firing.reading && Date.now() - firing.at >= FIRING_REFRESH_MS) {
      firing.reading = true;
      o.store
        .readAlerts(false, ALERT_LIST_LIMIT)
        .then((recs) => (firing = { at: Date.now(), list: firingOf(recs, rules), reading: false }))
        .catch((err: unknown) => {
          firing.reading = false;
          log.warn({ err }, 'cannot read the firing alerts from the database');
        });
    }
    return firing.list;
  };

  const followerAlerts: Handler = (ctx) => answerAlerts(ctx, async (all) => listOf(await o.store.readAlerts(all, ALERT_LIST_LIMIT), rules));
  const notLeader: Handler = ({ res }) =>
    sendError(res, 503, 'TCPFLEET_ERR_NOT_LEADER', 'this collector does not lead: the rules in force are the leader\'s; ask the collector whose /healthz says "leader": true');
  return {
    onCommitted: (items: readonly IngestItem[], recv: number) => cur?.onCommitted(items, recv),
    evaluate: (items: readonly IngestItem[], recv: number) => cur?.evaluate(items, recv),
    firing: () => cur?.firing() ?? followerFiring(),
    handlers: {
      alerts: (ctx) => (cur === null ? followerAlerts(ctx) : cur.handlers.alerts(ctx)),
      rules: (ctx) => (cur === null ? notLeader(ctx) : cur.handlers.rules(ctx)),
    },
    stop,
  };
}
