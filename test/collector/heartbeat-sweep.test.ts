/**
 * One heartbeat timer for every session (ingest/heartbeat.ts) instead of a setInterval each:
 * every session is still beaten once a heartbeat, the beats are spread over the heartbeat (one
 * group of sessions per tick, not 10,000 pings in one burst), a session that closes during a sweep
 * leaves it at once, an upgraded socket lets go of the idle timer it no longer uses (a cleared one
 * only), and a peer that stops answering is still closed within two heartbeats while
 * the others stay. The sweep is driven by real timers; the server test uses the real
 * CollectorServer, a real SQLite file through the write thread and real WebSocket clients on
 * loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, encodeMessage } from '@tcpfleet/common';
import { HeartbeatSweep, SLICES } from '../../packages/collector/src/ingest/heartbeat.js';
import { CollectorServer, dropIdleTimer } from '../../packages/collector/src/ingest/server.js';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { IngestWriter } from '../../packages/collector/src/ingest/writer.js';
import { Authenticator } from '../../packages/collector/src/ingest/auth.js';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { ThreadedStore } from '../../packages/collector/src/store/write-thread.js';
import { tempDir, waitFor } from '../helpers/procs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HeartbeatSweep', () => {
  it('beats each member once a heartbeat, one group per tick, and drops a member deleted during its own beat', async () => {
    const EVERY = 320;
    const N = 3 * SLICES;
    const sweep = new HeartbeatSweep(EVERY);
    cleanups.push(() => sweep.stop());
    const beats: number[][] = Array.from({ length: N }, () => []);
    /** The members beaten in one synchronous sweep (a tick), in order. */
    const ticks: number[][] = [];
    let current: number[] | null = null;
    const record = (i: number): void => {
      if (current === null) {
        current = [];
        ticks.push(current);
        queueMicrotask(() => {
          current = null;
        });
      }
      current.push(i);
      beats[i]!.push(performance.now());
    };
    // Member 0 closes on its second beat (as a session terminated by its beat does).
    const members = Array.from({ length: N }, (_, i) => ({
      beat: (): void => {
        record(i);
        if (i === 0 && beats[0]!.length === 2) sweep.delete(members[0]!);
      },
    }));
    for (const m of members) sweep.add(m);
    sweep.add(members[1]!); // added twice: still one member
    expect(sweep.size).toBe(N);

    await waitFor(() => beats.every((b, i) => i === 0 || b.length >= 4), 'four beats of every member', 20_000, 10);
    sweep.stop();
    // Member 0 was beaten twice, then left the sweep; the member after it in its group was still beaten.
    expect(beats[0]).toHaveLength(2);
    expect(sweep.size).toBe(N - 1);
    // One group per tick: never more than N / SLICES members in one sweep.
    expect(Math.max(...ticks.map((t) => t.length))).toBeLessThanOrEqual(N / SLICES);
    // The first beats were spread over the heartbeat: at least one tick per group.
    const firstRound = ticks.slice(0, SLICES).flat();
    expect(new Set(firstRound).size).toBe(N);
    // Never beaten twice within a heartbeat (Node timers do not fire early; 5 ms for rounding).
    for (const b of beats) for (let k = 1; k < b.length; k++) expect(b[k]! - b[k - 1]!).toBeGreaterThanOrEqual(EVERY - 5);
  });
});

describe('sessions on one heartbeat sweep', () => {
  it('pings every agent once a heartbeat and closes one that stops answering within two heartbeats', async () => {
    const HEARTBEAT = 400;
    const TOKEN = 'heartbeat-sweep-fleet-token';
    const t = tempDir('heartbeat-sweep');
    const log = pino({ level: 'silent' });
    const opts = { path: `${t.dir}/c.db` };
    const store = new ThreadedStore(new SqliteStore(opts), { store: opts, logLevel: 'silent' }, log);
    const writer = new IngestWriter({ store, log });
    const server = new CollectorServer({
      host: '127.0.0.1',
      port: 0,
      log,
      store,
      writer,
      auth: new Authenticator(store, TOKEN),
      heartbeatMs: HEARTBEAT,
      http: (_req, res) => res.writeHead(404).end(),
    });
    const port = await server.listen();
    cleanups.push(
      () => t.cleanup(),
      () => store.close(),
      () => server.close(),
    );

    const agents = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { Authorization: `Bearer ${TOKEN}` }, perMessageDeflate: false, autoPong: false });
        cleanups.push(() => ws.terminate());
        const a = { ws, answering: true, pings: [] as number[], closed: null as number | null };
        ws.on('ping', (data) => {
          a.pings.push(performance.now());
          if (a.answering) ws.pong(data);
        });
        ws.on('close', (code) => {
          a.closed = code;
        });
        await new Promise<void>((resolve, reject) => {
          ws.on('message', (data) => {
            if ((JSON.parse(String(data)) as { type: string }).type === 'welcome') resolve();
          });
          ws.on('close', () => reject(new Error(`agent ${i} closed before its welcome`)));
          ws.on('open', () =>
            ws.send(
              encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, host: `sweep-${i}`, boot: '00000000-0000-4000-8000-000000000001', agent: 'heartbeat-sweep-test', interval_ms: 1000, labels: {} }),
            ),
          );
        });
        return a;
      }),
    );
    expect(server.connected).toBe(24);

    // Every agent pinged at least three times; none more often than once a heartbeat.
    await waitFor(() => agents.every((a) => a.pings.length >= 3), 'three pings to every agent', 20_000, 10);
    for (const a of agents) for (let k = 1; k < a.pings.length; k++) expect(a.pings[k]! - a.pings[k - 1]!).toBeGreaterThanOrEqual(HEARTBEAT - 20);

    // One agent stops answering: closed within two heartbeats (plus 1 s for late timers on a
    // loaded machine); the others stay.
    const quiet = agents[5]!;
    quiet.answering = false;
    const silentAt = Date.now();
    await waitFor(() => quiet.closed !== null, 'the silent agent closed', 10_000, 10);
    expect(Date.now() - silentAt).toBeLessThan(2 * HEARTBEAT + 1000);
    await waitFor(() => server.connected === 23, 'its session released', 5000, 10);
    const after = agents.map((a) => a.pings.length);
    await waitFor(() => agents.every((a, i) => a === quiet || a.pings.length >= after[i]! + 2), 'two more pings to the others', 10_000, 10);
    expect(agents.filter((a) => a.closed !== null)).toEqual([quiet]);
  });
});

describe('dropIdleTimer', () => {
  it("drops a socket's cleared idle timer and leaves an armed one firing", async () => {
    const server = createServer();
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => resolve(c));
        c.on('error', reject);
        cleanups.push(() => void c.destroy());
      });
    const timerOf = (s: Socket): unknown => {
      const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'timeout');
      return key === undefined ? undefined : (s as unknown as Record<symbol, unknown>)[key];
    };

    // Cleared (as ws does on upgrade): Node keeps the Timeout; dropIdleTimer lets go of it.
    const cleared = await open();
    cleared.setTimeout(10_000);
    cleared.setTimeout(0);
    expect(timerOf(cleared)).toBeTypeOf('object');
    dropIdleTimer(cleared);
    expect(timerOf(cleared)).toBeNull();

    // Armed: kept, and it still fires.
    const armed = await open();
    let timedOut = false;
    armed.setTimeout(50, () => {
      timedOut = true;
    });
    dropIdleTimer(armed);
    expect(timerOf(armed)).not.toBeNull();
    await waitFor(() => timedOut, 'the armed idle timer to fire', 5000, 10);
  });
});
