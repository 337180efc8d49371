/**
 * An agent's socket whose session is paused (write-queue backpressure) stops reading from the
 * kernel after about PAUSED_READ_AHEAD bytes instead of Node's 16 KiB: at 10,000 agents the
 * difference was 80-160 MB of frames held in the collector. Real sockets on loopback.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PAUSED_READ_AHEAD, limitPausedReads } from '../../packages/collector/src/ingest/server.js';

const FRAME = 400;
const FRAMES = 100;

let server: Server | undefined;
let client: Socket | undefined;
afterEach(() => {
  client?.destroy();
  server?.close();
  server?.closeAllConnections();
});

/** Upgrades one raw connection, pauses the server's side, then sends FRAMES writes of FRAME bytes one by one; returns the server's socket once every write left the client. */
async function pausedUpgrade(limit: boolean): Promise<Duplex> {
  const srv = createServer();
  server = srv;
  const upgraded = new Promise<Duplex>((resolve) =>
    srv.on('upgrade', (_req, socket: Duplex) => {
      if (limit) limitPausedReads(socket);
      socket.on('data', () => undefined);
      socket.pause();
      resolve(socket);
    }),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const c = connect(port, '127.0.0.1');
  client = c;
  await new Promise<void>((r) => c.once('connect', r));
  c.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const socket = await upgraded;
  // One write at a time, each flushed to the kernel before the next, so the server sees many
  // small reads, as from an agent sending one frame a second.
  for (let i = 0; i < FRAMES; i++) {
    await new Promise<void>((r) => c.write(Buffer.alloc(FRAME, i), () => r()));
    await new Promise((r) => setImmediate(r));
  }
  return socket;
}

/** Reads whatever the paused socket takes from the kernel: event-loop turns until its buffer stops growing (bounded). */
async function settled(socket: Duplex): Promise<number> {
  let last = -1;
  for (let i = 0; i < 200 && socket.readableLength !== last; i++) {
    last = socket.readableLength;
    await new Promise((r) => setTimeout(r, 5));
  }
  return socket.readableLength;
}

describe('paused agent sockets', () => {
  it('read ahead about PAUSED_READ_AHEAD bytes, not 16 KiB, and deliver every byte once resumed', async () => {
    const socket = await pausedUpgrade(true);
    const held = await settled(socket);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(PAUSED_READ_AHEAD + FRAME);
    // Nothing is lost: the rest waited in the kernel.
    let got = 0;
    socket.removeAllListeners('data');
    const all = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= FRAME * FRAMES) resolve();
      }),
    );
    socket.resume();
    await all;
    expect(got).toBe(FRAME * FRAMES);
  });

  it('(without the limit, Node reads 16 KiB ahead of a paused session: what the limit removes)', async () => {
    const socket = await pausedUpgrade(false);
    expect(await settled(socket)).toBeGreaterThanOrEqual(16 * 1024);
  });
});
