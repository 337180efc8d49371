/**
 * One port for everything: WebSocket ingest on upgrade (bearer token checked before the upgrade:
 * 401 and nothing stored when it is wrong) and the read-only HTTP API for every other request.
 * Limits on everything from the network: header count and size, header and request timeouts,
 * frame size, hello timeout, per-address failure rate.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { CLOSE_CODES, MAX_FRAME_BYTES } from '@tcpfleet/common';
import { Session } from './session.js';
import type { SessionContext } from './session.js';
import type { Authenticator } from './auth.js';
import { bearer } from './auth.js';
import type { IngestWriter } from './writer.js';
import type { Store } from '../store/store.js';

/** Options of the collector's server. */
export interface ServerOptions {
  host: string;
  port: number;
  log: Logger;
  store: Store;
  writer: IngestWriter;
  auth: Authenticator;
  tls?: { cert: Buffer; key: Buffer } | undefined;
  heartbeatMs?: number;
  helloTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Handles a plain HTTP request (the query API). */
  http: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Fault injection for the fault suite only (test/helpers/fault-collector.mjs passes it; nothing
   * in the product sets it): every N-th committed batch, across sessions, cuts its connection
   * instead of acknowledging (a lost acknowledgement).
   */
  dropAckEvery?: number | undefined;
}

/** True on every n-th call (never when n is unset or 0). */
function dropEvery(n: number | undefined): (() => boolean) | undefined {
  if (n === undefined || n <= 0) return undefined;
  let calls = 0;
  return () => ++calls % n === 0;
}

export class CollectorServer {
  readonly #o: ServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, Session>();
  readonly #all = new Set<Session>();
  #paused = false;
  readonly #ctx: SessionContext;
  /** Upgrades refused, by reason. */
  readonly refused = { auth: 0, limited: 0, origin: 0 };
  /** Batch frames received since start, by encoding. */
  readonly frames = { json: 0, bin1: 0 };

  constructor(o: ServerOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'server' });
    // connectionsCheckingInterval: how often Node enforces headersTimeout/requestTimeout (default
    // 30 s, which would let a slowloris socket live for 40 s).
    const serverOpts = { maxHeaderSize: 16 * 1024, requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };
    this.#server = o.tls !== undefined ? createHttpsServer({ ...serverOpts, cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' }, o.http) : createHttpServer(serverOpts, o.http);
    this.#server.maxHeadersCount = 100;
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 15_000;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes ?? MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false, maxFragments: 1024 });
    this.#ctx = {
      log: o.log,
      writer: o.writer,
      store: o.store,
      heartbeatMs: o.heartbeatMs ?? 15_000,
      helloTimeoutMs: o.helloTimeoutMs ?? 10_000,
      maxBufferedBytes: 1024 * 1024,
      claim: (host, s) => {
        const prev = this.#sessions.get(host) ?? null;
        this.#sessions.set(host, s);
        return prev === s ? null : prev;
      },
      release: (host, s) => {
        if (this.#sessions.get(host) === s) this.#sessions.delete(host);
        this.#all.delete(s);
      },
      paused: () => this.#paused,
      frames: this.frames,
      dropAck: dropEvery(o.dropAckEvery),
    };
    this.#server.on('upgrade', (req, socket, head) => void this.#onUpgrade(req, socket, head));
    // Sockets idle this long before their upgrade or request are closed (a socket that never
    // sends a byte is not covered by headersTimeout); ws clears it on upgraded sockets.
    this.#server.timeout = 10_000;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      // end() alone leaves the socket open while a slowloris client keeps writing.
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 500).unref();
    });
  }

  /** Starts listening; resolves with the port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : this.#o.port);
      });
    });
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const addr = req.socket.remoteAddress ?? '?';
    const refuse = (status: number, text: string): void => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    socket.on('error', () => socket.destroy());
    if (req.headers.origin !== undefined) {
      this.refused.origin++;
      return refuse(403, 'Forbidden');
    }
    if (this.#o.auth.limited(addr)) {
      this.refused.limited++;
      return refuse(429, 'Too Many Requests');
    }
    const result = await this.#o.auth.check(bearer(req.headers.authorization), addr);
    if (!result.ok) {
      this.refused.auth++;
      this.#log.warn({ addr, reason: result.reason }, 'agent refused');
      return refuse(401, 'Unauthorized');
    }
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const s = new Session(ws, result.boundHost, addr, this.#ctx);
      this.#all.add(s);
    });
  }

  /** Stops or resumes reading from every session (write-queue backpressure). */
  setPaused(paused: boolean): void {
    this.#paused = paused;
    for (const s of this.#all) {
      if (paused) s.ws.pause();
      else s.ws.resume();
    }
  }

  /** Closes the live session of a host (its token was revoked). */
  closeHost(host: string, code: number, reason: string): boolean {
    const s = this.#sessions.get(host);
    if (s === undefined) return false;
    s.close(code, reason);
    return true;
  }

  /** Hosts with a live session. */
  get connected(): number {
    return this.#sessions.size;
  }

  /** Live sessions (including those that have not said hello yet). */
  get sessions(): number {
    return this.#all.size;
  }

  /** Stops accepting, closes every session with 1001 and waits for the server to close. */
  async close(): Promise<void> {
    for (const s of this.#all) s.close(CLOSE_CODES.GOING_AWAY, 'collector shutting down');
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      setTimeout(resolve, 3000).unref();
    });
  }
}
