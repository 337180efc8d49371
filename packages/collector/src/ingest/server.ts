/**
 * One port for everything: WebSocket ingest on upgrade (bearer token checked before the upgrade:
 * 401 and nothing stored when it is wrong) and the read-only HTTP API for every other request.
 * Limits on everything from the network: header count and size, header and request timeouts,
 * frame size, hello timeout, per-address failure rate, per-address sessions without a hello,
 * and the number of hosts kept.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { CLOSE_CODES, MAX_FRAME_BYTES } from '@tcpfleet/common';
import { Session } from './session.js';
import { HeartbeatSweep } from './heartbeat.js';
import { directSocket } from './frames.js';
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
  /**
   * Upgrades from one address that have not said hello yet (being checked, or upgraded and
   * silent) beyond which its new upgrades get 429 (default 64).
   */
  maxPendingPerAddress?: number;
  /** The hosts the collector keeps (the in-memory fleet) and their bound, `serve --max-hosts`. */
  hosts?: HostAdmission | undefined;
  /** Handles a plain HTTP request (the query API); false when not handled. */
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

/**
 * Bytes an agent's socket reads ahead while its session is paused (write-queue backpressure).
 * A paused net.Socket keeps reading from the kernel until its readable buffer reaches the
 * high-water mark (16 KiB by default): at 10,000 agents that was 80-160 MB of frames held in
 * the collector (heap snapshot under backlog, docs/performance.md). With 1 KiB it stops after
 * the read that crosses it (frames of a paused agent wait in the kernel's socket buffer, which is
 * not the collector's memory). A flowing socket hands every read on at once: no effect then.
 */
export const PAUSED_READ_AHEAD = 1024;

/**
 * Lowers the read-ahead of an upgraded socket (PAUSED_READ_AHEAD). Node sets a socket's readable
 * high-water mark only when it is made (net.Server's highWaterMark would also change the writable
 * side of every HTTP answer), so the upgraded socket's readable state is adjusted here.
 */
export function limitPausedReads(socket: Duplex): void {
  const state = (socket as Duplex & { _readableState?: { highWaterMark?: unknown } })._readableState;
  if (state !== undefined && typeof state.highWaterMark === 'number') state.highWaterMark = PAUSED_READ_AHEAD;
}

/**
 * Lets go of the idle timer an upgraded socket no longer uses. The HTTP server gives each socket
 * an idle timeout (`server.timeout`) and ws turns it off on upgrade (setTimeout(0)), but Node keeps
 * the cleared Timeout and its bound callback on the socket: ~0.2 KB for every connected agent.
 * Only a timer already cleared is dropped.
 */
export function dropIdleTimer(socket: Duplex): void {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'timeout');
  if (key === undefined) return;
  const holder = socket as unknown as Record<symbol, unknown>;
  const t = holder[key] as { _destroyed?: unknown } | null | undefined;
  if (t !== null && typeof t === 'object' && t._destroyed === true) holder[key] = null;
}

/** What the server asks about hosts before admitting a new one. */
export interface HostAdmission {
  max: number;
  known(host: string): boolean;
  count(): number;
}

/** Snapshots one resumed session is expected to bring in its first read (CollectorServer.admit): agents at 1 snapshot/s send 1-2 per frame when behind. */
export const SNAPSHOTS_PER_READ = 2;

