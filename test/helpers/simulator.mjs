#!/usr/bin/env node
/**
 * Load simulator for the fault suite: one process, K WebSocket sessions that speak the real agent
 * protocol (bearer token, hello, batches of snapshots, gaps never), each its own host
 * (`PREFIX-i`), boot id, seq counter and unacknowledged queue. It stands in for hundreds of
 * agents on a 2-core box.
 *
 * Ground truth: every snapshot the collector acknowledged is appended as `host boot seq` to the
 * side log (--side-log), which the checker compares with the database. Progress and reconnect
 * figures go to --status-file (JSON, rewritten every 500 ms and on SIGTERM).
 *
 * Reconnects use full-jitter backoff between --reconnect-min-ms and --reconnect-max-ms and never
 * give up. Flags: --url --token-file --sessions --interval-ms --prefix --side-log --status-file
 * [--reconnect-min-ms 200] [--reconnect-max-ms 5000] [--queue 5000] [--heartbeat-ms 2000].
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { WebSocket } from 'ws';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const url = args['url'];
const token = readFileSync(args['token-file'], 'utf8').trim();
const K = num('sessions', 10);
const intervalMs = num('interval-ms', 1000);
const prefix = args['prefix'] ?? 'sim';
const minMs = num('reconnect-min-ms', 200);
const maxMs = num('reconnect-max-ms', 5000);
const queueMax = num('queue', 5000);
const heartbeatMs = num('heartbeat-ms', 2000);
const side = openSync(args['side-log'], 'a', 0o600);
const statusFile = args['status-file'];

const STATES = ['established', 'syn_sent', 'syn_recv', 'fin_wait1', 'fin_wait2', 'time_wait', 'close', 'close_wait', 'last_ack', 'listen', 'closing', 'new_syn_recv'];
const zero = () => Object.fromEntries(STATES.map((s) => [s, 0]));

const totals = { generated: 0, acked: 0, dropped: 0, nacked: 0, opens: 0, refused: 0 };
const recoveries = [];
const opens = [];
let maxAttempts = 0;

function snapshot(s) {
  const states = zero();
  states.established = (s.seq * 7) % 100;
  states.listen = 3;
  states.time_wait = s.seq % 13;
  const total = states.established + states.listen + states.time_wait;
  return {
    host: s.host,
    ts: Date.now(),
    seq: ++s.seq,
    boot: s.boot,
    interval_ms: Math.max(100, intervalMs),
    labels: { sim: 'yes' },
    states,
    ipv4: states,
    ipv6: zero(),
    summary: { total, estab: states.established, closed: 0, orphaned: 0, timewait: states.time_wait },
    sockstat: { sockets_used: total, tcp_inuse: total, tcp_orphan: 0, tcp_tw: states.time_wait, tcp_alloc: total, tcp_mem: 1, tcp6_inuse: 0 },
    snmp: { ActiveOpens: s.seq, PassiveOpens: s.seq },
    netstat: { ListenOverflows: 0 },
    collect: { ms: 0.1, bytes: 100, skipped: 0, errors: [], states_age_ms: 0 },
  };
}

class Sim {
  constructor(i) {
    this.host = `${prefix}-${i}`;
    this.boot = randomUUID();
    this.seq = 0;
    this.queue = [];
    this.inflight = new Map();
    this.nextId = 1;
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.downAt = null;
    this.alive = true;
  }

  connect() {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false, handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      totals.refused++;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      totals.opens++;
      opens.push(Date.now());
      ws.send(JSON.stringify({ type: 'hello', v: 1, host: this.host, boot: this.boot, agent: 'simulator', interval_ms: Math.max(100, intervalMs), labels: { sim: 'yes' } }));
    });
    ws.on('pong', () => (this.alive = true));
    ws.on('message', (data) => {
      this.alive = true;
      const msg = JSON.parse(data.toString());
      if (msg.type === 'welcome') {
        this.ready = true;
        this.attempt = 0;
        this.pump();
      } else if (msg.type === 'ack') {
        const batch = this.inflight.get(msg.id);
        if (batch === undefined) return;
        this.inflight.delete(msg.id);
        const done = new Set(batch.map((x) => x.seq));
        this.queue = this.queue.filter((x) => !done.has(x.seq));
        writeSync(side, batch.map((x) => `${this.host} ${this.boot} ${x.seq}\n`).join(''));
        totals.acked += batch.length;
        if (this.downAt !== null) {
          recoveries.push({ host: this.host, down_at: this.downAt, first_ack_at: Date.now() });
          this.downAt = null;
        }
        this.pump();
      } else if (msg.type === 'nack') {
        totals.nacked++;
        this.inflight.delete(msg.id);
        setTimeout(() => this.pump(), 200);
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ready = false;
      this.inflight.clear();
      this.downAt ??= Date.now();
      const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(this.attempt, 30));
      this.attempt++;
      maxAttempts = Math.max(maxAttempts, this.attempt);
      setTimeout(() => this.connect(), Math.max(minMs / 4, Math.random() * ceiling));
    });
  }

  tick() {
    this.queue.push(snapshot(this));
    totals.generated++;
    if (this.queue.length > queueMax) {
      this.queue.shift();
      totals.dropped++;
    }
    this.pump();
  }

  pump() {
    const ws = this.ws;
    if (!this.ready || ws === null || ws.readyState !== WebSocket.OPEN) return;
    const busy = new Set();
    for (const b of this.inflight.values()) for (const x of b) busy.add(x.seq);
    while (this.inflight.size < 4 && ws.bufferedAmount < 1024 * 1024) {
      const batch = this.queue.filter((x) => !busy.has(x.seq)).slice(0, 64);
      if (batch.length === 0) return;
      for (const x of batch) busy.add(x.seq);
      const id = this.nextId++;
      this.inflight.set(id, batch);
      ws.send(JSON.stringify({ type: 'batch', id, snapshots: batch }));
    }
  }

  beat() {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return;
    if (!this.alive) return ws.terminate();
    this.alive = false;
    ws.ping();
  }
}

const sims = Array.from({ length: K }, (_, i) => new Sim(i));
// Spread the first connects over a second, as a fleet started over time would be.
sims.forEach((s, i) => setTimeout(() => s.connect(), Math.floor((i / K) * 1000)));
const tick = setInterval(() => {
  for (const s of sims) s.tick();
}, intervalMs);
const beat = setInterval(() => {
  for (const s of sims) s.beat();
}, heartbeatMs);

function writeStatus() {
  const status = {
    sessions: K,
    ready: sims.filter((s) => s.ready).length,
    queued: sims.reduce((a, s) => a + s.queue.length, 0),
    ...totals,
    maxAttempts,
    recoveries,
    opens,
    rss: process.memoryUsage().rss,
  };
  writeFileSync(`${statusFile}.tmp`, JSON.stringify(status));
  renameSync(`${statusFile}.tmp`, statusFile);
}
const status = setInterval(() => {
  try {
    fdatasyncSync(side);
  } catch {
    // side log on a filesystem without fdatasync
  }
  writeStatus();
}, 500);
writeStatus();

process.on('SIGTERM', () => {
  clearInterval(tick);
  clearInterval(beat);
  clearInterval(status);
  fdatasyncSync(side);
  closeSync(side);
  writeStatus();
  process.exit(0);
});
