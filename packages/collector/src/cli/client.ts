/**
 * The CLI's HTTP client of the query API: node:http (loads in a millisecond, unlike fetch),
 * a timeout, and one clear error for each way a request can fail.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { TcpfleetError } from '@tcpfleet/common/light';

/**
 * GETs a JSON document from the collector (node:https is loaded only for https URLs), sending the
 * read token (cli/read-token.ts) as `Authorization: Bearer` when there is one; `onResponse` sees
 * the status and headers.
 */
export async function getJson<T>(base: string, path: string, timeoutMs = 10_000, readToken: string | null = null, onResponse?: (status: number, headers: IncomingHttpHeaders) => void): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    return Promise.reject(new TcpfleetError('TCPFLEET_ERR_USAGE', `--url ${JSON.stringify(base)} is not a URL such as http://127.0.0.1:7070`));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new TcpfleetError('TCPFLEET_ERR_USAGE', `--url must start with http:// or https://, got ${JSON.stringify(base)}`));
  }
  const request = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (readToken !== null) headers['authorization'] = `Bearer ${readToken}`;
    const req = request(url, { method: 'GET', timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        onResponse?.(res.statusCode ?? 0, res.headers);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reject(new TcpfleetError('TCPFLEET_ERR_UNREACHABLE', `${base} answered ${res.statusCode ?? '?'} with something that is not tcpfleet JSON`));
        }
        if (res.statusCode === 401) {
          const why = readToken === null ? 'needs a read token: give --read-token-file FILE, --read-token TOKEN or TCPFLEET_READ_TOKEN' : 'refused the read token (unknown or revoked)';
          return reject(new TcpfleetError('TCPFLEET_ERR_AUTH', `the collector at ${url.origin} ${why}`));
        }
        if ((res.statusCode ?? 500) >= 400) {
          const e = (body as { error?: { code?: string; message?: string } }).error;
          const status = res.statusCode ?? 500;
          const code =
            status === 404 ? 'TCPFLEET_ERR_NOT_FOUND' : status === 400 ? 'TCPFLEET_ERR_USAGE' : status === 401 || status === 403 || status === 421 ? 'TCPFLEET_ERR_AUTH' : 'TCPFLEET_ERR_STORAGE';
          return reject(new TcpfleetError(code, e?.message ?? `collector answered ${res.statusCode ?? '?'}`));
        }
        resolve(body as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new TcpfleetError('TCPFLEET_ERR_UNREACHABLE', `cannot reach the collector at ${url.origin}: ${err.code ?? err.message}`));
    });
    req.end();
  });
}
