/**
 * History routes that pick their resolution (store/rollup-history.ts). They take precedence over
 * the raw-only history route of api/routes.ts, with the same parameters and array shape:
 *
 *   GET /api/v1/hosts/:id/history?since=&until=&limit=   header X-Tcpfleet-Resolution: raw|1m|1h
 *   GET /api/v1/total/history?since=&until=              the fleet's one-minute sums, oldest first
 */
import type { Fleet } from './fleet.js';
import type { RouteHandler } from './routes.js';
import { sendError, sendJson } from './routes.js';
import type { RollupReader } from '../store/rollup-history.js';

function intParam(url: URL, name: string, def: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return def;
  if (!/^-?\d+$/.test(raw)) return `${name} must be an integer, got ${JSON.stringify(raw.slice(0, 40))}`;
  const n = Number(raw);
  if (n < min || n > max) return `${name} must be between ${min} and ${max}`;
  return n;
}

/** The route handler; `now` is injectable for tests. */
export function historyRoutes(fleet: Fleet, reader: RollupReader, now: () => number = Date.now): RouteHandler {
  return async (url, req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = url.pathname;
    const t = now();
    const params = (sinceDef: number): [number, number, number] | null => {
      const since = intParam(url, 'since', sinceDef, 0, Number.MAX_SAFE_INTEGER);
      const until = intParam(url, 'until', t + 86_400_000, 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(url, 'limit', 100_000, 1, 1_000_000);
      for (const v of [since, until, limit]) if (typeof v === 'string') {
        sendError(res, 400, 'TCPFLEET_ERR_USAGE', v);
        return null;
      }
      return [since as number, until as number, limit as number];
    };
    if (path === '/api/v1/total/history') {
      const p = params(t - 3_600_000);
      if (p === null) return true;
      res.setHeader('x-tcpfleet-resolution', '1m');
      sendJson(res, 200, reader.fleetHistory(p[0], p[1]).slice(0, p[2]));
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
    const p = params(t - 3_600_000);
    if (p === null) return true;
    const answer = await reader.history(host, p[0], p[1], p[2], t);
    res.setHeader('x-tcpfleet-resolution', answer.resolution);
    sendJson(res, 200, answer.rows);
    return true;
  };
}
