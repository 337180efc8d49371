/**
 * The collector writes its frames to an agent whole (ingest/frames.ts: header and payload in one
 * Buffer, one socket.write) instead of through ws's Sender. What must not change: the bytes on the
 * wire (valid RFC 6455 frames, the ack/nack JSON of docs/protocol.md), the order among ws's own
 * frames (pings, close), backpressure (ws.bufferedAmount sees these frames: the session closes an
 * agent that stopped reading), and no write once a session is closing. A raw TCP client parses
 * what the real collector sends, independently of ws.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import { ackJson, directSocket, sendText, textFrame } from '../../packages/collector/src/ingest/frames.js';
import { killAll, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';
import { hello, snapshot } from '../helpers/wire.js';

/** ws's own framing (its Sender, which @types/ws does not declare): what the collector wrote before. */
const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, o: Record<string, unknown>): Buffer[] } }).Sender;

const t = tempDir('ack-frames');
afterAll(() => {
  killAll();
  t.cleanup();
});

/** One frame as RFC 6455 5.2 lays it out, parsed from raw bytes. */
interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Header bytes: 2, 4 or 10 (always the shortest that fits, as 5.2 requires). */
  head: number;
  payload: Buffer;
}

/** Parses every complete frame at the start of `buf`; returns them and the bytes left over. Throws on a non-minimal length. */
function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const b0 = buf[at] ?? 0;
    const b1 = buf[at + 1] ?? 0;
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      head = 4;
      if (len < 126) throw new Error(`non-minimal 16-bit length ${len}`);
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      head = 10;
      if (len < 65_536) throw new Error(`non-minimal 64-bit length ${len}`);
    }
    const masked = (b1 & 0x80) !== 0;
    const start = at + head + (masked ? 4 : 0);
    if (buf.length < start + len) break;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, head, payload: buf.subarray(start, start + len) });
    at = start + len;
  }
  return { frames, rest: buf.subarray(at) };
}

/** A client frame (masked, final) of `opcode` holding `payload`. */
function clientFrame(payload: Buffer | string, opcode = 0x1): Buffer {
  const data = Buffer.from(payload);
  const len = data.length;
  const ext = len < 126 ? 0 : len < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = 0x80 | opcode;
  head[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const mask = randomBytes(4);
  mask.copy(head, 2 + ext);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = (data[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([head, body]);
}

/** A raw WebSocket client: the handshake by hand, then every frame the server sends, parsed. */
class RawAgent {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #upgraded = false;
  status = '';
  closed = false;

  constructor(port: number, token: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (d: Buffer) => this.#onData(d));
    const key = randomBytes(16).toString('base64');
    this.socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    if (!this.#upgraded) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = this.#buf.subarray(0, this.#buf.indexOf('\r\n')).toString('latin1');
      this.#upgraded = true;
      this.#buf = this.#buf.subarray(end + 4);
    }
    const { frames, rest } = parseFrames(this.#buf);
    this.frames.push(...frames);
    this.#buf = rest;
  }

  send(text: string): void {
    this.socket.write(clientFrame(text));
  }

  /** Text payloads received so far. */
  texts(): string[] {
    return this.frames.filter((f) => f.opcode === 0x1).map((f) => f.payload.toString('utf8'));
  }

  async waitTexts(n: number, what: string): Promise<string[]> {
    await waitFor(() => this.texts().length >= n || this.closed, what);
    return this.texts();
  }
}

describe('frames written whole', () => {
  it('are byte-identical to what ws frames: 2-, 4- and 10-byte headers, UTF-8 payloads', () => {
    const cases = ['', 'a', 'x'.repeat(125), 'x'.repeat(126), 'é'.repeat(63), 'é'.repeat(64), 'x'.repeat(65_535), 'x'.repeat(65_536), `{"host":"hôte-\u{1f600}"}`];
    for (const text of cases) {
      const ours = textFrame(text);
      const theirs = Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 0x1, mask: false, readOnly: false, rsv1: false }));
      expect(ours.equals(theirs), `frame of ${Buffer.byteLength(text)} bytes`).toBe(true);
      const { frames, rest } = parseFrames(ours);
      expect(rest.length).toBe(0);
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ fin: true, rsv: 0, opcode: 0x1, masked: false });
      expect(frames[0]?.payload.toString('utf8')).toBe(text);
    }
  });

  it('ack JSON is what JSON.stringify writes for the contract shape', () => {
    for (const [id, stored, dup] of [
      [0, 0, 0],
      [1, 1, 0],
      [4_294_967_296, 64, 63],
      [Number.MAX_SAFE_INTEGER, 0, 64],
    ] as const) {
      expect(ackJson(id, stored, dup)).toBe(JSON.stringify({ type: 'ack', id, stored, duplicates: dup }));
    }
  });
});

