/**
 * The uplink with snapshots that carry namespaces, against an in-process WebSocket collector
 * stand-in on loopback that decodes every frame with the collector's own decoders: batches are
 * sized so that every frame stays under the 1 MiB limit (JSON entries are about 1.3 KB each), a
 * snapshot too big for one frame even alone goes without its entries (with an error saying so),
 * and over bin1 everything arrives exactly as it was queued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { pino } from 'pino';
import { BIN1, Bin1Decoder, MAX_FRAME_BYTES, NAMESPACES_FEATURE, decodeAgentMessage } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { Uplink } from '../../packages/agent/src/uplink/uplink.js';
import { MemoryStore, Outbox } from '../../packages/agent/src/uplink/outbox.js';
import { fixtureSnapshot } from '../helpers/snapshots.js';
import { withNamespaces } from '../helpers/ns-entries.js';

interface Received {
  bytes: number;
  binary: boolean;
  snapshots: Snapshot[];
}

/** A collector stand-in: welcomes with `encodings`, decodes each batch as the collector does, acks it. */
async function standIn(encodings: string[]): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_FRAME_BYTES });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const got: Received[] = [];
  wss.on('connection', (ws: WebSocket) => {
    const bin = new Bin1Decoder();
    ws.on('message', (d: Buffer, isBinary) => {
      if (isBinary) {
        const m = bin.decode(d, 'h', {});
        got.push({ bytes: d.length, binary: true, snapshots: JSON.parse(JSON.stringify(m.snapshots)) as Snapshot[] });
        ws.send(JSON.stringify({ type: 'ack', id: m.id, stored: m.snapshots.length, duplicates: 0 }));
        return;
      }
      const m = JSON.parse(d.toString()) as { type: string; id: number };
      if (m.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', v: 1, host: 'h', heartbeat_ms: 15_000, max_batch: 64, encodings, features: [NAMESPACES_FEATURE] }));
        return;
      }
      const b = decodeAgentMessage(d, MAX_FRAME_BYTES);
      if (b.type !== 'batch') return;
      got.push({ bytes: d.length, binary: false, snapshots: b.snapshots });
      ws.send(JSON.stringify({ type: 'ack', id: b.id, stored: b.snapshots.length, duplicates: 0 }));
    });
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    got,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function deliver(encodings: string[], snaps: Snapshot[]): Promise<Received[]> {
  const col = await standIn(encodings);
  const outbox = new Outbox(new MemoryStore(1000));
  for (const s of snaps) outbox.push(s);
  const up = new Uplink({
    urls: [col.url],
    token: 't',
    hello: { host: 'h', boot: snaps[0]!.boot, agent: 'test', interval_ms: 10_000, labels: {} },
    outbox,
    log: pino({ level: 'silent' }),
    heartbeatMs: 15_000,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
  });
  cleanups.push(async () => {
    await up.stop(100);
    await col.close();
  });
  up.start();
  const until = Date.now() + 60_000;
  while (outbox.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(outbox.size, 'every snapshot acknowledged').toBe(0);
  expect(up.stats.connects).toBeLessThanOrEqual(1);
  return col.got;
}

const session = (n: number, count: number): Snapshot[] => {
  const top = { ...fixtureSnapshot({ seq: 1 }), interval_ms: 10_000 };
  return Array.from({ length: count }, (_, t) => {
    const s = withNamespaces(top, n, t);
    return { ...s, host: 'h', collect: { ...s.collect, ms: 1.5 } };
  });
};

describe('uplink with namespaces', () => {
  it('over JSON, sizes batches so that every frame stays under 1 MiB, and delivers every entry', async () => {
    const snaps = session(600, 10);
    const got = await deliver(['json'], snaps);
    expect(got.every((g) => !g.binary && g.bytes <= MAX_FRAME_BYTES)).toBe(true);
    const all = got.flatMap((g) => g.snapshots).sort((a, b) => a.seq - b.seq);
    expect(all.map((s) => s.seq)).toEqual(snaps.map((s) => s.seq));
    expect(all.map((s) => s.namespaces?.length)).toEqual(snaps.map(() => 600));
    expect(JSON.parse(JSON.stringify(all))).toEqual(JSON.parse(JSON.stringify(snaps)));
  });

  it('over JSON, sends a snapshot too big for one frame without its entries, saying why', async () => {
    const [big] = session(1000, 1);
    const got = await deliver(['json'], [big!]);
    expect(got).toHaveLength(1);
    const s = got[0]!.snapshots[0]!;
    expect(s).not.toHaveProperty('namespaces');
    expect(s.states).toEqual(big!.states);
    expect(s.collect.namespaces?.reported).toBe(1000);
    expect(s.collect.namespaces?.errors.at(-1)).toMatch(/^namespaces not sent: the snapshot with its 1000 entries is larger than one frame/);
  });

  it('over bin1, packs many snapshots of 600 namespaces in a frame and delivers exactly what was queued', async () => {
    const snaps = session(600, 20);
    const got = await deliver(['json', BIN1], snaps);
    expect(got.every((g) => g.binary && g.bytes <= MAX_FRAME_BYTES)).toBe(true);
    expect(got.length).toBeLessThan(snaps.length);
    const all = got.flatMap((g) => g.snapshots).sort((a, b) => a.seq - b.seq);
    expect(JSON.parse(JSON.stringify(all))).toEqual(JSON.parse(JSON.stringify(snaps.map((s) => ({ ...s, labels: {} })))));
  });
});
