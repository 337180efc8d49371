/**
 * Alerting as a singleton job: the engine, its state and the delivery pump run only on the
 * leader (cluster/leadership.ts). Each time this collector takes the lead it starts alerting
 * afresh (startAlerts loads the alert state and the queued notifications from the database before
 * it evaluates anything); when it loses the lead it stops it (its written-behind state is flushed
 * first). On a collector that does not lead, GET /api/v1/alerts and /api/v1/rules answer 503
 * with `{"error": ..., "leader": false}` and the firing list is empty: ask the leader.
 */
import type { Logger } from 'pino';
import { sendJson } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import type { IngestItem, Store } from '../store/store.js';
import { startAlerts } from '../alerts/serve-alerts.js';
import type { Alerts } from '../alerts/serve-alerts.js';
import { RulesError, loadRulesFile } from '../alerts/rules-file.js';
import { singleton } from './leadership.js';
import type { Leadership } from './leadership.js';

export async function leaderAlerts(o: { store: Store; log: Logger; rulesFile?: string | undefined; leadership: Leadership }): Promise<Alerts> {
  // A bad rules file stops the start on every collector, leader or not.
  if (o.rulesFile !== undefined) {
    try {
      loadRulesFile(o.rulesFile);
    } catch (err) {
      if (err instanceof RulesError) for (const p of err.problems) o.log.child({ component: 'alerts' }).error({ problem: p }, 'bad rules file');
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
  const notLeader: Handler = ({ res }) => sendJson(res, 503, { error: 'this collector does not lead: alerts are evaluated by the leader (GET /healthz says "leader": true there)', leader: false });
  return {
    onCommitted: (items: readonly IngestItem[], recv: number) => cur?.onCommitted(items, recv),
    firing: () => cur?.firing() ?? [],
    handlers: {
      alerts: (ctx) => (cur === null ? notLeader(ctx) : cur.handlers.alerts(ctx)),
      rules: (ctx) => (cur === null ? notLeader(ctx) : cur.handlers.rules(ctx)),
    },
    stop,
  };
}
