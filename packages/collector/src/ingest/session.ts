/**
 * One agent's session: hello -> welcome -> batches and gaps -> acks. Every frame is decoded and
 * validated; a bad one closes this session only, with the close code of its ProtocolError.
 * The host a snapshot is stored under is the session's host (bound to a per-host token, or
 * named in the hello under the fleet token); a batch holding a snapshot that names another host
 * is refused for good (HOST_MISMATCH), so one token can never write another host's numbers.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { BIN1, Bin1Decoder, CLOSE_CODES, NAMESPACES_FEATURE, PROTOCOL_VERSION, ProtocolError, decodeAgentMessage, encodeMessage, printable } from '@tcpfleet/common';
import type { AgentMessage, BatchMessage, CollectorMessage, GapMessage, HelloMessage, Snapshot } from '@tcpfleet/common';
import type { CommitSink, IngestWriter } from './writer.js';
import type { HeartbeatSweep } from './heartbeat.js';
import type { IngestOutcome, IngestRefusal, Store, WriteAuth } from '../store/store.js';
import { StorageError } from '../store/sqlite-store.js';
import { ackJson, sendText } from './frames.js';

/** Snapshots stamped further ahead of the collector's clock than this are refused for good. */
export const MAX_FUTURE_MS = 5 * 60_000;

/** What a session needs from the server. */
export interface SessionContext {
  log: Logger;
  writer: IngestWriter;
  store: Store;
  heartbeatMs: number;
  /** The server's one heartbeat timer (ingest/heartbeat.ts): a welcomed session is beaten by it. */
  heartbeats: HeartbeatSweep;
  helloTimeoutMs: number;
  maxBufferedBytes: number;
  /** Registers the session under its host; returns the session it replaces, if any. */
  claim(host: string, s: Session): Session | null;
  /** False when `host` would be a new host beyond `serve --max-hosts`. */
  admit(host: string): boolean;
  release(host: string, s: Session): void;
  paused(): boolean;
  /** A frame of this session was read (the server resumes the longest-unread sessions first). */
  read?: ((s: Session) => void) | undefined;
  /** Batch frames received, by encoding (the server's, for /healthz). */
  frames: { json: number; bin1: number };
  /** Fault injection, set by tests only (ServerOptions.dropAckEvery): true when this commit's ack is to be lost. */
  dropAck?: (() => boolean) | undefined;
}

let nextSessionId = 1;

