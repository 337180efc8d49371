/**
 * The agent's WebSocket link to the collector: connect with the bearer token, hello, then send
 * batches from the outbox and drop them only on ack. Reconnects with jittered backoff; detects a
 * dead collector with pings; stops writing while the socket's send buffer is above a bound.
 *
 * Given several collectors it is on one at a time: it stays on a working one, and each failure
 * (cannot connect, or the link broke) moves it to the next in the list, round-robin, after the
 * usual backoff delay. It never goes back to a particular one by itself. What was in flight on
 * the broken link is unsent again (Outbox.retryAll) and goes to the next collector: a batch the
 * old one stored but could not acknowledge is stored there too, which the collectors' key
 * (host, boot, seq) makes harmless on one database.
 */
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { BIN1, Bin1Encoder, CLOSE_CODES, MAX_BATCH, MAX_FRAME_BYTES, NAMESPACES_FEATURE, PERMANENT_CLOSE_CODES, PROTOCOL_VERSION, decodeCollectorMessage, encodeMessage } from '@tcpfleet/common/agent';
import { withoutEntries, withoutNamespaces } from '../namespaces/outbound.js';
import type { CollectorMessage, HelloMessage, Snapshot } from '@tcpfleet/common/agent';
import { Backoff } from './backoff.js';
import type { Gap, Outbox } from './outbox.js';

/** Options of an uplink. */
export interface UplinkOptions {
  /** The collectors, tried in this order (one or more). */
  urls: readonly string[];
  token: string;
  hello: Omit<HelloMessage, 'type' | 'v'>;
  outbox: Outbox;
  log: Logger;
  ca?: Buffer | undefined;
  heartbeatMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Stop sending while this many bytes wait in the socket's buffer. */
  maxBufferedBytes?: number;
  /** Batches in flight at once. */
  maxInflight?: number;
  /** A batch not acknowledged within this many ms means the link is broken. */
  ackTimeoutMs?: number;
  /** Backlog snapshots sent per second after a reconnect (the newest goes first, outside this limit). */
  replayPerSec?: number;
  /** Batch frames: "auto" = bin1 when the collector's welcome offers it, else JSON; "json" = always JSON. */
  encoding?: 'auto' | 'json';
}

/** Counters an agent reports about its link. */
export interface UplinkStats {
  connects: number;
  acked: number;
  rejected: number;
  resent: number;
  /** Moves to another collector of the list after a failure (0 with one collector). */
  failovers: number;
}

export class Uplink {
  readonly #o: UplinkOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #ws: WebSocket | null = null;
  #ready = false;
  /** The host the collector's welcome named: snapshots are sent under it. */
  #boundHost: string | null = null;
  #stopped = false;
  #nextId = 1;
  #alive = true;
  #heartbeat: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  readonly #sentAt = new Map<number, number>();
  readonly #gapIds = new Map<number, Gap>();
  #maxBatch = MAX_BATCH;
  #replayTokens = 0;
  #refilledAt = Date.now();
  #replayTimer: NodeJS.Timeout | null = null;
  /** This session's bin1 encoder (it remembers the layouts declared to the collector), or null for JSON. */
  #bin: Bin1Encoder | null = null;
  /** The collector's welcome lists "ns1": snapshots go with their per-namespace part. */
  #namespaces = false;
  #warnedNs = false;
  /** Most snapshots a batch may take so that its frame stays under MAX_FRAME_BYTES (from the last frames' sizes). */
  #sizeCap = MAX_BATCH;
  readonly stats: UplinkStats = { connects: 0, acked: 0, rejected: 0, resent: 0, failovers: 0 };
  /** Index in `urls` of the collector this link is on (or trying). */
  #at = 0;