describe('collector frames on the wire', () => {
  let c: Collector;
  const agents: RawAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.socket.destroy();
  });

  it('welcome, acks and nacks are valid unmasked text frames with the contract JSON, in order', async () => {
    c = await startCollector(t.dir);
    const a = new RawAgent(c.port, c.token);
    agents.push(a);
    a.send(hello('wire-host'));
    const [welcome] = await a.waitTexts(1, 'welcome');
    expect(a.status).toBe('HTTP/1.1 101 Switching Protocols');
    expect(JSON.parse(welcome ?? '')).toMatchObject({ type: 'welcome', host: 'wire-host' });
    // Batches 1..3 stored (ack), then one stamped an hour ahead (CLOCK_SKEW nack), then 1 again (duplicate).
    for (let i = 1; i <= 3; i++) a.send(JSON.stringify({ type: 'batch', id: i, snapshots: [snapshot('wire-host', i)] }));
    const texts = await a.waitTexts(4, 'three acks');
    a.send(JSON.stringify({ type: 'batch', id: 4, snapshots: [snapshot('wire-host', 4, undefined, { ts: Date.now() + 3_600_000 })] }));
    await a.waitTexts(5, 'a nack');
    a.send(JSON.stringify({ type: 'batch', id: 5, snapshots: [snapshot('wire-host', 1)] }));
    await a.waitTexts(6, 'the duplicate ack');
    expect(a.closed).toBe(false);
    expect(texts.slice(1, 4)).toEqual([1, 2, 3].map((id) => JSON.stringify({ type: 'ack', id, stored: 1, duplicates: 0 })));
    const all = a.texts();
    const nack = JSON.parse(all[4] ?? '') as Record<string, unknown>;
    expect(Object.keys(nack)).toEqual(['type', 'id', 'code', 'retryable', 'message']);
    expect(nack).toMatchObject({ type: 'nack', id: 4, code: 'CLOCK_SKEW', retryable: false });
    expect(all[5]).toBe(JSON.stringify({ type: 'ack', id: 5, stored: 0, duplicates: 1 }));
    // Every frame the collector sent: final, no RSV bits, unmasked (a server's frames are not masked).
    for (const f of a.frames) expect(f).toMatchObject({ fin: true, rsv: 0, masked: false });
    // The welcome is longer than 125 bytes: the 16-bit length form; the acks the 7-bit one.
    expect(a.frames[0]?.head).toBe(4);
    expect(a.frames[1]?.head).toBe(2);
    // A client frame after the close handshake: the collector answers a close with a close frame (1000).
    a.socket.write(clientFrame(Buffer.from([0x03, 0xe8]), 0x8));
    await waitFor(() => a.frames.some((f) => f.opcode === 0x8), 'close frame');
    expect(a.frames.at(-1)?.payload.readUInt16BE(0)).toBe(1000);
  });

  it('agents that close before their ack is written leave the collector serving (no write after close, no crash)', async () => {
    const n = 40;
    const quitters: RawAgent[] = [];
    for (let i = 0; i < n; i++) {
      const a = new RawAgent(c.port, c.token);
      agents.push(a);
      quitters.push(a);
      a.send(hello(`quit-${i}`));
    }
    await waitFor(() => quitters.every((a) => a.texts().length >= 1), 'every welcome');
    // Each sends a batch and goes at once: half end the TCP connection, half reset it.
    quitters.forEach((a, i) => {
      a.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [snapshot(`quit-${i}`, 1)] }));
      if (i % 2 === 0) a.socket.end();
      else a.socket.resetAndDestroy();
    });
    await waitFor(() => quitters.every((a) => a.closed), 'every quitter closed');
    // The collector is alive and still acknowledges a new agent.
    const b = new RawAgent(c.port, c.token);
    agents.push(b);
    b.send(hello('after-quitters'));
    await b.waitTexts(1, 'welcome after the quitters');
    b.send(JSON.stringify({ type: 'batch', id: 7, snapshots: [snapshot('after-quitters', 1)] }));
    const texts = await b.waitTexts(2, 'ack after the quitters');
    expect(texts[1]).toBe(ackJson(7, 1, 0));
    expect(c.proc.exitCode).toBe(null);
    const problems = c.logs().filter((l) => Number(l['level']) >= 50);
    expect(problems).toEqual([]);
    await stopProc(c);
  });
});

