/**
 * History routes that pick their resolution (store/rollup-history.ts, run on the read thread:
 * store/read-thread.ts). They take precedence over
 * the raw-only history route of api/routes.ts, with the same parameters and array shape:
 *
 *   GET /api/v1/hosts/:id/history?since=&until=&limit=&cursor=   header X-Tcpfleet-Resolution: raw|1m|1h
 *   GET /api/v1/total/history?since=&until=&limit=&cursor=       the fleet's one-minute sums, oldest first
 *
 * Both answer in pages with a next-page cursor (api/history-page.ts).
 */
import type { Fleet } from './fleet.js';
import type { RouteHandler } from './routes.js';
import { sendError } from './routes.js';
import type { ReadThread } from '../store/read-thread.js';
import { answerFleetHistory, answerHostHistory, parseWalk } from './history-page.js';
import type { ReadLimiter } from './read-limiter.js';

/** The route handler; `now` is injectable for tests. */
export function historyRoutes(fleet: Fleet, reader: ReadThread, reads: ReadLimiter, now: () => number = Date.now): RouteHandler {
  return async (url, req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = url.pathname;
    const t = now();
    if (path === '/api/v1/total/history') {
      const walk = parseWalk(url, t, 'f');
      if (typeof walk === 'string') sendError(res, 400, 'TCPFLEET_ERR_USAGE', walk);
      else await answerFleetHistory(req, res, url, reads, reader, walk);
      return true;
    }
    const m = /^\/api\/v1\/hosts\/([^/]+)\/history$/.exec(path);
    if (m === null) return false;
    let host: string;
    try {
      host = decodeURIComponent(m[1] ?? '');
    } catch {
      sendError(res, 400, 'TCPFLEET_ERR_USAGE', 'bad host id encoding');
      return true;
    }
    if (fleet.host(host, t) === null) {
      sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
      return true;
    }
    const walk = parseWalk(url, t, 'h');
    if (typeof walk === 'string') sendError(res, 400, 'TCPFLEET_ERR_USAGE', walk);
    else await answerHostHistory(req, res, url, reads, reader, host, walk, t);
    return true;
  };
}
