/**
 * The read-only HTTP JSON API. Every CLI query command is a thin client of these handlers; the
 * paths are in the route table (app-routes.ts):
 *
 *   GET /api/v1/hosts                         latest snapshot of every host, with `stale`
 *   GET /api/v1/hosts/:id                     one host's latest snapshot, with `stale` and `gaps`
 *   GET /api/v1/total[?state=]                fleet sums over live hosts
 *   GET /api/v1/top?state=&limit=&by=host|port|peer|container
 *   GET /api/v1/containers[?host=&state=]     namespace entries of live hosts (api/containers.ts)
 *   GET /api/v1/gaps[?host=&since=]           declared gaps
 *
 * A host's history is answered by history-routes.ts; /healthz by health.ts.
 */
import type { Fleet } from './fleet.js';
import type { Store } from '../store/store.js';
import type { Handler } from '../http/router.js';
import { sendError, sendJson } from '../http/respond.js';
import { streamJsonArray } from './json-stream.js';
import type { ReadLimiter } from './read-limiter.js';
import { containerRows, namespacesTotal, topContainers } from './containers.js';
import type { TcpStateName } from '@tcpfleet/common';

/** What `top --by` ranks. */
const TOP_BY = ['host', 'port', 'peer', 'container'] as const;

/** The ranking `by` asks for (one place, so another `by` is one more case). */
function topBy(fleet: Fleet, by: (typeof TOP_BY)[number], st: TcpStateName, limit: number, now: number): unknown[] {
  switch (by) {
    case 'host':
      return fleet.topHosts(st, limit, now);
    case 'container':
      return topContainers(fleet, st, limit, now);
    default:
      return fleet.topBreakdown(by, st, limit, now);
  }
}

/** What the API needs. */
export interface ApiContext {
  fleet: Fleet;
  store: Store;
  /** The budget of expensive reads (api/read-limiter.ts). */
  reads: ReadLimiter;
}

/** Fleet size from which /api/v1/hosts is an expensive read. */
export const HOSTS_STREAMED_FROM = 1_000;

/** The API's handlers, by route. */
export function apiHandlers(ctx: ApiContext): { hosts: Handler; host: Handler; total: Handler; top: Handler; gaps: Handler; containers: Handler } {
  return {
    hosts: async ({ req, res }) => {
      // At scale the list is megabytes: a read permit, and slices (issue 14).
      const hosts = ctx.fleet.hosts(Date.now());
      if (ctx.fleet.size < HOSTS_STREAMED_FROM) return sendJson(res, 200, hosts);
      let i = 0;
      await ctx.reads.run(res, 'hosts', (permit) => streamJsonArray(req, res, permit, {}, (n) => hosts.slice(i, (i += n))));
    },
    host: async ({ res, params }) => {
      const host = params['id'] ?? '';
      const view = ctx.fleet.host(host, Date.now());
      if (view === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
      sendJson(res, 200, { ...view, gaps: await ctx.store.gaps(host, 0) });
    },
    total: ({ res, query }) => {
      const now = Date.now();
      const total = { ...ctx.fleet.total(now), namespaces: namespacesTotal(ctx.fleet, now) };
      if (!query.has('state')) return sendJson(res, 200, total);
      const st = query.state();
      sendJson(res, 200, { ...total, state: st, value: total.states[st] });
    },
    top: ({ res, query }) => {
      const now = Date.now();
      const st = query.state();
      const limit = query.int('limit', 10, 1, 10_000);
      sendJson(res, 200, topBy(ctx.fleet, query.oneOf('by', 'host', TOP_BY), st, limit, now));
    },
    containers: async ({ req, res, query }) => {
      const rows = containerRows(ctx.fleet, Date.now(), query.string('host'), query.has('state') ? query.state() : null);
      if (rows.length < HOSTS_STREAMED_FROM) return sendJson(res, 200, rows);
      let i = 0;
      await ctx.reads.run(res, 'containers', (permit) => streamJsonArray(req, res, permit, {}, (n) => rows.slice(i, (i += n))));
    },
    gaps: async ({ res, query }) => {
      sendJson(res, 200, await ctx.store.gaps(query.string('host'), query.int('since', 0, 0, Number.MAX_SAFE_INTEGER)));
    },
  };
}