describe('frames written whole among ws', () => {
  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  const clients: Socket[] = [];
  afterEach(() => {
    for (const s of clients.splice(0)) s.destroy();
    wss?.close();
    server?.closeAllConnections();
    server?.close();
  });

  /** A ws server set up as the collector's; resolves with its port and each upgraded (ws, socket). */
  async function wsServer(perMessageDeflate: boolean): Promise<{ port: number; next: () => Promise<{ ws: WebSocket; socket: Duplex }> }> {
    const w = new WebSocketServer({ noServer: true, perMessageDeflate, clientTracking: false });
    wss = w;
    const srv = createServer();
    server = srv;
    const waiting: ((x: { ws: WebSocket; socket: Duplex }) => void)[] = [];
    srv.on('upgrade', (req, socket: Duplex, head: Buffer) => w.handleUpgrade(req, socket, head, (ws) => waiting.shift()?.({ ws, socket })));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    return { port, next: () => new Promise((resolve) => waiting.push(resolve)) };
  }

  it('keep their place among ws pings and its close frame; nothing is written once closing', async () => {
    const { port, next } = await wsServer(false);
    const upgraded = next();
    const a = new RawAgent(port, 'x');
    clients.push(a.socket);
    const { ws, socket } = await upgraded;
    const direct = directSocket(ws, socket);
    expect(direct).toBe(socket);
    sendText(ws, direct, 'one');
    ws.ping();
    sendText(ws, direct, 'two'.repeat(100));
    ws.send('three');
    ws.close(1000, 'bye');
    // The session checks OPEN before writing (Session #sendText); ws is CLOSING now: a write would go after the close frame.
    expect(ws.readyState).toBe(ws.CLOSING);
    await waitFor(() => a.frames.length >= 5, 'five frames');
    expect(a.frames.map((f) => [f.opcode, f.payload.toString('latin1')])).toEqual([
      [0x1, 'one'],
      [0x9, ''],
      [0x1, 'two'.repeat(100)],
      [0x1, 'three'],
      [0x8, '\u0003\u00e8bye'],
    ]);
    // Once the socket is gone, a send neither throws nor writes.
    socket.destroy();
    await new Promise((r) => setImmediate(r));
    expect(() => sendText(ws, direct, 'late')).not.toThrow();
    expect(socket.writableLength).toBe(0);
  });

  it('count in ws.bufferedAmount while the agent does not read (the session closes it beyond 1 MiB), and all arrive once it reads', async () => {
    const { port, next } = await wsServer(false);
    const upgraded = next();
    const a = new RawAgent(port, 'x');
    clients.push(a.socket);
    const { ws, socket } = await upgraded;
    await waitFor(() => a.status !== '', '101');
    a.socket.pause();
    const direct = directSocket(ws, socket);
    const frame = 'f'.repeat(60_000);
    let sent = 0;
    // Bounded: at most 2,000 frames (120 MB) to fill the kernel's buffers and 1 MiB more.
    while (ws.bufferedAmount <= 1024 * 1024 && sent < 2000) {
      sendText(ws, direct, frame);
      sent++;
      if (sent % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(ws.bufferedAmount).toBeGreaterThan(1024 * 1024);
    expect(ws.bufferedAmount).toBe(socket.writableLength);
    a.socket.resume();
    await waitFor(() => a.frames.length >= sent, `${sent} frames`, 60_000);
    expect(a.frames).toHaveLength(sent);
    expect(a.frames.every((f) => f.opcode === 0x1 && f.head === 4 && f.payload.length === 60_000)).toBe(true);
    await waitFor(() => ws.bufferedAmount === 0, 'drained');
  });

  it('go through ws.send when an extension was negotiated (permessage-deflate)', async () => {
    const { port, next } = await wsServer(true);
    const upgraded = next();
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
    client.on('error', () => {});
    const got = new Promise<string>((resolve) => client.once('message', (d) => resolve(String(d))));
    const { ws, socket } = await upgraded;
    expect(ws.extensions).toContain('permessage-deflate');
    const direct = directSocket(ws, socket);
    expect(direct).toBe(null);
    sendText(ws, direct, 'compressed hello');
    expect(await got).toBe('compressed hello');
    client.terminate();
  });
});