  constructor(o: UplinkOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'uplink' });
    this.#backoff = new Backoff(o.reconnectMinMs, o.reconnectMaxMs);
  }

  /** Opens the first connection. */
  start(): void {
    this.#connect();
  }

  /** The URL of the collector the link is on, or is trying. */
  get collector(): string {
    return this.#o.urls[this.#at] ?? '';
  }

  /** True once the collector welcomed this session. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Closes the link; waits up to `deadlineMs` for batches in flight to be acknowledged. */
  async stop(deadlineMs = 2000): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    const until = Date.now() + deadlineMs;
    while (this.#ready && this.#o.outbox.inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.#teardown();
    const ws = this.#ws;
    if (ws !== null && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(CLOSE_CODES.NORMAL, 'agent stopping');
      });
    } else ws?.terminate();
  }

  /** Sends what the outbox holds, as far as the in-flight and buffer bounds allow. */
  pump(): void {
    const ws = this.#ws;
    if (!this.#ready || ws === null || ws.readyState !== WebSocket.OPEN) return;
    const maxBuffered = this.#o.maxBufferedBytes ?? 1024 * 1024;
    for (const g of this.#o.outbox.gaps) {
      if ([...this.#gapIds.values()].includes(g)) continue;
      const id = this.#nextId++;
      this.#gapIds.set(id, g);
      this.#o.outbox.gapSent(g);
      this.#sentAt.set(id, Date.now());
      ws.send(encodeMessage({ type: 'gap', id, ...g }));
    }
    const maxInflight = this.#o.maxInflight ?? 4;
    const room = (): boolean => this.#o.outbox.inflight < maxInflight && ws.bufferedAmount < maxBuffered;
    // Live data first: the newest snapshot goes alone, ahead of any backlog.
    if (room()) {
      const id = this.#nextId++;
      const live = this.#o.outbox.takeNewest(id);
      if (live.length > 0) this.#sendBatch(ws, id, live);
    }
    // A batch whose frame would be too big goes back to the outbox and is taken again, smaller.
    // Backlog, oldest first, at most replayPerSec snapshots a second (token bucket).
    const rate = this.#o.replayPerSec ?? 500;
    const now = Date.now();
    this.#replayTokens = Math.min(Math.max(this.#maxBatch, rate), this.#replayTokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    while (room() && this.#replayTokens >= 1) {
      const id = this.#nextId++;
      const snaps = this.#o.outbox.take(id, Math.min(this.#maxBatch, this.#sizeCap, Math.floor(this.#replayTokens)));
      if (snaps.length === 0) break;
      if (!this.#sendBatch(ws, id, snaps)) continue;
      this.#replayTokens -= snaps.length;
    }
    if (this.#o.outbox.unsent > 0 && this.#replayTokens < 1 && this.#replayTimer === null) {
      this.#replayTimer = setTimeout(
        () => {
          this.#replayTimer = null;
          this.pump();
        },
        Math.ceil(1000 / rate) + 5,
      );
      this.#replayTimer.unref();
    }
  }

  /**
   * Sends batch `id`; false when its frame would be larger than MAX_FRAME_BYTES (then the batch is
   * back in the outbox and the next one takes fewer snapshots). A snapshot too big alone goes
   * without its namespace entries.
   */
  #sendBatch(ws: WebSocket, id: number, taken: Snapshot[]): boolean {
    let snaps = taken;
    if (!this.#namespaces && snaps.some((s) => s.namespaces !== undefined || s.collect.namespaces !== undefined)) {
      if (!this.#warnedNs) this.#log.warn('the collector does not accept per-namespace counts (its welcome lacks the feature "ns1": upgrade it); sending snapshots without them');
      this.#warnedNs = true;
      snaps = snaps.map(withoutNamespaces);
    }
    let frame = this.#frame(id, snaps);
    if (frame === null) {
      if (snaps.length > 1) {
        this.#sizeCap = Math.max(1, Math.floor(snaps.length / 2));
        this.#o.outbox.retry(id);
        return false;
      }
      const why = `namespaces not sent: the snapshot with its ${snaps[0]!.namespaces?.length ?? 0} entries is larger than one frame (${MAX_FRAME_BYTES} bytes)`;
      this.#log.warn({ seq: snaps[0]!.seq }, why);
      snaps = [withoutEntries(snaps[0]!, why)];
      frame = this.#frame(id, snaps) ?? encodeMessage({ type: 'batch', id, snapshots: snaps });
    }
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
    this.#sizeCap = Math.max(1, Math.min(MAX_BATCH, Math.floor((0.8 * MAX_FRAME_BYTES) / (bytes / snaps.length))));
    this.#sentAt.set(id, Date.now());
    ws.send(frame, { binary: typeof frame !== 'string' });
    return true;
  }

  /** The frame of a batch (bin1 when the collector takes it, else JSON), or null when it would be larger than MAX_FRAME_BYTES. */
  #frame(id: number, snaps: Snapshot[]): Buffer | string | null {
    // A bin1 frame carries no host: the collector stores it under the session's.
    const bin = this.#bin?.encode(id, snaps, MAX_FRAME_BYTES) ?? null;
    if (bin !== null) return bin;
    if (this.#bin?.tooBig === true) return null;
    // Snapshots carry the host the collector bound this session to (a per-host token decides it).
    const bound = this.#boundHost;
    const out = bound === null ? snaps : snaps.map((s) => (s.host === bound ? s : { ...s, host: bound }));
    const text = encodeMessage({ type: 'batch', id, snapshots: out });
    return text.length > MAX_FRAME_BYTES / 3 && Buffer.byteLength(text) > MAX_FRAME_BYTES ? null : text;
  }

  #connect(): void {
    if (this.#stopped) return;
    const o = this.#o;
    const url = this.collector;
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${o.token}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
      minVersion: 'TLSv1.2',
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
    });
    this.#ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      this.#log.error({ status: res.statusCode, collector: url }, res.statusCode === 401 ? 'collector refused the token' : 'collector refused the connection');
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.stats.connects++;
      this.#alive = true;
      ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, ...o.hello }));
      this.#heartbeat = setInterval(() => this.#beat(), o.heartbeatMs);
    });
    ws.on('pong', () => {
      this.#alive = true;
    });
    // A collector that pauses its reads (write-queue backpressure) leaves our pings unanswered
    // but keeps pinging: its ping proves it alive and the path to us working.
    ws.on('ping', () => {
      this.#alive = true;
    });
    ws.on('message', (data, isBinary) => {
      this.#alive = true;
      if (isBinary) return this.#protocolError(ws, 'binary frame from collector');
      let msg: CollectorMessage;
      try {
        msg = decodeCollectorMessage(data);
      } catch (err) {
        return this.#protocolError(ws, (err as Error).message);
      }
      this.#onMessage(msg);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      // Certificate and TLS failures need a person: say why, not only "cannot reach".
      if (/CERT|TLS|SSL|SELF_SIGNED|ALTNAME|UNABLE_TO|SIGNATURE|ISSUER|HOSTNAME/i.test(err.code ?? ''))
        this.#log.error({ err: { message: err.message, code: err.code }, collector: url }, 'tls handshake with collector failed');
      else this.#log.debug({ err: { message: err.message }, collector: url }, 'link error');
    });
    ws.on('close', (code, reason) => {
      if (this.#ws !== ws) return;
      const wasReady = this.#ready;
      this.#teardown();
      if (this.#stopped) return;
      let delay = this.#backoff.next();
      // Any failure moves to the next collector of the list (round-robin; one collector: itself).
      const next = (this.#at + 1) % o.urls.length;
      const moveTo = next === this.#at ? {} : { next: o.urls[next] };
      if (code === CLOSE_CODES.REPLACED) {
        // Another live agent uses this host id; backing off to the cap keeps the two from
        // replacing each other several times a second.
        delay = o.reconnectMaxMs;
        this.#log.error({ code, collector: url, retryInMs: delay }, 'another agent took over this host id; check --host-id on your hosts');
      } else if (PERMANENT_CLOSE_CODES.has(code)) {
        delay = o.reconnectMaxMs;
        this.#log.error({ code, reason: reason.toString(), collector: url, ...moveTo }, 'collector closed the session for good; retrying slowly');
      } else if (wasReady) {
        this.#log.warn({ code, reason: reason.toString(), collector: url, ...moveTo, retryInMs: delay }, 'disconnected from collector');
      } else {
        this.#log.info({ code, collector: url, ...moveTo, retryInMs: delay }, 'cannot reach collector');
      }
      if (next !== this.#at) {
        this.#at = next;
        this.stats.failovers++;
      }
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
    });
  }

  #onMessage(msg: CollectorMessage): void {
    switch (msg.type) {
      case 'welcome':
        if (msg.host !== this.#o.hello.host && msg.host !== this.#boundHost) {
          this.#log.warn({ configured: this.#o.hello.host, bound: msg.host }, "the collector binds this agent's token to another host id; reporting as that host");
        }
        this.#boundHost = msg.host;
        this.#ready = true;
        this.#maxBatch = Math.min(MAX_BATCH, msg.max_batch);
        this.#bin = this.#o.encoding !== 'json' && msg.encodings?.includes(BIN1) === true ? new Bin1Encoder() : null;
        this.#namespaces = msg.features?.includes(NAMESPACES_FEATURE) === true;
        this.#sizeCap = MAX_BATCH;
        this.#backoff.reset();
        this.#log.info({ host: msg.host, collector: this.collector, queued: this.#o.outbox.size, failovers: this.stats.failovers }, 'connected to collector');
        this.pump();
        return;
      case 'ack': {
        const sentAt = this.#sentAt.get(msg.id);
        this.#sentAt.delete(msg.id);
        // The round trip from send to ack (debug): what the fault suite's read-flood test measures.
        if (sentAt !== undefined) this.#log.debug({ id: msg.id, ms: Date.now() - sentAt }, 'batch acknowledged');
        const gap = this.#gapIds.get(msg.id);
        if (gap !== undefined) {
          this.#gapIds.delete(msg.id);
          this.#o.outbox.gapDeclared(gap);
        } else this.stats.acked += this.#o.outbox.ack(msg.id);
        this.pump();
        return;
      }
      case 'nack':
        this.#sentAt.delete(msg.id);
        if (this.#gapIds.has(msg.id)) {
          this.#gapIds.delete(msg.id);
          return;
        }
        if (msg.retryable) {
          this.#o.outbox.retry(msg.id);
          this.stats.resent++;
          this.#log.warn({ code: msg.code, reason: msg.message }, 'batch refused for now; will resend');
          setTimeout(() => this.pump(), 500).unref();
        } else {
          this.stats.rejected += this.#o.outbox.reject(msg.id);
          this.#log.error({ code: msg.code, reason: msg.message }, 'batch rejected; dropped');
          this.pump();
        }
        return;
    }
  }

  #beat(): void {
    const ws = this.#ws;
    if (ws === null) return;
    const ackTimeout = this.#o.ackTimeoutMs ?? Math.max(10_000, this.#o.heartbeatMs * 3);
    const oldest = Math.min(...this.#sentAt.values());
    if (!this.#alive || Date.now() - oldest > ackTimeout) {
      this.#log.warn({ pongMissing: !this.#alive }, 'collector unresponsive; reconnecting');
      ws.terminate();
      return;
    }
    this.#alive = false;
    ws.ping();
  }

  #protocolError(ws: WebSocket, reason: string): void {
    this.#log.error({ reason }, 'bad message from collector');
    ws.close(CLOSE_CODES.BAD_MESSAGE, reason.slice(0, 120));
  }

  #teardown(): void {
    this.#ready = false;
    this.#bin = null;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    this.#sentAt.clear();
    this.#gapIds.clear();
    this.#o.outbox.retryAll();
  }
}