export class Session implements CommitSink {
  readonly id = nextSessionId++;
  readonly ws: WebSocket;
  readonly addr: string;
  readonly #ctx: SessionContext;
  readonly #boundHost: string | null;
  /** The upgraded socket this session's frames are written to whole (ingest/frames.ts), or null: through ws.send. */
  readonly #direct: Duplex | null;
  /** The credential the session was opened with; re-checked in every commit (store/store.ts WriteAuth). */
  readonly auth: WriteAuth;
  /** Called once the hello is accepted (the server's count of sessions without one); then dropped. */
  #onWelcome: (() => void) | null;
  /** A hello arrived (it may still be being checked). */
  #helloSeen = false;
  /** Frames that came while the hello was being checked, handled after the welcome (at most 8). */
  #early: [Buffer, boolean][] | null = null;
  #host: string | null = null;
  /** The agent's boot, once welcomed (for the log). */
  #boot: string | null = null;
  #labels: Record<string, string> = {};
  #alive = true;
  /** Reads of this session are paused by the server (write-queue backpressure) and not resumed yet. */
  #held = false;
  /**
   * The hello timeout, dropped once the hello came (a cleared Timeout and its closure are memory
   * every connected agent would hold; the heartbeat is the server's sweep).
   */
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Layouts this agent declared in bin1 frames (per session, as the agent's encoder). */
  readonly #bin = new Bin1Decoder();
  stored = 0;
  duplicates = 0;
  /** When the hello was accepted (ms), 0 before. */
  welcomedAt = 0;

  constructor(ws: WebSocket, boundHost: string | null, auth: WriteAuth, addr: string, ctx: SessionContext, onWelcome: () => void = () => {}, direct: Duplex | null = null) {
    this.ws = ws;
    this.#direct = direct;
    this.addr = addr;
    this.#ctx = ctx;
    this.#boundHost = boundHost;
    this.auth = auth;
    this.#onWelcome = onWelcome;
    if (ctx.paused()) this.hold();
    this.#waitForHello();
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    ws.on('error', (err) => this.#log.debug({ err: { message: err.message } }, 'socket error'));
  }

  /**
   * Arms the hello timeout. A method (not a closure made in the constructor, which the socket's
   * listeners would keep alive with the constructor's scope): nothing of it is left once the
   * hello came.
   */
  #waitForHello(): void {
    this.#timer = setTimeout(() => {
      if (this.#host !== null) return;
      // While this session's reads are paused the hello may be waiting unread: the agent gets another full wait.
      if (this.#held) this.#waitForHello();
      else this.close(CLOSE_CODES.HELLO_EXPECTED, 'no hello in time');
    }, this.#ctx.helloTimeoutMs);
  }

  /**
   * This session's logger, made when something is logged rather than kept: a pino child per
   * session (its object and its serialized bindings) is memory every one of 10,000 idle sessions
   * would hold (docs/performance.md, collector memory per agent).
   */
  get #log(): Logger {
    const bindings = { session: this.id, addr: this.addr };
    return this.#host === null ? this.#ctx.log.child(bindings) : this.#ctx.log.child({ ...bindings, agent: { host: this.#host, boot: this.#boot } });
  }

  /** An info line, the session's child logger made only when info is written (10,000 agents connecting under --log-level warn made a child each for nothing). */
  #info(obj: object, msg: string): void {
    if (this.#ctx.log.isLevelEnabled('info')) this.#log.info(obj, msg);
  }

  /** The session's host, once it said hello. */
  get host(): string | null {
    return this.#host;
  }

  /** Closes the session with a code and a short reason. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ws.close(code, reason.slice(0, 120));
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  #send(msg: CollectorMessage): void {
    this.#sendText(encodeMessage(msg));
  }

  /** Sends one JSON text frame, unless the session is closing or its agent stopped reading (closed then). */
  #sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.#ctx.maxBufferedBytes) {
      this.#log.warn({ buffered: this.ws.bufferedAmount }, 'agent not reading; closing');
      this.close(CLOSE_CODES.UNRESPONSIVE, 'not reading');
      return;
    }
    sendText(this.ws, this.#direct, text);
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    this.#alive = true;
    this.#ctx.read?.(this);
    if (this.#early !== null) {
      if (this.#early.length >= 8) return this.close(CLOSE_CODES.HELLO_EXPECTED, 'wait for the welcome');
      this.#early.push([data, isBinary]);
      return;
    }
    let msg: AgentMessage;
    try {
      if (isBinary) {
        if (this.#host === null) throw new ProtocolError(CLOSE_CODES.HELLO_EXPECTED, 'hello expected first');
        msg = this.#bin.decode(data, this.#host, this.#labels);
        this.#ctx.frames.bin1++;
      } else {
        msg = decodeAgentMessage(data);
        if (msg.type === 'batch') this.#ctx.frames.json++;
      }
    } catch (err) {
      const pe = err instanceof ProtocolError ? err : new ProtocolError(CLOSE_CODES.BAD_MESSAGE, String(err));
      // The reason can quote the frame (a label key in a schema path): escaped for the log.
      this.#log.warn({ reason: printable(pe.message), closeCode: pe.closeCode }, 'frame rejected');
      this.close(pe.closeCode, pe.message);
      return;
    }
    if (msg.type === 'hello' && this.#helloSeen) return this.close(CLOSE_CODES.HELLO_EXPECTED, 'hello sent twice');
    if (this.#host === null && msg.type !== 'hello') return this.close(CLOSE_CODES.HELLO_EXPECTED, 'hello expected first');
    switch (msg.type) {
      case 'hello':
        return this.#onHello(msg);
      case 'batch':
        return this.#onBatch(msg);
      case 'gap':
        return this.#onGap(msg);
    }
  }

  #onHello(msg: HelloMessage): void {
    this.#helloSeen = true;
    if (msg.v !== PROTOCOL_VERSION) {
      this.#log.warn({ version: msg.v }, 'unsupported protocol version');
      return this.close(CLOSE_CODES.UNSUPPORTED_VERSION, `protocol version ${msg.v} not supported; this collector speaks ${PROTOCOL_VERSION}`);
    }
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const host = this.#boundHost ?? msg.host;
    if (this.#boundHost !== null && msg.host !== this.#boundHost) {
      this.#log.warn({ claimed: printable(msg.host), bound: this.#boundHost }, "hello names another host than the token; using the token's host");
    }
    if (this.auth.kind === 'host') return this.#welcome(msg, host);
    // The fleet token writes only as hosts without a token of their own: else any holder of it
    // could replace a host's agent (4003) and write as that host.
    this.#early = [];
    this.#ctx.store.hostHasToken(host).then(
      (has) => {
        if (this.#closed) return;
        if (!has) return this.#welcome(msg, host);
        this.#log.warn({ host }, 'fleet token refused: this host has its own token');
        this.close(CLOSE_CODES.HOST_HAS_TOKEN, `host ${host} has its own token; the fleet token cannot write as it`);
      },
      () => this.close(CLOSE_CODES.GOING_AWAY, 'cannot check tokens; try again later'),
    );
  }

  #welcome(msg: HelloMessage, host: string): void {
    if (!this.#ctx.admit(host)) {
      this.#log.warn({ host }, 'new host refused: --max-hosts reached');
      return this.close(CLOSE_CODES.TOO_MANY_HOSTS, 'the collector keeps no more hosts (serve --max-hosts); remove some with tcpfleet host rm');
    }
    this.#host = host;
    this.#labels = msg.labels;
    this.#boot = msg.boot;
    const replaced = this.#ctx.claim(host, this);
    if (replaced !== null) {
      this.#log.warn({ replacedSession: replaced.id }, 'second session for this host; closing the older one');
      replaced.close(CLOSE_CODES.REPLACED, 'replaced by a newer session for the same host');
    }
    this.#info({ agentVersion: printable(msg.agent), intervalMs: msg.interval_ms, token: this.auth.kind }, 'agent connected');
    this.#onWelcome?.();
    this.#onWelcome = null;
    this.welcomedAt = Date.now();
    this.#ctx.heartbeats.add(this);
    this.#send({ type: 'welcome', v: PROTOCOL_VERSION, host, heartbeat_ms: this.#ctx.heartbeatMs, max_batch: 64, encodings: ['json', BIN1], features: [NAMESPACES_FEATURE] });
    const early = this.#early ?? [];
    this.#early = null;
    for (const [data, isBinary] of early) this.#onFrame(data, isBinary);
  }

  #onBatch(msg: BatchMessage): void {
    const host = this.#host ?? '';
    const now = Date.now();
    // Plain loops: a find() closure per check would be two closures per batch at 10,000 batches a second.
    const snapshots = msg.snapshots;
    let future: Snapshot | undefined;
    let foreign: Snapshot | undefined;
    for (let i = 0; i < snapshots.length && future === undefined; i++) {
      const s = snapshots[i]!;
      if (s.ts > now + MAX_FUTURE_MS) future = s;
      else if (foreign === undefined && s.host !== host) foreign = s;
    }
    if (future !== undefined) {
      this.#log.warn({ seq: future.seq, aheadMs: future.ts - now }, 'batch refused: agent clock ahead');
      this.#send({ type: 'nack', id: msg.id, code: 'CLOCK_SKEW', retryable: false, message: `snapshot ${future.seq} is ${Math.round((future.ts - now) / 1000)} s ahead of the collector's clock` });
      return;
    }
    // A snapshot naming another host than the session's is someone else's data (a captured batch
    // replayed under another token, or a misconfigured agent): refused for good, nothing stored.
    if (foreign !== undefined) {
      this.#log.warn({ claimed: printable(foreign.host), seq: foreign.seq }, 'batch refused: snapshot of another host');
      this.#send({
        type: 'nack',
        id: msg.id,
        code: 'HOST_MISMATCH',
        retryable: false,
        message: `snapshot ${foreign.seq} names host ${JSON.stringify(foreign.host.slice(0, 64))}, this session writes as ${JSON.stringify(host)}`,
      });
      return;
    }
    // The session is the writer's sink (committed / failed below): no Promise or closure per batch.
    this.#ctx.writer.enqueue({ host, labels: this.#labels, snapshots, auth: this.auth }, this, msg.id);
  }

  /** The batch `id` was committed (CommitSink): acknowledged, or refused when its token stopped being valid. */
  committed(id: number, o: IngestOutcome): void {
    if (o.refused !== undefined) return this.#refused(id, o.refused);
    this.stored += o.stored;
    this.duplicates += o.duplicates;
    if (this.#ctx.dropAck?.() === true) {
      this.#log.warn({ batch: id, stored: o.stored }, 'fault injection: committed, dropping the connection instead of acknowledging');
      this.ws.terminate();
      return;
    }
    this.#sendText(ackJson(id, o.stored, o.duplicates));
  }

  /** The batch `id` was not stored (CommitSink): a nack, retryable unless the storage says otherwise. */
  failed(id: number, err: unknown): void {
    const retryable = !(err instanceof StorageError) || err.retryable;
    this.#send({ type: 'nack', id, code: err instanceof StorageError ? err.sqliteCode : 'STORAGE', retryable, message: 'not stored; try again later' });
  }

  /** The session's token stopped being valid for its host (found inside the commit): nothing stored; closed. */
  #refused(id: number, why: IngestRefusal): void {
    const [code, message] =
      why === 'REVOKED' ? [CLOSE_CODES.REVOKED, 'token revoked or replaced'] : [CLOSE_CODES.HOST_HAS_TOKEN, `host ${this.#host ?? ''} has its own token now; the fleet token cannot write as it`];
    if (!this.#closed) this.#log.warn({ reason: message }, 'batch refused: token no longer valid for this host; closing');
    this.#send({ type: 'nack', id, code: why === 'REVOKED' ? 'TOKEN_REVOKED' : 'HOST_HAS_TOKEN', retryable: false, message });
    this.close(code, message);
  }

  /** True while the session's credential is the one `live` (host -> hash of its live token) allows. */
  tokenStillValid(live: ReadonlyMap<string, string>): boolean {
    if (this.#host === null) return true;
    return this.auth.kind === 'host' ? live.get(this.#host) === this.auth.hash : !live.has(this.#host);
  }

  #onGap(msg: GapMessage): void {
    const host = this.#host ?? '';
    this.#log.warn({ boot: msg.boot, fromSeq: msg.from_seq, toSeq: msg.to_seq, count: msg.count }, 'agent declared a gap');
    // Through the writer's queue, so the gap is stored after the host row exists.
    this.#ctx.writer
      .drain()
      .then(() => this.#ctx.store.recordGap({ host, boot: msg.boot, from_seq: msg.from_seq, to_seq: msg.to_seq, count: msg.count, ts: msg.ts, recv_ts: Date.now() }, this.auth))
      .then(
        () => this.#sendText(ackJson(msg.id, 0, 0)),
        () => this.#send({ type: 'nack', id: msg.id, code: 'STORAGE', retryable: true, message: 'gap not stored' }),
      );
  }

  /**
   * Reads resume after a pause (write-queue backpressure). Pongs that came while paused are
   * still unread in the kernel: the agent is not judged on them, its next chance is a full
   * heartbeat from the next ping.
   */
  resumed(): void {
    this.#held = false;
    this.#alive = true;
    this.ws.resume();
  }

  /** Stops reading this session (write-queue backpressure) until resumed(). */
  hold(): void {
    // A full queue pauses every session; most are still paused from the last time (nothing to do).
    if (this.#held) return;
    this.#held = true;
    this.ws.pause();
  }

  /** Paused by hold() and not resumed yet. */
  get held(): boolean {
    return this.#held;
  }

  /** Called by the server's heartbeat sweep every heartbeat once welcomed. */
  beat(): void {
    // While this session is paused the collector does not read its pongs: a missing one is its
    // own doing, not the agent's. The ping still goes out, so the agent sees the collector alive.
    if (!this.#alive && !this.#held) {
      this.#log.warn('agent did not answer ping; closing');
      this.ws.terminate();
      return;
    }
    this.#alive = false;
    this.ws.ping();
  }

  #onClose(code: number, reason: string): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#ctx.heartbeats.delete(this);
    if (this.#host !== null) {
      this.#ctx.release(this.#host, this);
      this.#info({ code, reason: printable(reason), stored: this.stored, duplicates: this.duplicates }, 'agent disconnected');
    }
  }
}
