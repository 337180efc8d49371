/**
 * The read-only HTTP JSON API. Every CLI query command is a thin client of these routes.
 *
 *   GET /api/v1/hosts                         latest snapshot of every host, with `stale`
 *   GET /api/v1/hosts/:id                     one host's latest snapshot, with `stale` and `gaps`
 *   GET /api/v1/hosts/:id/history?since=&until=&limit=   snapshots, oldest first (ms since epoch)
 *   GET /api/v1/total[?state=]                fleet sums over live hosts
 *   GET /api/v1/top?state=&limit=&by=host|port|peer
 *   GET /api/v1/gaps[?host=&since=]           declared gaps
 *   GET /healthz                              collector health
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fleet } from './fleet.js';
import { parseStateName } from './fleet.js';
import type { Store } from '../store/store.js';
import { HISTORY_PAGE } from './history-page.js';
import { streamJsonArray } from './json-stream.js';
import type { ReadLimiter } from './read-limiter.js';

/** Extra routes other modules add (alerts, metrics, dashboard). */
export type RouteHandler = (url: URL, req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

/** What the API needs. */
export interface ApiContext {
  fleet: Fleet;
  store: Store;
  /** The budget of expensive reads (api/read-limiter.ts). */
  reads: ReadLimiter;
  health: () => Record<string, unknown>;
  extra: RouteHandler[];
}

/** Sends a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Sends an error body `{ error: { code, message } }`. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

class BadRequest extends Error {}

/** Fleet size from which /api/v1/hosts is an expensive read. */
export const HOSTS_STREAMED_FROM = 1_000;

function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return def;
  if (!/^-?\d+$/.test(raw)) throw new BadRequest(`${name} must be an integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  const n = Number(raw);
  if (n < min || n > max) throw new BadRequest(`${name} must be between ${min} and ${max}`);
  return n;
}

function stateParam(url: URL): ReturnType<typeof parseStateName> {
  const raw = url.searchParams.get('state') ?? 'established';
  const s = parseStateName(raw);
  if (s === null) throw new BadRequest(`unknown state ${JSON.stringify(raw.slice(0, 40))}`);
  return s;
}

/** Creates the request handler. */
export function createApi(ctx: ApiContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(ctx, req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) return sendError(res, 400, 'TCPFLEET_ERR_USAGE', err.message);
      sendError(res, 500, 'TCPFLEET_ERR_STORAGE', (err as Error).message);
    });
  };
}

async function handle(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://collector');
  for (const h of ctx.extra) if (await h(url, req, res)) return;
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'TCPFLEET_ERR_USAGE', 'read-only API: GET only');
  const now = Date.now();
  const path = url.pathname;
  if (path === '/healthz') return sendJson(res, 200, ctx.health());
  if (path === '/api/v1/hosts') {
    // At scale the list is megabytes: a read permit, and slices (issue 14).
    if (ctx.fleet.size < HOSTS_STREAMED_FROM) return sendJson(res, 200, ctx.fleet.hosts(now));
    const hosts = ctx.fleet.hosts(now);
    let i = 0;
    await ctx.reads.run(res, 'hosts', (permit) => streamJsonArray(req, res, permit, {}, (n) => hosts.slice(i, (i += n))));
    return;
  }
  if (path === '/api/v1/total') {
    const total = ctx.fleet.total(now);
    if (url.searchParams.has('state')) {
      const st = stateParam(url);
      if (st !== null) return sendJson(res, 200, { ...total, state: st, value: total.states[st] });
    }
    return sendJson(res, 200, total);
  }
  if (path === '/api/v1/top') {
    const st = stateParam(url);
    if (st === null) return;
    const limit = intParam(url, 'limit', 10, 1, 10_000);
    const by = url.searchParams.get('by') ?? 'host';
    if (by === 'host') return sendJson(res, 200, ctx.fleet.topHosts(st, limit, now));
    if (by === 'port' || by === 'peer') return sendJson(res, 200, ctx.fleet.topBreakdown(by, st, limit, now));
    throw new BadRequest(`by must be host, port or peer, got ${JSON.stringify(by.slice(0, 40))}`);
  }
  if (path === '/api/v1/gaps') {
    const host = url.searchParams.get('host');
    return sendJson(res, 200, await ctx.store.gaps(host, intParam(url, 'since', 0, 0, Number.MAX_SAFE_INTEGER)));
  }
  const m = /^\/api\/v1\/hosts\/([^/]+)(\/history)?$/.exec(path);
  if (m !== null) {
    let host: string;
    try {
      host = decodeURIComponent(m[1] ?? '');
    } catch {
      throw new BadRequest('bad host id encoding');
    }
    const view = ctx.fleet.host(host, now);
    if (view === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
    if (m[2] === undefined) return sendJson(res, 200, { ...view, gaps: await ctx.store.gaps(host, 0) });
    const since = intParam(url, 'since', now - 3_600_000, 0, Number.MAX_SAFE_INTEGER);
    const until = intParam(url, 'until', now + 86_400_000, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(url, 'limit', HISTORY_PAGE.defaultRows, 1, HISTORY_PAGE.maxRows);
    return sendJson(res, 200, await ctx.store.history(host, since, until, limit));
  }
  sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `no route ${path.slice(0, 80)}`);
}
