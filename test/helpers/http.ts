/** Small HTTP helpers for tests: GET text or JSON from 127.0.0.1, and a free loopback port. */
import { createServer } from 'node:net';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

/** GETs a URL (with extra request headers when given); resolves with status, content-type, body and the response headers. */
export function httpGet(url: string, timeoutMs = 10_000, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time (no keep-alive): a pooled socket the server closed while the
    // test was busy (spawnSync blocks the event loop) would fail the next request with a hang-up.
    const req = request(url, { timeout: timeoutMs, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GETs JSON (with extra request headers when given). */
export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const r = await httpGet(url, 10_000, headers);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as T;
}

/** A loopback port free right now (for servers that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}
