/**
 * The load generator's WebSocket client (bench/lib/loadgen-ws.mjs), against ws's server (what the
 * collector runs) and a raw TCP server: a masked frame per message with a fresh key each, every
 * payload size class intact, a fragmented message with a ping inside it reassembled and the ping
 * answered, the server's close answered with the same code, a refused upgrade never opens.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

/** bench/lib/loadgen-ws.mjs (plain JavaScript, in no tsconfig): the parts these tests use. */
interface WsClient {
  onOpen: () => void;
  onMessage: (data: Buffer, isText: boolean) => void;
  onClose: () => void;
  onError: (err: Error) => void;
  send(data: string | Uint8Array, len?: number): void;
  close(code?: number, reason?: string): void;
}
interface LoadgenWs {
  WsClient: new (url: string, headers?: Record<string, string>) => WsClient;
  clientFrame: (opcode: number, payload: Uint8Array, len?: number) => Buffer;
}
const { WsClient, clientFrame } = (await import(new URL('../../bench/lib/loadgen-ws.mjs', import.meta.url).href)) as LoadgenWs;

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A ws server on loopback (no compression, as the collector's). */
async function wsServer(): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  closers.push(() => wss.close());
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ingest` };
}

/** Resolves when `pred` holds (checked every 10 ms, at most 5 s). */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!pred()) throw new Error(`timed out waiting for ${what}`);
}

describe('loadgen WebSocket client', () => {
  it('sends text and binary messages of every length class that ws reads back intact, with its headers', async () => {
    const { wss, url } = await wsServer();
    const got: [boolean, Buffer][] = [];
    let auth: string | undefined;
    wss.on('connection', (ws, req) => {
      auth = req.headers.authorization;
      ws.on('message', (d: Buffer, bin) => got.push([bin, d]));
    });
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 200_003];
    const payloads = sizes.map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) & 255)));
    const c = new WsClient(url, { Authorization: 'Bearer abc' });
    c.onOpen = () => {
      c.send('{"type":"hello"}');
      for (const p of payloads) c.send(p);
      // Only the first `len` bytes of a larger buffer (the generator's scratch buffer).
      c.send(Buffer.from('abcdefgh'), 5);
    };
    await until(() => got.length === payloads.length + 2, 'all messages');
    expect(auth).toBe('Bearer abc');
    expect(got[0]).toEqual([false, Buffer.from('{"type":"hello"}')]);
    payloads.forEach((p, i) => expect(got[i + 1]).toEqual([true, p]));
    expect(got.at(-1)).toEqual([true, Buffer.from('abcde')]);
    c.close();
  });

  it('masks every frame with its own key (RFC 6455 5.3)', () => {
    const payload = Buffer.alloc(640, 0x5a);
    const keys = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const f = clientFrame(2, payload);
      expect(f[0]).toBe(0x82);
      expect(f[1]).toBe(0x80 | 126);
      expect(f.readUInt16BE(2)).toBe(640);
      const key = f.subarray(4, 8);
      keys.add(key.toString('hex'));
      const unmasked = Buffer.from(f.subarray(8).map((b, j) => b ^ key[j & 3]!));
      expect(unmasked).toEqual(payload);
    }
    expect(keys.size).toBe(50);
  });

  it('reassembles a fragmented message, answers pings (also between fragments) and echoes the close code', async () => {
    const { wss, url } = await wsServer();
    const pongs: string[] = [];
    let serverClose: number | null = null;
    wss.on('connection', (ws) => {
      ws.on('pong', (d) => pongs.push(d.toString()));
      ws.on('close', (code) => (serverClose = code));
      ws.on('message', () => {
        ws.send('{"a":', { fin: false });
        ws.ping('between');
        ws.send('[1,2]', { fin: false });
        ws.send('}', { fin: true });
        ws.send(Buffer.alloc(70_000, 9), { binary: true });
        ws.close(4001, 'bye');
      });
      ws.ping('first');
    });
    const msgs: [boolean, string][] = [];
    let closed = false;
    const c = new WsClient(url);
    c.onOpen = () => c.send('go');
    c.onMessage = (d, text) => msgs.push([text, text ? d.toString() : `${d.length} bytes of ${d[0]}`]);
    c.onClose = () => (closed = true);
    await until(() => closed && serverClose !== null, 'the closing handshake');
    expect(msgs).toEqual([
      [true, '{"a":[1,2]}'],
      [false, '70000 bytes of 9'],
    ]);
    expect(pongs).toEqual(['first', 'between']);
    expect(serverClose).toBe(4001);
  });

  it('does not open when the upgrade is refused or the accept key is wrong', async () => {
    const answers = ['HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n'];
    for (const answer of answers) {
      const server: Server = createServer((s: Socket) => s.once('data', () => s.write(answer)));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      closers.push(() => server.close());
      let opened = false;
      let closed = false;
      const errors: string[] = [];
      const c = new WsClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      c.onOpen = () => (opened = true);
      c.onError = (e) => errors.push(e.message);
      c.onClose = () => (closed = true);
      await until(() => closed, 'the refused connection to close');
      expect(opened).toBe(false);
      expect(errors.join()).toMatch(answer.includes('401') ? /unexpected answer "HTTP\/1.1 401 Unauthorized"/ : /wrong Sec-WebSocket-Accept/);
    }
  });
});
