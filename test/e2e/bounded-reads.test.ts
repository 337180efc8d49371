/**
 * Issue 14 (every read bounded), on a real collector process over a seeded database: history
 * pages with cursors (a walk gives every row exactly once; more than 10,000 rows a page is
 * refused with 400 naming the limit), the CLI walking pages, 429 with Retry-After beyond the
 * cap of concurrent expensive reads, and the overview answered from its cache when views
 * alternate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { cli, killAll, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';
import { seedHistory, seedHosts } from '../helpers/seed.js';

const PER_BOOT = 7_500;
const ROWS = 2 * PER_BOOT;
const MAX_PAGE = 10_000;
const FLEET = 1_000;

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function get(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 120_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in time`)));
    req.on('error', reject);
    req.end();
  });
}

/** A request whose answer is never read: the collector's writes back up and its read stays in progress. */
function stuck(url: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.pause();
      resolve({ req, res });
    });
    req.on('error', () => undefined);
    req.setTimeout(60_000, () => reject(new Error('no answer head')));
    req.end();
  });
}

describe('issue 14: bounded reads on a real collector', () => {
  const tmp = tempDir('bounded');
  let c: Collector;
  let oldest = 0;

  beforeAll(async () => {
    const newest = Date.now() - 5_000;
    // Two boots reporting at the same instants: rows that tie on ts.
    oldest = await seedHistory(`${tmp.dir}/tcpfleet.db`, 'paged', PER_BOOT, newest, 5_000, 'boot-one');
    await seedHistory(`${tmp.dir}/tcpfleet.db`, 'paged', PER_BOOT, newest, 5_000, 'boot-two');
    // A fleet of 1,000 more hosts: the hosts list becomes an expensive read.
    await seedHosts(
      `${tmp.dir}/tcpfleet.db`,
      Array.from({ length: FLEET }, (_, i) => `fleet-${String(i).padStart(4, '0')}`),
      newest,
    );
    c = await startCollector(tmp.dir);
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  const walk = async (limit: number, follow: 'cursor' | 'link'): Promise<{ keys: string[]; pages: number[] }> => {
    const keys: string[] = [];
    const pages: number[] = [];
    const first = `/api/v1/hosts/paged/history?since=${oldest}&limit=${limit}`;
    let path: string | null = first;
    for (let i = 0; path !== null && i < 100; i++) {
      const a = await get(`${c.url}${path}`);
      expect(a.status).toBe(200);
      expect(a.headers['x-tcpfleet-resolution']).toBe('raw');
      const rows = JSON.parse(a.body) as { ts: number; boot: string; seq: number }[];
      pages.push(rows.length);
      keys.push(...rows.map((r) => `${r.boot} ${r.seq} ${r.ts}`));
      const cursor = a.headers['x-tcpfleet-next-cursor'];
      const link = a.headers['link'];
      expect(cursor === undefined).toBe(link === undefined);
      if (cursor === undefined) path = null;
      else if (follow === 'cursor') path = `/api/v1/hosts/paged/history?limit=${limit}&cursor=${encodeURIComponent(String(cursor))}`;
      else path = /^<([^>]+)>; rel="next"$/.exec(String(link))?.[1] ?? 'no link';
    }
    return { keys, pages };
  };

  it('a walk following the cursor (or the Link header) gives every row exactly once, in order', async () => {
    for (const [limit, follow] of [
      [MAX_PAGE, 'cursor'],
      [6_001, 'link'],
    ] as const) {
      const { keys, pages } = await walk(limit, follow);
      expect(pages).toEqual([...Array.from({ length: Math.floor(ROWS / limit) }, () => limit), ...(ROWS % limit === 0 ? [] : [ROWS % limit])]);
      expect(keys).toHaveLength(ROWS);
      expect(new Set(keys).size).toBe(ROWS);
      const ts = keys.map((k) => Number(k.split(' ')[2]));
      for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThanOrEqual(ts[i - 1]!);
    }
  }, 180_000);

  it('refuses a page of more than 10,000 rows, and a cursor it did not give, with 400', async () => {
    const big = await get(`${c.url}/api/v1/hosts/paged/history?since=${oldest}&limit=${MAX_PAGE + 1}`);
    expect(big.status).toBe(400);
    expect(JSON.parse(big.body)).toMatchObject({ error: { code: 'TCPFLEET_ERR_USAGE' } });
    expect(big.body).toContain('10000');
    const million = await get(`${c.url}/api/v1/total/history?limit=1000000`);
    expect(million.status).toBe(400);
    expect(million.body).toContain('10000');
    for (const bad of ['x', 'WyJmIiwxLDIsM10', Buffer.from('["h",1,2,"raw","raw",1,2]').toString('base64url'), 'A'.repeat(400)]) {
      const a = await get(`${c.url}/api/v1/hosts/paged/history?cursor=${bad}`);
      expect(a.status).toBe(400);
      expect(a.body).toContain('cursor');
    }
  });

  it('streams the hosts list of a large fleet: the same array, in chunks', async () => {
    const a = await get(`${c.url}/api/v1/hosts`);
    expect(a.status).toBe(200);
    expect(a.headers['transfer-encoding']).toBe('chunked');
    const hosts = (JSON.parse(a.body) as { host: string }[]).map((h) => h.host);
    expect(hosts).toHaveLength(FLEET + 1);
    expect(hosts).toEqual([...hosts].sort());
  });

  it('tcpfleet history follows the cursor past one page', () => {
    const r = cli(['history', 'paged', '--since', '20h', '--limit', String(MAX_PAGE + 5), '--state', 'established', '--url', c.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(MAX_PAGE + 5 + 1);
    // Two rows an instant (two boots): row 10,005 is at the 5,003rd instant.
    expect(lines.at(-1)!.split(/\s+/)[0]).toBe(new Date(oldest + 5002 * 5_000).toISOString());
  });

  it('answers 429 with Retry-After beyond 4 expensive reads at once, and serves again once they end', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => stuck(`${c.url}/api/v1/hosts/paged/history?since=${oldest}&limit=${MAX_PAGE}`)));
    try {
      for (const h of held) expect(h.res.statusCode).toBe(200);
      const refused = await get(`${c.url}/api/v1/hosts/paged/history?since=${oldest}&limit=10`);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'TCPFLEET_ERR_BUSY' } });
      expect((await get(`${c.url}/api/v1/total/history`)).status).toBe(429);
      expect((await get(`${c.url}/api/v1/hosts`)).status).toBe(429);
      // Cheap reads are not limited.
      expect((await get(`${c.url}/api/v1/total`)).status).toBe(200);
      expect((await get(`${c.url}/api/v1/hosts/paged`)).status).toBe(200);
      const health = JSON.parse((await get(`${c.url}/healthz`)).body) as { reads: { active: number; refused_busy: number } };
      expect(health.reads.active).toBe(4);
      expect(health.reads.refused_busy).toBeGreaterThanOrEqual(2);
    } finally {
      for (const h of held) h.req.destroy();
    }
    await waitFor(async () => (JSON.parse((await get(`${c.url}/healthz`)).body) as { reads: { active: number } }).reads.active === 0, 'the abandoned reads to end', 20_000);
    const again = await get(`${c.url}/api/v1/hosts/paged/history?since=${oldest}&limit=10`);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toHaveLength(10);
  });

  it('answers alternating overview windows from its cache', async () => {
    // A cached answer is the same bytes, `now` included. The cache entry of a view is made
    // right after its `now` is taken, so an answer that came back within 1 s of that `now`
    // must be the cached one.
    const computed = new Map<string, number>();
    let checked = 0;
    for (let i = 0; i < 12; i++) {
      const view = i % 2 === 0 ? 'window=7200000&points=120' : 'window=600000&points=20';
      const a = await get(`${c.url}/api/v1/overview?${view}`);
      const doneAt = Date.now();
      expect(a.status).toBe(200);
      const now = (JSON.parse(a.body) as { now: number }).now;
      const last = computed.get(view);
      if (last !== undefined && doneAt - last < 1000) {
        expect(now).toBe(last);
        checked++;
      }
      computed.set(view, now);
    }
    expect(checked).toBeGreaterThan(0);
    await stopProc(c);
  });
});
