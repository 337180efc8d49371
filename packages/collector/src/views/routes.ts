/**
 * The operator views' handlers (paths in the route table, app-routes.ts):
 *
 *   GET /                     the fleet dashboard (HTML; a static page holding no fleet data)
 *   GET /api/v1/overview      what the dashboard and `tcpfleet watch` show (JSON, see overview.ts)
 *   GET /metrics              Prometheus text format (see metrics.ts)
 */
import type { Fleet } from '../api/fleet.js';
import type { Handler } from '../http/router.js';
import { sendJson, sendText } from '../http/respond.js';
import type { IngestItem, Store } from '../store/store.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import type { FiringAlert } from './firing-alerts.js';
import type { CollectorGauges } from './metrics.js';
import { renderMetrics } from './metrics.js';
import { buildOverview } from './overview.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
import { Sparklines } from './sparklines.js';
import { VERSION } from '../version.js';

/** What the views read. */
export interface ViewContext {
  fleet: Fleet;
  store: Store;
  gauges: (now: number) => CollectorGauges;
  alerts: () => readonly FiringAlert[];
}

/** The handlers of the dashboard, the overview and /metrics, and the commit hook that feeds the sparklines. */
export function viewHandlers(ctx: ViewContext): { dashboard: Handler; metrics: Handler; overview: Handler; onCommitted: (items: readonly IngestItem[]) => void } {
  const sparklines = new Sparklines(ctx.store);
  return {
    dashboard: ({ req, res }) => sendText(req, res, 'text/html; charset=utf-8', DASHBOARD_HTML),
    metrics: ({ req, res }) => {
      const now = Date.now();
      sendText(req, res, PROMETHEUS_CONTENT_TYPE, renderMetrics(ctx.fleet, ctx.gauges(now), ctx.alerts(), VERSION, now));
    },
    overview: async ({ res, query }) => {
      const state = query.state();
      const windowMs = query.int('window', 3_600_000, 60_000, 86_400_000);
      const points = query.int('points', 60, 2, 600);
      sendJson(res, 200, await buildOverview(ctx.fleet, sparklines, ctx.alerts(), state, Date.now(), windowMs, points));
    },
    onCommitted: (items) => sparklines.observe(items),
  };
}
