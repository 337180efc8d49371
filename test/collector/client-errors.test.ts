/**
 * The CLI's HTTP client turns each refusal into its error code (docs/errors.md), against a real
 * HTTP server on 127.0.0.1 answering as a collector (or a proxy in front of one) would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { getJson } from '../../packages/collector/src/cli/client.js';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const status = Number((req.url ?? '/').slice(1));
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'X', message: `answered ${status}` } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('client error codes', () => {
  for (const [status, code] of [
    [400, 'TCPFLEET_ERR_USAGE'],
    [401, 'TCPFLEET_ERR_AUTH'],
    [403, 'TCPFLEET_ERR_AUTH'],
    [404, 'TCPFLEET_ERR_NOT_FOUND'],
    [500, 'TCPFLEET_ERR_STORAGE'],
  ] as const) {
    it(`${status} -> ${code}`, async () => {
      // A 401 without a read token says how to give one (cli/client.ts); the others carry the collector's message.
      const message = status === 401 ? expect.stringMatching(/needs a read token: give --read-token-file FILE/) : `answered ${status}`;
      await expect(getJson(base, `/${status}`)).rejects.toMatchObject({ code, message });
    });
  }
  it('an unreachable collector', async () => {
    await expect(getJson('http://127.0.0.1:9', '/x', 2000)).rejects.toMatchObject({ code: 'TCPFLEET_ERR_UNREACHABLE' });
  });
});
