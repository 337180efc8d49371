/**
 * History handlers that pick their resolution (store/rollup-history.ts), with the same parameters
 * and array shape as the raw history:
 *
 *   GET /api/v1/hosts/:id/history?since=&until=&limit=   header X-Tcpfleet-Resolution: raw|1m|1h
 *   GET /api/v1/total/history?since=&until=              the fleet's one-minute sums, oldest first
 */
import type { Fleet } from './fleet.js';
import type { Handler, Query } from '../http/router.js';
import { sendError, sendJson } from '../http/respond.js';
import type { RollupReader } from '../store/rollup-history.js';

/** The handlers; `now` is injectable for tests. */
export function historyHandlers(fleet: Fleet, reader: RollupReader, now: () => number = Date.now): { host: Handler; fleet: Handler } {
  const params = (query: Query, t: number, sinceDef: number): [number, number, number] => [
    query.int('since', sinceDef, 0, Number.MAX_SAFE_INTEGER),
    query.int('until', t + 86_400_000, 0, Number.MAX_SAFE_INTEGER),
    query.int('limit', 100_000, 1, 1_000_000),
  ];
  return {
    fleet: ({ res, query }) => {
      const t = now();
      const p = params(query, t, t - 3_600_000);
      res.setHeader('x-tcpfleet-resolution', '1m');
      sendJson(res, 200, reader.fleetHistory(p[0], p[1]).slice(0, p[2]));
    },
    host: async ({ res, query, params: path }) => {
      const t = now();
      const host = path['id'] ?? '';
      if (fleet.host(host, t) === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
      const p = params(query, t, t - 3_600_000);
      const answer = await reader.history(host, p[0], p[1], p[2], t);
      res.setHeader('x-tcpfleet-resolution', answer.resolution);
      sendJson(res, 200, answer.rows);
    },
  };
}
