/**
 * The read-only HTTP JSON API. Every CLI query command is a thin client of these handlers; the
 * paths are in the route table (app-routes.ts):
 *
 *   GET /api/v1/hosts[?selector=&limit=&offset=&compact=1]   latest snapshot of every host, with `stale`
 *   GET /api/v1/hosts/:id                     one host's latest snapshot, with `stale` and `gaps`
 *   GET /api/v1/total[?state=&selector=&by=LABEL]   fleet sums over live hosts (and their other network namespaces), or grouped by a label
 *   GET /api/v1/top?state=&limit=&by=host|port|peer|container|label:LABEL&selector=
 *   GET /api/v1/containers[?host=&state=&selector=]   namespace entries of live hosts (api/containers.ts)
 *   GET /api/v1/gaps[?host=&since=]           declared gaps
 *
 * A host's history is answered by history-routes.ts; /healthz by health.ts. `selector` is a
 * label selector (docs/selectors.md): only the hosts it matches are listed, summed or ranked.
 */
import { TcpfleetError, parseGroupLabel, parseTopBy } from '@tcpfleet/common';
import type { Fleet } from './fleet.js';
import type { Store } from '../store/store.js';
import type { Handler } from '../http/router.js';
import { BadRequest } from '../http/router.js';
import { sendError, sendJson } from '../http/respond.js';
import { compactHost, listedHost } from './compact-host.js';
import { topByLabel, totalByLabel } from './fleet-groups.js';
import { streamJsonArray } from './json-stream.js';
import type { ReadLimiter } from './read-limiter.js';
import { containerRows, namespacesTotal, topContainers } from './containers.js';

/** What the API needs. */
export interface ApiContext {
  fleet: Fleet;
  store: Store;
  /** The budget of expensive reads (api/read-limiter.ts). */
  reads: ReadLimiter;
}

/** Answer size (hosts) from which /api/v1/hosts is an expensive read. */
export const HOSTS_STREAMED_FROM = 1_000;

/** A --by value as the API reads it: a usage error becomes a 400. */
function byParam<T>(parse: (text: string, flag: string) => T, text: string): T {
  try {
    return parse(text, 'by');
  } catch (err) {
    if (err instanceof TcpfleetError) throw new BadRequest(err.message);
    throw err;
  }
}

/** The API's handlers, by route. */
export function apiHandlers(ctx: ApiContext): { hosts: Handler; host: Handler; total: Handler; top: Handler; gaps: Handler; containers: Handler } {
  return {
    hosts: async ({ req, res, query }) => {
      const sel = query.selector();
      const compact = query.flag('compact');
      const offset = query.int('offset', 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = query.int('limit', Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER);
      const matched = ctx.fleet.hosts(Date.now(), sel);
      const hosts = offset === 0 && limit >= matched.length ? matched : matched.slice(offset, offset + limit);
      const shaped = (part: typeof hosts): readonly unknown[] => part.map(compact ? compactHost : listedHost);
      // How many hosts match before limit and offset, for a client walking pages.
      const headers = { 'x-tcpfleet-hosts': String(matched.length) };
      if (hosts.length < HOSTS_STREAMED_FROM) {
        res.setHeader('x-tcpfleet-hosts', headers['x-tcpfleet-hosts']);
        return sendJson(res, 200, shaped(hosts));
      }
      // At scale the list is megabytes: a read permit, and slices (issue 14).
      let i = 0;
      await ctx.reads.run(res, 'hosts', (permit) => streamJsonArray(req, res, permit, headers, (n) => shaped(hosts.slice(i, (i += n)))));
    },
    host: async ({ res, params }) => {
      const host = params['id'] ?? '';
      const view = ctx.fleet.host(host, Date.now());
      if (view === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
      sendJson(res, 200, { ...view, gaps: await ctx.store.gaps(host, 0) });
    },
    total: ({ res, query }) => {
      const sel = query.selector();
      const by = query.string('by');
      if (by !== null) return sendJson(res, 200, totalByLabel(ctx.fleet, byParam(parseGroupLabel, by), Date.now(), sel, query.state()));
      const now = Date.now();
      const total = { ...ctx.fleet.total(now, sel), namespaces: namespacesTotal(ctx.fleet, now, sel) };
      if (!query.has('state')) return sendJson(res, 200, total);
      const st = query.state();
      sendJson(res, 200, { ...total, state: st, value: total.states[st] });
    },
    top: ({ res, query }) => {
      const now = Date.now();
      const st = query.state();
      const limit = query.int('limit', 10, 1, 10_000);
      const by = byParam(parseTopBy, query.string('by') ?? 'host');
      const sel = query.selector();
      if (by.kind === 'label') return sendJson(res, 200, topByLabel(ctx.fleet, by.label, st, limit, now, sel));
      if (by.kind === 'container') return sendJson(res, 200, topContainers(ctx.fleet, st, limit, now, sel));
      sendJson(res, 200, by.kind === 'host' ? ctx.fleet.topHosts(st, limit, now, sel) : ctx.fleet.topBreakdown(by.kind, st, limit, now, sel));
    },
    containers: async ({ req, res, query }) => {
      const rows = containerRows(ctx.fleet, Date.now(), query.string('host'), query.has('state') ? query.state() : null, query.selector());
      if (rows.length < HOSTS_STREAMED_FROM) return sendJson(res, 200, rows);
      let i = 0;
      await ctx.reads.run(res, 'containers', (permit) => streamJsonArray(req, res, permit, {}, (n) => rows.slice(i, (i += n))));
    },
    gaps: async ({ res, query }) => {
      sendJson(res, 200, await ctx.store.gaps(query.string('host'), query.int('since', 0, 0, Number.MAX_SAFE_INTEGER)));
    },
  };
}
