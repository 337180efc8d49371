/**
 * History handlers that pick their resolution (store/rollup-history.ts, run on the read thread:
 * store/read-thread.ts), in pages with a next-page cursor (api/history-page.ts):
 *
 *   GET /api/v1/hosts/:id/history?since=&until=&limit=&cursor=   header X-Tcpfleet-Resolution: raw|1m|1h
 *   GET /api/v1/total/history?since=&until=&limit=&cursor=       the fleet's one-minute sums, oldest first
 *   GET /api/v1/hosts/:id/netns                                     the host's namespace series (netns, container, first/last seen)
 *   GET /api/v1/hosts/:id/netns/:netns/history?since=&until=&limit=&cursor=   one namespace series, as a host's history
 */
import type { Fleet } from './fleet.js';
import type { Handler } from '../http/router.js';
import { sendError } from '../http/respond.js';
import type { HistoryPages } from '../store/store.js';
import { answerFleetHistory, answerHostHistory, parseWalk } from './history-page.js';
import type { ReadLimiter } from './read-limiter.js';
import type { Store } from '../store/store.js';
import { sendJson } from '../http/respond.js';

/** The handlers; `now` is injectable for tests. */
export function historyHandlers(fleet: Fleet, reader: HistoryPages, reads: ReadLimiter, store: Store, now: () => number = Date.now): { host: Handler; fleet: Handler; nsList: Handler; ns: Handler } {
  const unknown = (host: string): string => `unknown host ${JSON.stringify(host.slice(0, 80))}`;
  return {
    nsList: async ({ res, params }) => {
      const host = params['id'] ?? '';
      if (fleet.host(host, now()) === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', unknown(host));
      sendJson(res, 200, await store.namespaceSeries(host));
    },
    ns: async ({ req, res, url, params }) => {
      const t = now();
      const host = params['id'] ?? '';
      const raw = params['netns'] ?? '';
      if (fleet.host(host, t) === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', unknown(host));
      if (!/^\d{1,15}$/.test(raw)) return sendError(res, 400, 'TCPFLEET_ERR_USAGE', `netns must be a namespace inode number, got ${JSON.stringify(raw.slice(0, 40))}`);
      const walk = parseWalk(url, t, 'h');
      if (typeof walk === 'string') return sendError(res, 400, 'TCPFLEET_ERR_USAGE', walk);
      await answerHostHistory(req, res, url, reads, reader, host, walk, t, Number(raw));
    },
    fleet: async ({ req, res, url }) => {
      const walk = parseWalk(url, now(), 'f');
      if (typeof walk === 'string') return sendError(res, 400, 'TCPFLEET_ERR_USAGE', walk);
      await answerFleetHistory(req, res, url, reads, reader, walk);
    },
    host: async ({ req, res, url, params }) => {
      const t = now();
      const host = params['id'] ?? '';
      if (fleet.host(host, t) === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
      const walk = parseWalk(url, t, 'h');
      if (typeof walk === 'string') return sendError(res, 400, 'TCPFLEET_ERR_USAGE', walk);
      await answerHostHistory(req, res, url, reads, reader, host, walk, t);
    },
  };
}
