/**
 * The route table (http/router.ts) over a real HTTP server on loopback, and the components'
 * lifecycle (lifecycle.ts): overlapping routes are refused when the table is built (no route can
 * shadow another), parameters are parsed one way, and stop runs in reverse order within its
 * deadline, leaving a hung component behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { Router } from '../../packages/collector/src/http/router.js';
import type { Guard, Route } from '../../packages/collector/src/http/router.js';
import { sendJson } from '../../packages/collector/src/http/respond.js';
import { Lifecycle } from '../../packages/collector/src/lifecycle.js';
import { createLogger } from '../../packages/collector/src/log.js';
import { httpGet } from '../helpers/http.js';

const echo =
  (name: string): Route['handle'] =>
  ({ res, params, query }) =>
    sendJson(res, 200, { name, params, n: query.int('n', 1, 1, 10), state: query.has('state') ? query.state() : null });
const open: Guard = () => ({ ok: true, reader: true });

describe('route table', () => {
  it('refuses two routes that can match the same path', () => {
    expect(
      () =>
        new Router(
          [
            { path: '/a/:x', access: 'read', handle: echo('x') },
            { path: '/a/b', access: 'read', handle: echo('b') },
          ],
          open,
        ),
    ).toThrow('routes /a/:x and /a/b match the same paths');
    expect(
      () =>
        new Router(
          [
            { path: '/a/:x', access: 'read', handle: echo('x') },
            { path: '/a/:y', access: 'read', handle: echo('y') },
          ],
          open,
        ),
    ).toThrow('match the same paths');
    expect(
      new Router(
        [
          { path: '/a/:x', access: 'read', handle: echo('x') },
          { path: '/a/:x/h', access: 'read', handle: echo('h') },
          { path: '/b/h', access: 'read', handle: echo('b') },
        ],
        open,
      ).paths,
    ).toEqual(['/a/:x', '/a/:x/h', '/b/h']);
  });

  let server: Server;
  let base = '';
  beforeAll(async () => {
    const guard: Guard = (req, access) =>
      access === 'read' && req.headers['x-reader'] === undefined ? { ok: false, status: 401, code: 'TCPFLEET_ERR_AUTH', message: 'no' } : { ok: true, reader: true };
    const router = new Router(
      [
        { path: '/open', access: 'open', handle: echo('open') },
        { path: '/hosts/:id', access: 'read', handle: echo('host') },
        { path: '/hosts/:id/history', access: 'read', handle: echo('history') },
      ],
      guard,
    );
    server = createServer(router.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('matches paths, decodes parameters and parses the query one way', async () => {
    const reader = { 'x-reader': '1' };
    expect(JSON.parse((await httpGet(`${base}/hosts/web%2F7/history?n=3&state=listen`, 5000, reader)).body)).toEqual({ name: 'history', params: { id: 'web/7' }, n: 3, state: 'listen' });
    expect(JSON.parse((await httpGet(`${base}/hosts/a%40b`, 5000, reader)).body)).toMatchObject({ name: 'host', params: { id: 'a@b' } });
    const cases: [string, number, string][] = [
      ['/hosts/x?n=11', 400, 'n must be between 1 and 10'],
      ['/hosts/x?n=1e3', 400, 'n must be an integer, got "1e3"'],
      ['/hosts/x?state=estab', 400, 'unknown state "estab"'],
      ['/hosts/%E0%A4%A', 400, 'bad id encoding'],
      ['/hosts//history', 404, 'no route /hosts//history'],
      ['/hosts/x/', 404, 'no route'],
    ];
    for (const [path, status, msg] of cases) {
      const r = await httpGet(`${base}${path}`, 5000, reader);
      expect(r.status, path).toBe(status);
      expect((JSON.parse(r.body) as { error: { message: string } }).error.message, path).toContain(msg);
    }
  });

  it('guards before routing: unknown paths and bad encodings need the read guard too; open routes do not', async () => {
    expect((await httpGet(`${base}/nothing`)).status).toBe(401);
    expect((await httpGet(`${base}/hosts/%E0%A4%A`)).status).toBe(401);
    expect((await httpGet(`${base}/hosts/x`)).status).toBe(401);
    expect((await httpGet(`${base}/open`)).status).toBe(200);
  });

  it('answers 405 with Allow to other methods on a known path', async () => {
    const r = await fetch(`${base}/open`, { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/open`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('lifecycle', () => {
  const build = async (order: string[], hang: boolean): Promise<Lifecycle> => {
    const app = new Lifecycle(createLogger('silent'));
    await app.start('store', () => ({ value: 1, stop: () => void order.push('store') }));
    await app.start('failing', () => ({
      value: 2,
      stop: () => {
        order.push('failing');
        throw new Error('broken');
      },
    }));
    await app.start('maybe-hung', () => ({
      value: 3,
      stop: () => {
        order.push('maybe-hung');
        return hang ? new Promise<void>(() => {}) : undefined;
      },
    }));
    await app.start('no-stop', () => ({ value: 4 }));
    await app.start('server', () => ({
      value: 5,
      stop: async () => {
        await new Promise((r) => setTimeout(r, 20));
        order.push('server');
      },
    }));
    return app;
  };

  it('stops in reverse order, past a component that throws (not clean)', async () => {
    const order: string[] = [];
    const app = await build(order, false);
    expect(app.names).toEqual(['store', 'failing', 'maybe-hung', 'server']);
    expect(await app.stop(5000)).toBe(false);
    expect(order).toEqual(['server', 'maybe-hung', 'failing', 'store']);
    await expect(app.start('late', () => ({ value: 6 }))).rejects.toThrow('stopping');
  });

  it('gives up at the deadline on a hung component, without starting the stops after it', async () => {
    const order: string[] = [];
    const app = await build(order, true);
    const t0 = Date.now();
    expect(await app.stop(300)).toBe(false);
    const took = Date.now() - t0;
    expect(order).toEqual(['server', 'maybe-hung']);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(5000);
  });

  it('is clean when every component stops', async () => {
    const app = new Lifecycle(createLogger('silent'));
    await app.start('a', () => ({ value: 1, stop: () => {} }));
    expect(await app.stop(1000)).toBe(true);
  });
});
