/**
 * `tcpfleet history` walks the pages of a host's history (issue 14: a page holds at most 10,000
 * rows): it asks for pages of up to PAGE_ROWS, follows X-Tcpfleet-Next-Cursor until the range
 * or `max` rows are done, and, refused for now (429/503), waits what Retry-After says (at most
 * MAX_WAIT_S, at most RETRIES times) before asking again.
 */
import { TcpfleetError } from '@tcpfleet/common/light';
import { getJson } from './client.js';

/** Rows asked for per page: the API's largest page. */
export const PAGE_ROWS = 10_000;
const RETRIES = 5;
const MAX_WAIT_S = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One page: its rows, the next cursor (null: the last page), or the status and wait of a refusal. */
async function page<T>(base: string, path: string, readToken: string | null): Promise<{ rows: T[]; next: string | null }> {
  for (let attempt = 0; ; attempt++) {
    let status = 0;
    let next: string | null = null;
    let retryAfterS = 1;
    try {
      const rows = await getJson<T[]>(base, path, 60_000, readToken, (s, h) => {
        status = s;
        const c = h['x-tcpfleet-next-cursor'];
        next = typeof c === 'string' && c !== '' ? c : null;
        const ra = Number(h['retry-after']);
        if (Number.isFinite(ra) && ra > 0) retryAfterS = Math.min(MAX_WAIT_S, ra);
      });
      return { rows, next };
    } catch (err) {
      if (status !== 429 && status !== 503) throw err;
      if (attempt >= RETRIES) throw new TcpfleetError('TCPFLEET_ERR_BUSY', `the collector is busy (${status}) after ${RETRIES + 1} tries: ${(err as Error).message}`);
      await sleep(retryAfterS * 1000);
    }
  }
}

/**
 * Walks `host`'s history (with `netns`: that namespace series of the host) since `since`, at most
 * `max` rows, oldest first: `onPage` gets each page's rows.
 */
export async function walkHistory<T>(base: string, host: string, since: number, max: number, readToken: string | null, onPage: (rows: T[]) => void, netns?: number): Promise<number> {
  let got = 0;
  let cursor: string | null = null;
  const path = `api/v1/hosts/${encodeURIComponent(host)}${netns === undefined ? '' : `/netns/${netns}`}/history`;
  // Bounded: each page brings at least one row or ends the walk.
  while (got < max) {
    const limit = Math.min(PAGE_ROWS, max - got);
    const p: { rows: T[]; next: string | null } = await page<T>(
      base,
      cursor === null ? `${path}?since=${since}&limit=${limit}` : `${path}?cursor=${encodeURIComponent(cursor)}&limit=${limit}`,
      readToken,
    );
    const rows = p.rows.length > max - got ? p.rows.slice(0, max - got) : p.rows;
    got += rows.length;
    onPage(rows);
    cursor = p.next;
    if (cursor === null || p.rows.length === 0) break;
  }
  return got;
}
