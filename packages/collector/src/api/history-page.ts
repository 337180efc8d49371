/**
 * History answered in pages (issue 14: every read bounded).
 *
 *   GET /api/v1/hosts/:id/history?since=&until=&limit=&cursor=
 *   GET /api/v1/total/history?since=&until=&limit=&cursor=
 *
 * An answer is a JSON array of at most `limit` rows (default HISTORY_PAGE.defaultRows, at most
 * HISTORY_PAGE.maxRows; more is refused with 400 naming the limit), oldest first, as before.
 * When more rows follow, the answer carries the next page's cursor in `X-Tcpfleet-Next-Cursor`
 * and the next page's URL in `Link: <...>; rel="next"`. A cursor is opaque; it holds the walk's
 * range (since, until), resolution and position, so the pages of one walk are consistent:
 * with a cursor, `since` and `until` are taken from it and those given beside it are ignored.
 * A walk that follows cursors sees every row of its range exactly once.
 *
 * Each answer takes a read permit (api/read-limiter.ts); its page is planned and its JSON built
 * on the read thread (store/read-thread.ts) and written a slice at a time (api/json-stream.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HistoryPosition } from '../store/store.js';
import type { HistoryPages } from '../store/store.js';
import type { Resolution } from '../store/store.js';
import { streamAnswer } from './json-stream.js';
import type { ReadLimiter } from './read-limiter.js';

/** Rows a page holds at most, and by default. */
export const HISTORY_PAGE = Object.freeze({ maxRows: 10_000, defaultRows: 1_000 });

/** Longest cursor accepted (ours are under 100 characters). */
const MAX_CURSOR_CHARS = 300;

/** A walk: its range, and for a continued walk where it stands. */
interface Walk {
  since: number;
  until: number;
  limit: number;
  /** host: resolution, stage and key of the last row answered; fleet: its bucket. */
  host: HistoryPosition | null;
  fleet: number | null;
}

const RESOLUTIONS: readonly Resolution[] = ['raw', '1m', '1h'];
const STAGES = ['1h', '1m', 'raw'] as const;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** The cursor of the page after `next`, in `range`. */
function encodeCursor(range: { since: number; until: number }, next: { kind: 'h'; pos: HistoryPosition } | { kind: 'f'; bucket: number }): string {
  const body = next.kind === 'h' ? ['h', range.since, range.until, next.pos.resolution, next.pos.stage, ...next.pos.key] : ['f', range.since, range.until, next.bucket];
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** A cursor's walk, or an error message. */
function decodeCursor(raw: string, kind: 'h' | 'f'): Omit<Walk, 'limit'> | string {
  const bad = 'cursor is not one this collector gave for this route (take it from X-Tcpfleet-Next-Cursor or the Link header)';
  if (raw.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(raw)) return bad;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return bad;
  }
  if (!Array.isArray(v) || v[0] !== kind || !isInt(v[1]) || !isInt(v[2])) return bad;
  if (kind === 'f') return v.length === 4 && isInt(v[3]) ? { since: v[1], until: v[2], host: null, fleet: v[3] } : bad;
  const [, since, until, resolution, stage, ...key] = v as [string, number, number, unknown, unknown, ...unknown[]];
  const stageOk = STAGES.find((s) => s === stage);
  const resOk = RESOLUTIONS.find((r) => r === resolution);
  if (stageOk === undefined || resOk === undefined || key.length !== (stageOk === 'raw' ? 3 : 1) || !key.every(isInt)) return bad;
  return { since, until, host: { resolution: resOk, stage: stageOk, key: key }, fleet: null };
}

function intParam(url: URL, name: string, def: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return def;
  if (!/^-?\d+$/.test(raw)) return `${name} must be an integer, got ${JSON.stringify(raw.slice(0, 40))}`;
  const n = Number(raw);
  if (n < min || n > max) return `${name} must be between ${min} and ${max}`;
  return n;
}

/** The walk a request asks for, or the message of its 400. */
export function parseWalk(url: URL, now: number, kind: 'h' | 'f'): Walk | string {
  const limit = intParam(url, 'limit', HISTORY_PAGE.defaultRows, 1, HISTORY_PAGE.maxRows);
  if (typeof limit === 'string') return `${limit} (a page holds at most ${HISTORY_PAGE.maxRows} rows; follow the cursor for more)`;
  const cursor = url.searchParams.get('cursor');
  if (cursor !== null && cursor !== '') {
    const w = decodeCursor(cursor, kind);
    return typeof w === 'string' ? w : { ...w, limit };
  }
  const since = intParam(url, 'since', now - 3_600_000, 0, Number.MAX_SAFE_INTEGER);
  const until = intParam(url, 'until', now + 86_400_000, 0, Number.MAX_SAFE_INTEGER);
  for (const v of [since, until]) if (typeof v === 'string') return v;
  return { since: since as number, until: until as number, limit, host: null, fleet: null };
}

/** The headers that point at the next page. */
function nextHeaders(url: URL, cursor: string | null): Record<string, string> {
  if (cursor === null) return {};
  const q = new URLSearchParams(url.searchParams);
  q.delete('since');
  q.delete('until');
  q.set('cursor', cursor);
  return { 'x-tcpfleet-next-cursor': cursor, link: `<${url.pathname}?${q.toString()}>; rel="next"` };
}

/**
 * Answers one page of a host's history (the host is known to exist), or with `netns` of that
 * namespace series of the host (store/ns-history.ts), built on the read thread.
 */
export async function answerHostHistory(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  reads: ReadLimiter,
  thread: HistoryPages,
  host: string,
  walk: Walk,
  now: number,
  netns?: number,
): Promise<void> {
  await reads.run(res, 'history', async (permit) => {
    const page =
      netns === undefined ? await thread.hostPage(host, walk.since, walk.until, walk.limit, now, walk.host) : await thread.nsPage(host, netns, walk.since, walk.until, walk.limit, now, walk.host);
    const resolution = page.resolution as Resolution;
    const next = page.next === null ? null : encodeCursor(walk, { kind: 'h', pos: { resolution, stage: page.next.stage as HistoryPosition['stage'], key: page.next.key } });
    await streamAnswer(
      req,
      res,
      permit,
      { 'x-tcpfleet-resolution': resolution, ...nextHeaders(url, next) },
      () => page.pull(),
      () => page.drop(),
    );
  });
}

/** Answers one page of the fleet's one-minute sums, built on the read thread. */
export async function answerFleetHistory(req: IncomingMessage, res: ServerResponse, url: URL, reads: ReadLimiter, thread: HistoryPages, walk: Walk): Promise<void> {
  await reads.run(res, 'total history', async (permit) => {
    const page = await thread.fleetPage(walk.since, walk.until, walk.limit, walk.fleet);
    const next = page.next === null ? null : encodeCursor(walk, { kind: 'f', bucket: page.next.key[0] ?? 0 });
    await streamAnswer(
      req,
      res,
      permit,
      { 'x-tcpfleet-resolution': '1m', ...nextHeaders(url, next) },
      () => page.pull(),
      () => page.drop(),
    );
  });
}
