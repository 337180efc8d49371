/**
 * GET /healthz: the collector's health, open to everyone (load balancers and probes have no
 * token). When reads are protected (http/read-access.ts) and the caller is not a reader, only the
 * fields that say nothing about the fleet are shown: no host or agent counts, no snapshot or
 * frame counts. Readers (and everyone while reads are open) get the whole document.
 */
import type { Handler } from '../http/router.js';
import { sendJson } from '../http/respond.js';

/** Fields anyone may see: the collector's own state, nothing about hosts. */
export const OPEN_HEALTH_FIELDS = ['status', 'uptime_ms', 'write_queue', 'commit_failures', 'commit_ms_max', 'slow_commits', 'event_loop_delay_ms', 'leader'] as const;

/** The /healthz handler over a function building the whole document. */
export function healthHandler(health: () => Record<string, unknown>): Handler {
  return ({ res, reader }) => {
    const doc = health();
    if (reader) return sendJson(res, 200, doc);
    sendJson(res, 200, Object.fromEntries(OPEN_HEALTH_FIELDS.filter((k) => k in doc).map((k) => [k, doc[k]])));
  };
}
