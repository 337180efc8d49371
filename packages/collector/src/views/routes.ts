/**
 * The operator views' HTTP routes, added to the API through ServeHooks.routes:
 *
 *   GET /                     the fleet dashboard (HTML)
 *   GET /api/v1/overview      what the dashboard and `tcpfleet watch` show (JSON, see overview.ts)
 *   GET /metrics              Prometheus text format (see metrics.ts)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fleet } from '../api/fleet.js';
import { parseStateName } from '../api/fleet.js';
import type { RouteHandler } from '../api/routes.js';
import { sendError } from '../api/routes.js';
import type { ReadLimiter } from '../api/read-limiter.js';
import { OVERVIEW_CACHE, TtlLru } from './overview-cache.js';
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
  /** The budget of expensive reads (api/read-limiter.ts). */
  reads: ReadLimiter;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

function sendText(req: IncomingMessage, res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function boundedInt(raw: string | null, def: number, min: number, max: number, name: string): number | string {
  if (raw === null || raw === '') return def;
  if (!/^\d+$/.test(raw)) return `${name} must be an integer, got ${JSON.stringify(raw.slice(0, 40))}`;
  const n = Number(raw);
  return n < min || n > max ? `${name} must be between ${min} and ${max}` : n;
}

/** The routes of the dashboard, the overview and /metrics, and the commit hook that feeds the sparklines. */
export function createViewRoutes(ctx: ViewContext): { routes: RouteHandler[]; onCommitted: (items: readonly IngestItem[]) => void } {
  const sparklines = new Sparklines(ctx.store);
  const overviews = new TtlLru<Promise<Buffer>>(OVERVIEW_CACHE.entries, OVERVIEW_CACHE.ttlMs);
  const routes: RouteHandler[] = [
    async (url, req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = url.pathname;
      if (path === '/' || path === '/index.html') {
        sendText(req, res, 'text/html; charset=utf-8', DASHBOARD_HTML);
        return true;
      }
      if (path === '/metrics') {
        const now = Date.now();
        sendText(req, res, PROMETHEUS_CONTENT_TYPE, renderMetrics(ctx.fleet, ctx.gauges(now), ctx.alerts(), VERSION, now));
        return true;
      }
      if (path === '/api/v1/overview') {
        const rawState = url.searchParams.get('state') ?? 'established';
        const state = parseStateName(rawState);
        if (state === null) {
          sendError(res, 400, 'TCPFLEET_ERR_USAGE', `unknown state ${JSON.stringify(rawState.slice(0, 40))}`);
          return true;
        }
        const windowMs = boundedInt(url.searchParams.get('window'), 3_600_000, 60_000, 86_400_000, 'window');
        const points = boundedInt(url.searchParams.get('points'), 60, 2, 600, 'points');
        if (typeof windowMs === 'string' || typeof points === 'string') {
          sendError(res, 400, 'TCPFLEET_ERR_USAGE', typeof windowMs === 'string' ? windowMs : String(points));
          return true;
        }
        // Cached per (state, window, points) as bytes (views/overview-cache.ts); a computation
        // in progress is shared; a new one needs a read permit (api/read-limiter.ts).
        const key = `${state}|${windowMs}|${points}`;
        const body = overviews.get(key, Date.now());
        if (body === undefined) {
          await ctx.reads.run(res, 'overview', async (permit) => {
            const computing = buildOverview(ctx.fleet, sparklines, ctx.alerts(), state, Date.now(), windowMs, points).then((o) => Buffer.from(JSON.stringify(o)));
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
          return true;
        }
        const bytes = await body;
        res.writeHead(200, { ...JSON_HEADERS, 'content-length': String(bytes.length) });
        res.end(bytes);
        return true;
      }
      return false;
    },
  ];
  return { routes, onCommitted: (items) => sparklines.observe(items) };
}
