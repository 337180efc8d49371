/**
 * The operator views' handlers (paths in the route table, app-routes.ts):
 *
 *   GET /                     the fleet dashboard (HTML; a static page holding no fleet data)
 *   GET /api/v1/overview      what the dashboard and `tcpfleet watch` show (JSON, see overview.ts)
 *   GET /metrics              Prometheus text format (see metrics.ts)
 *   GET /api/v1/hosts/:id/namespaces   a host's network namespaces, for the dashboard (host-namespaces.ts)
 */
import type { Fleet } from '../api/fleet.js';
import type { Handler } from '../http/router.js';
import { sendText } from '../http/respond.js';
import type { ReadLimiter } from '../api/read-limiter.js';
import { OVERVIEW_CACHE, TtlLru } from './overview-cache.js';
import type { IngestItem, Store } from '../store/store.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { hostNamespacesHandler } from './host-namespaces.js';
import { chartAssetsHandler } from './chart-assets.js';
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
  /** The budget of expensive reads (api/read-limiter.ts). */
  reads: ReadLimiter;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** The handlers of the dashboard, the overview and /metrics, and the commit hook that feeds the sparklines. */
export function viewHandlers(ctx: ViewContext): { dashboard: Handler; metrics: Handler; overview: Handler; namespaces: Handler; assets: Handler; onCommitted: (items: readonly IngestItem[]) => void } {
  const sparklines = new Sparklines(ctx.store);
  const overviews = new TtlLru<Promise<Buffer>>(OVERVIEW_CACHE.entries, OVERVIEW_CACHE.ttlMs);
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
      const sel = query.selector();
      // Cached per (state, window, points, selector) as bytes (views/overview-cache.ts); a
      // computation in progress is shared; a new one needs a read permit (api/read-limiter.ts).
      const key = `${state}|${windowMs}|${points}|${sel?.toString() ?? ''}`;
      const body = overviews.get(key, Date.now());
      if (body === undefined) {
        await ctx.reads.run(res, 'overview', async (permit) => {
          const computing = buildOverview(ctx.fleet, sparklines, ctx.alerts(), state, Date.now(), windowMs, points, sel).then((o) => Buffer.from(JSON.stringify(o)));
          overviews.set(key, computing, Date.now());
          try {
            const bytes = await computing;
            // Served for ttlMs from now that it is done (a slow computation is not stale at birth).
            overviews.set(key, computing, Date.now());
            await permit.send(res, 200, JSON_HEADERS, bytes);
          } catch (err) {
            overviews.drop(key, computing);
            throw err;
          }
        });
        return;
      }
      const bytes = await body;
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': String(bytes.length) });
      res.end(bytes);
    },
    namespaces: hostNamespacesHandler(ctx.fleet),
    assets: chartAssetsHandler(),
    onCommitted: (items) => sparklines.observe(items),
  };
}
