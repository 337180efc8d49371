/**
 * Hostile clients for the fault suite: raw HTTP over TCP (header floods, slowloris, idle
 * sockets) and WebSocket sessions that send what a test tells them to, reporting how the
 * collector closed them.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';

/** Sends raw bytes and resolves with what came back before the socket closed (bounded). */
export function rawExchange(port: number, payload: string | Buffer, timeoutMs = 15_000): Promise<{ response: string; closedMs: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect(port, '127.0.0.1');
    let out = '';
    const done = (): void => resolve({ response: out, closedMs: Date.now() - t0 });
    const timer = setTimeout(() => {
      s.destroy();
      done();
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      if (out.length < 4096) out += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      done();
    });
    s.write(payload);
  });
}

/** Opens a TCP socket that trickles one header byte per `everyMs`; resolves when the server closes it. */
export function slowloris(port: number, everyMs: number, maxMs: number): { socket: Socket; closed: Promise<number> } {
  const t0 = Date.now();
  const s = connect(port, '127.0.0.1');
  const text = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(10_000);
  let i = 0;
  const timer = setInterval(() => {
    if (!s.destroyed) s.write(text[i++ % text.length] ?? 'a');
  }, everyMs);
  const guard = setTimeout(() => s.destroy(), maxMs);
  s.on('error', () => {});
  s.resume();
  const closed = new Promise<number>((resolve) =>
    s.on('close', () => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve(Date.now() - t0);
    }),
  );
  return { socket: s, closed };
}

/** Result of a hostile WebSocket session. */
export interface WsOutcome {
  status?: number;
  code?: number;
  reason?: string;
  ms: number;
  extensions?: string | undefined;
}

/** Connects with a token, runs `act` once open, and resolves when the session ends (bounded). */
export function wsSession(url: string, token: string | null, act: (ws: WebSocket) => void, opts: ClientOptions = {}, timeoutMs = 20_000): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const headers: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, ...opts });
    let extensions: string | undefined;
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ ms: Date.now() - t0, reason: 'test timeout' });
    }, timeoutMs);
    ws.on('upgrade', (res) => {
      extensions = res.headers['sec-websocket-extensions'];
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 });
      ws.terminate();
    });
    ws.on('open', () => act(ws));
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString(), ms: Date.now() - t0, extensions });
    });
  });
}

/** A hello for `host` as an agent sends it. */
export function hello(host: string, boot = '00000000-0000-4000-8000-00000000beef'): string {
  return JSON.stringify({ type: 'hello', v: 1, host, boot, agent: 'test', interval_ms: 1000, labels: {} });
}

const STATES = ['established', 'syn_sent', 'syn_recv', 'fin_wait1', 'fin_wait2', 'time_wait', 'close', 'close_wait', 'last_ack', 'listen', 'closing', 'new_syn_recv'];

/** A valid snapshot (override fields to make it invalid). */
export function snapshot(host: string, seq: number, boot = '00000000-0000-4000-8000-00000000beef', over: Record<string, unknown> = {}): Record<string, unknown> {
  const z = Object.fromEntries(STATES.map((s) => [s, 0]));
  return {
    host,
    ts: Date.now(),
    seq,
    boot,
    interval_ms: 1000,
    labels: {},
    states: { ...z, established: seq },
    ipv4: z,
    ipv6: z,
    summary: { total: 0, estab: 0, closed: 0, orphaned: 0, timewait: 0 },
    sockstat: { sockets_used: 0, tcp_inuse: 0, tcp_orphan: 0, tcp_tw: 0, tcp_alloc: 0, tcp_mem: 0, tcp6_inuse: 0 },
    snmp: {},
    netstat: {},
    collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
    ...over,
  };
}
