/**
 * Every HTTP path the collector answers, in one table (http/router.ts matches it; no two rows can
 * match the same path). `read` rows need a read token once one is configured; `open` rows answer
 * everyone: the health check (which then leaves out anything about hosts) and the dashboard's
 * static page (its data comes from /api/v1/overview, a read route) and its charting library
 * (/assets/uplot.js, .css: views/chart-assets.ts). WebSocket ingest is not here:
 * it is the upgrade of any path, with a write token (ingest/server.ts).
 */
import type { Handler, Route } from './http/router.js';

/** The handlers the table points at. */
export interface RouteHandlers {
  health: Handler;
  api: Record<'hosts' | 'host' | 'total' | 'top' | 'gaps' | 'containers', Handler>;
  history: Record<'host' | 'fleet' | 'nsList' | 'ns', Handler>;
  views: Record<'dashboard' | 'metrics' | 'overview' | 'namespaces' | 'assets', Handler>;
  alerts: Record<'alerts' | 'rules', Handler>;
}

export function routeTable(h: RouteHandlers): Route[] {
  return [
    { path: '/healthz', access: 'open', handle: h.health },
    { path: '/', access: 'open', handle: h.views.dashboard },
    { path: '/index.html', access: 'open', handle: h.views.dashboard },
    { path: '/assets/:name', access: 'open', handle: h.views.assets },
    { path: '/metrics', access: 'read', handle: h.views.metrics },
    { path: '/api/v1/overview', access: 'read', handle: h.views.overview },
    { path: '/api/v1/hosts', access: 'read', handle: h.api.hosts },
    { path: '/api/v1/hosts/:id', access: 'read', handle: h.api.host },
    { path: '/api/v1/hosts/:id/history', access: 'read', handle: h.history.host },
    { path: '/api/v1/hosts/:id/netns', access: 'read', handle: h.history.nsList },
    { path: '/api/v1/hosts/:id/netns/:netns/history', access: 'read', handle: h.history.ns },
    { path: '/api/v1/containers', access: 'read', handle: h.api.containers },
    { path: '/api/v1/hosts/:id/namespaces', access: 'read', handle: h.views.namespaces },
    { path: '/api/v1/total', access: 'read', handle: h.api.total },
    { path: '/api/v1/total/history', access: 'read', handle: h.history.fleet },
    { path: '/api/v1/top', access: 'read', handle: h.api.top },
    { path: '/api/v1/gaps', access: 'read', handle: h.api.gaps },
    { path: '/api/v1/alerts', access: 'read', handle: h.alerts.alerts },
    { path: '/api/v1/rules', access: 'read', handle: h.alerts.rules },
  ];
}