export class CollectorServer {
  readonly #o: ServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, Session>();
  /**
   * Every session, the one whose frame was read longest ago first (a read moves its session to
   * the end). setPaused(false) resumes them in this order: after a pause the sockets resumed
   * first are read first and refill the write queue, so resuming in a fixed order (when they
   * connected) served the same sessions after every pause and left the last ones unread for tens
   * of seconds (10,000 agents: ack p50 2 s, p99 36 s).
   */
  readonly #all = new Set<Session>();
  #paused = false;
  readonly #ctx: SessionContext;
  readonly #heartbeats: HeartbeatSweep;
  /** Upgrades without a hello yet, by client address. */
  readonly #pending = new Map<string, number>();
  /** New hosts admitted by a live session and not yet in the fleet (counted against --max-hosts). */
  readonly #admitted = new Set<string>();
  /** Upgrades refused, by reason. */
  readonly refused = { auth: 0, limited: 0, origin: 0, pending: 0 };
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
    this.#heartbeats = new HeartbeatSweep(o.heartbeatMs ?? 15_000);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes ?? MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false, maxFragments: 1024 });
    this.#ctx = {
      log: o.log,
      writer: o.writer,
      store: o.store,
      heartbeatMs: o.heartbeatMs ?? 15_000,
      heartbeats: this.#heartbeats,
      helloTimeoutMs: o.helloTimeoutMs ?? 10_000,
      maxBufferedBytes: 1024 * 1024,
      claim: (host, s) => {
        const prev = this.#sessions.get(host) ?? null;
        this.#sessions.set(host, s);
        return prev === s ? null : prev;
      },
      admit: (host) => this.#admit(host),
      release: (host, s) => {
        if (this.#sessions.get(host) === s) {
          this.#sessions.delete(host);
          this.#admitted.delete(host);
        }
        this.#all.delete(s);
      },
      paused: () => this.#paused,
      read: (s) => {
        if (this.#all.delete(s)) this.#all.add(s);
      },
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
      const retry = status === 429 ? 'Retry-After: 10\r\n' : '';
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\n${retry}Connection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const onError = (): void => void socket.destroy();
    socket.on('error', onError);
    if (req.headers.origin !== undefined) {
      this.refused.origin++;
      return refuse(403, 'Forbidden');
    }
    const pending = this.#pending.get(addr) ?? 0;
    if (pending >= (this.#o.maxPendingPerAddress ?? 64)) {
      this.refused.pending++;
      return refuse(429, 'Too Many Requests');
    }
    // Counted from here until the hello is accepted or the socket closes.
    this.#pending.set(addr, pending + 1);
    let counted = true;
    const settle = (): void => {
      if (!counted) return;
      counted = false;
      // Its close listener is no longer needed (held by every connected agent's socket otherwise).
      socket.off('close', settle);
      const n = (this.#pending.get(addr) ?? 1) - 1;
      if (n <= 0) this.#pending.delete(addr);
      else this.#pending.set(addr, n);
    };
    socket.once('close', settle);
    const result = await this.#o.auth.check(bearer(req.headers.authorization), addr);
    if (!result.ok) {
      settle();
      if (result.limited) {
        this.refused.limited++;
        return refuse(429, 'Too Many Requests');
      }
      this.refused.auth++;
      this.#log.warn({ addr, reason: result.reason }, 'agent refused');
      return refuse(401, 'Unauthorized');
    }
    if (socket.destroyed) return settle();
    limitPausedReads(socket);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // ws handles the socket's errors from here on.
      socket.off('error', onError);
      dropIdleTimer(socket);
      const s = new Session(ws, result.boundHost, result.auth, addr, this.#ctx, settle, directSocket(ws, socket));
      this.#all.add(s);
    });
  }

  /** True when `host` may write: known already, or new and within --max-hosts. */
  #admit(host: string): boolean {
    const h = this.#o.hosts;
    if (h === undefined || this.#sessions.has(host) || this.#admitted.has(host) || h.known(host)) return true;
    if (h.count() + this.#admitted.size >= h.max) {
      for (const a of this.#admitted) if (h.known(a)) this.#admitted.delete(a);
      if (h.count() + this.#admitted.size >= h.max) return false;
    }
    this.#admitted.add(host);
    return true;
  }

  /**
   * Closes every session whose token is no longer valid for its host (`live`: host -> hash of
   * its live per-host token): revoked or replaced tokens (4002), fleet-token sessions of a host
   * that now has its own token (4007). Their batches are refused in the commit already; this
   * ends the ones that are idle. Sessions welcomed after `readAt` (when `live` was read) are
   * left alone: their token may be newer than the list. Returns the hosts closed.
   */
  closeInvalidTokens(live: ReadonlyMap<string, string>, readAt: number): string[] {
    const closed: string[] = [];
    for (const [host, s] of this.#sessions) {
      if (s.welcomedAt >= readAt || s.tokenStillValid(live)) continue;
      if (s.auth.kind === 'host') s.close(CLOSE_CODES.REVOKED, 'token revoked or replaced');
      else s.close(CLOSE_CODES.HOST_HAS_TOKEN, `host ${host} has its own token now; the fleet token cannot write as it`);
      closed.push(host);
    }
    return closed;
  }

  /** Stops or resumes reading from every session (write-queue backpressure); resumes the longest-unread first. */
  setPaused(paused: boolean): void {
    this.#paused = paused;
    // No copy of #all (10,000 sessions: 80 KB an array, several times a second under a backlog):
    // hold() and resumed() read nothing at once (a resumed socket flows from the next tick), so
    // no session moves in #all meanwhile; the count bounds the walk all the same.
    let left = this.#all.size;
    for (const s of this.#all) {
      if (left-- <= 0) break;
      if (paused) s.hold();
      else s.resumed();
    }
  }

  /**
   * Continuous admission (IngestWriter onRoom): while paused, resumes only as many of the
   * longest-unread paused sessions as `room` snapshots are estimated to fill (SNAPSHOTS_PER_READ
   * each, at least one), and leaves the rest paused; the next commit admits more. Resuming all at
   * once let one event-loop turn read every ready socket (10,000 frames at 10,000 agents), which
   * refilled the queue past its bound and held the commits' answers behind that turn.
   * Returns the sessions resumed.
   */
  admit(room: number): number {
    if (!this.#paused) return 0;
    let n = Math.max(1, Math.ceil(room / SNAPSHOTS_PER_READ));
    let resumed = 0;
    let left = false;
    // Walked in place, as in setPaused (called after every commit while the queue is full).
    let visits = this.#all.size;
    for (const s of this.#all) {
      if (visits-- <= 0) break;
      if (!s.held) continue;
      if (n > 0) {
        s.resumed();
        n--;
        resumed++;
      } else {
        left = true;
        break;
      }
    }
    if (!left) this.#paused = false;
    return resumed;
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
    this.#heartbeats.stop();
    for (const s of this.#all) s.close(CLOSE_CODES.GOING_AWAY, 'collector shutting down');
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      setTimeout(resolve, 3000).unref();
    });
  }
}
