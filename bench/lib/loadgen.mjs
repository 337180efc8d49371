#!/usr/bin/env node
// A load generator speaking the real agent protocol over real WebSockets: --agents simulated
// agents in this process, each with its own TCP connection and WebSocket session (opening
// handshake with the bearer token, hello, host name and boot; bench/lib/loadgen-ws.mjs, a minimal
// RFC 6455 client: one masked frame per message, one write, acks parsed from one shared read
// buffer: the generators share the machine's cores with what they measure), sending one
// snapshot per --every ms (phases spread evenly) once "go SECONDS [WARMUP]" arrives on stdin:
// WARMUP seconds first (latencies kept apart: the collector meets 10,000 new hosts at once),
// then SECONDS of steady state. Prints one
// JSON line when connected ({"ready":...}) and one with the results.
//
// --window N (default 4): each simulated agent sends like the real one (packages/agent/src/uplink/
// uplink.ts pump()): its snapshots go into its own outbox, and while fewer than N batches are in
// flight (and the socket's buffer is under 1 MiB) the newest snapshot goes alone first, then the
// held ones oldest first in batches of up to MAX_BATCH (64), at most REPLAY_PER_SEC (500) held
// snapshots a second (token bucket); an ack or a new snapshot sends again; a retryable nack puts
// the batch's snapshots back (sent again 500 ms later). --window 0: fire and forget, one frame per
// snapshot when it is made, whatever the acks (the generator before agent-like sending).
// Latency is per snapshot: from its creation to the ack of the batch that carried it. All agents of
// the process are driven by one 10 ms interval; a snapshot is its seq (its creation time in a
// Float64Array per agent, ts derived from it), each agent's bin1 frame is encoded once and only id,
// ts and seq written per send. The result line also gives the process's CPU over the sending
// window (cpuUserUs, cpuSystemUs).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BIN1_BATCH, MAX_BATCH, VarintWriter, encodeBreakdown, encodeValues } from '../../packages/common/dist/index.js';
import { WsClient } from './loadgen-ws.mjs';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const url = opt('url', 'ws://127.0.0.1:7070');
const token = opt('token', '');
const agents = Number(opt('agents', 100));
const every = Number(opt('every', 1000));
const prefix = opt('prefix', 'lg');
const template = JSON.parse(readFileSync(opt('template', ''), 'utf8'));
// json: the JSON batch message; bin1: the binary batch frame the real agent sends when the
// collector offers it (packages/common/src/protocol/bin1.ts).
const encoding = opt('encoding', 'bin1');
// Batches in flight per agent (the real agent's maxInflight); 0 = fire and forget.
const window = Number(opt('window', 4));
// As the real agent's defaults (uplink.ts: maxBufferedBytes, replayPerSec).
const MAX_BUFFERED = 1024 * 1024;
const REPLAY_PER_SEC = 500;

// Latency histogram in 2% steps from 0.01 ms (bin b: 0.01 ms x 1.02^b; 2,048 bins reach 10^13 ms).
const STEP = Math.log(1.02);
const BINS = 2048;
const hist = new Uint32Array(BINS);
// Batches sent during the warm-up (every simulated agent's first: a new host to the collector, its
// host and boot rows and, for bin1, its counter names) are kept apart from the steady state.
const histFirst = new Uint32Array(BINS);
let steadyAtGlobal = Infinity;
const record = (ms, warm) => {
  const b = Math.max(0, Math.round(Math.log(Math.max(ms, 0.01) / 0.01) / STEP));
  (warm ? histFirst : hist)[Math.min(b, BINS - 1)]++;
};
// Per second of the steady window (by creation time): [snapshots acknowledged, of them over 250 ms, slowest ms].
const bySec = [];
/** A histogram as [bin, count] pairs of its non-empty bins (what bench/lib/ingest-load.mjs reads). */
const pairs = (h) => [...h.entries()].filter(([, n]) => n > 0);

const loop = monitorEventLoopDelay({ resolution: 10 });
// sent: snapshots made (offered), sentSteady: those made in the steady window; batches: batch frames
// sent, snapshotsSent: snapshots in them (resends after a nack included); stored, storedSteady:
// snapshots acknowledged as stored (storedSteady: made in the steady window); rejected: snapshots
// of batches refused for good.
const stats = { window, sent: 0, sentSteady: 0, batches: 0, snapshotsSent: 0, storedSteady: 0, acked: 0, stored: 0, duplicates: 0, nacks: 0, rejected: 0, closed: 0, errors: 0 };
const sims = [];

// One scratch buffer for the payload being built (grown when a batch needs more); the frame
// masks it into its own Buffer (bench/lib/loadgen-ws.mjs clientFrame()).
let scratch = Buffer.allocUnsafeSlow(64 * 1024);
const putU = (pos, v) => {
  let n = v;
  while (n >= 128) {
    scratch[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  scratch[pos++] = n;
  return pos;
};

/** A snapshot's ts: the wall clock at its creation (Date.now() then), from its performance.now(). */
const tsOf = (at) => Math.floor(performance.timeOrigin + at);

/**
 * Sends the bin1 frame of one batch: header (id, the layout declaration in the session's first
 * frame), the snapshot count, then per snapshot its layout id, ts, seq and the fixed tail
 * (everything after seq: boot, values, breakdown; encoded once per simulated agent).
 */
function sendBin1(sim, id, seqs) {
  const { layout, tail } = sim.bin;
  const need = 32 + layout.length + seqs.length * (tail.length + 24);
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(need * 2);
  scratch[0] = BIN1_BATCH;
  let pos = putU(1, id);
  if (sim.declared) scratch[pos++] = 0;
  else {
    scratch[pos++] = 1;
    scratch.set(layout, pos);
    pos += layout.length;
    sim.declared = true;
  }
  pos = putU(pos, seqs.length);
  for (const seq of seqs) {
    scratch[pos++] = 1;
    pos = putU(pos, tsOf(sim.at[seq]));
    pos = putU(pos, seq);
    scratch.set(tail, pos);
    pos += tail.length;
  }
  sim.ws.send(scratch, pos);
}

/** The constant parts of an agent's bin1 frames: the layout declaration and everything after seq. */
function bin1Parts(snap) {
  const l = new VarintWriter();
  l.putU(1);
  for (const names of [Object.keys(snap.snmp), Object.keys(snap.netstat)]) {
    l.putU(names.length);
    for (const n of names) l.putText(n);
  }
  const t = new VarintWriter();
  t.putText(snap.boot);
  const vals = encodeValues(snap);
  t.putU(vals.length);
  t.putBytes(vals);
  t.putU(0);
  if (snap.breakdown === undefined) t.putU(0);
  else {
    const b = new VarintWriter();
    encodeBreakdown(b, snap.breakdown);
    t.putU(b.pos);
    t.putBytes(b.buf.subarray(0, b.pos));
  }
  return { layout: l.bytes(), tail: t.bytes() };
}

function frameParts(i, boot) {
  const snap = structuredClone(template);
  snap.host = `${prefix}-${i}`;
  snap.labels = { bench: 'ingest', shard: String(i % 16) };
  snap.ts = 1111111111111;
  snap.seq = 987654321;
  // Different hosts, different counts.
  for (const k of Object.keys(snap.ipv4)) snap.ipv4[k] = (snap.ipv4[k] + i) % 1000;
  for (const k of Object.keys(snap.states)) snap.states[k] = snap.ipv4[k] + snap.ipv6[k];
  if (encoding === 'bin1') return bin1Parts({ ...snap, boot });
  const text = JSON.stringify(snap);
  const [a, rest] = text.split('1111111111111');
  const [b, c] = rest.split('987654321');
  return [a, b, c];
}

function connect(i) {
  return new Promise((resolve) => {
    const boot = randomUUID();
    const ws = new WsClient(url, { Authorization: `Bearer ${token}` });
    const parts = frameParts(i, boot);
    // outbox: seqs of snapshots made and not in flight, oldest first; inflight: batch id -> its
    // seqs; at: each snapshot's creation (performance.now(), indexed by seq; its ts derives from it).
    const sim = {
      ws,
      i,
      boot,
      seq: 0,
      id: 0,
      outbox: [],
      inflight: new Map(),
      at: new Float64Array(64),
      tokens: 0,
      refilledAt: performance.now(),
      timer: null,
      parts,
      bin: encoding === 'bin1' ? parts : null,
      declared: false,
      welcomed: false,
    };
    ws.onOpen = () => ws.send(JSON.stringify({ type: 'hello', v: 1, host: `${prefix}-${i}`, boot, agent: 'loadgen/0', interval_ms: every, labels: { bench: 'ingest' } }));
    ws.onMessage = (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'welcome') {
        sim.welcomed = true;
        resolve(sim);
      } else if (m.type === 'ack') {
        const seqs = sim.inflight.get(m.id);
        if (seqs !== undefined) {
          sim.inflight.delete(m.id);
          const now = performance.now();
          let steady = 0;
          for (const seq of seqs) {
            const at = sim.at[seq];
            const warm = at < steadyAtGlobal;
            record(now - at, warm);
            if (!warm) {
              steady++;
              const sec = Math.floor((at - steadyAtGlobal) / 1000);
              const row = (bySec[sec] ??= [0, 0, 0]);
              row[0]++;
              if (now - at > 250) row[1]++;
              if (now - at > row[2]) row[2] = Math.round(now - at);
            }
          }
          // A duplicate is a snapshot stored earlier: not counted as stored twice.
          stats.storedSteady += steady - Math.min(m.duplicates, steady);
        }
        stats.acked++;
        stats.stored += m.stored;
        stats.duplicates += m.duplicates;
        pump(sim);
      } else if (m.type === 'nack') {
        stats.nacks++;
        const seqs = sim.inflight.get(m.id);
        if (seqs === undefined) return;
        sim.inflight.delete(m.id);
        if (m.retryable === true) {
          // Back into the outbox in seq order, sent again later (as the agent's outbox.retry()).
          sim.outbox.push(...seqs);
          sim.outbox.sort((a, b) => a - b);
          setTimeout(() => pump(sim), 500);
        } else stats.rejected += seqs.length;
      }
    };
    ws.onClose = () => {
      stats.closed++;
      if (!sim.welcomed) resolve(null);
    };
    ws.onError = () => {
      stats.errors++;
    };
  });
}

/** Makes one snapshot (seq, ts = now) and sends what the window allows. */
function make(sim) {
  if (sim.ws.state !== 'open') return;
  const at = performance.now();
  const seq = ++sim.seq;
  if (seq >= sim.at.length) {
    const grown = new Float64Array(sim.at.length * 2);
    grown.set(sim.at);
    sim.at = grown;
  }
  sim.at[seq] = at;
  sim.outbox.push(seq);
  stats.sent++;
  if (at >= steadyAtGlobal) stats.sentSteady++;
  pump(sim);
}

/** Sends one batch frame of the snapshots `seqs` (bin1 or the JSON batch message). */
function sendBatch(sim, seqs) {
  const id = ++sim.id;
  sim.inflight.set(id, seqs);
  if (sim.bin !== null) sendBin1(sim, id, seqs);
  else {
    const [a, b, c] = sim.parts;
    sim.ws.send(`{"type":"batch","id":${id},"snapshots":[${seqs.map((seq) => `${a}${tsOf(sim.at[seq])}${b}${seq}${c}`).join(',')}]}`);
  }
  stats.batches++;
  stats.snapshotsSent += seqs.length;
}

/** As the agent's Uplink.pump(): the newest alone first, then held snapshots oldest first in batches. */
function pump(sim) {
  const ws = sim.ws;
  if (ws.state !== 'open') return;
  if (window === 0) {
    while (sim.outbox.length > 0) sendBatch(sim, sim.outbox.splice(0, 1));
    return;
  }
  const room = () => sim.inflight.size < window && ws.bufferedAmount < MAX_BUFFERED;
  // Only the newest snapshot made, and only while it is not sent yet (the agent's outbox.takeNewest()).
  if (room() && sim.outbox.at(-1) === sim.seq) sendBatch(sim, [sim.outbox.pop()]);
  if (sim.outbox.length === 0) return;
  const now = performance.now();
  sim.tokens = Math.min(Math.max(MAX_BATCH, REPLAY_PER_SEC), sim.tokens + ((now - sim.refilledAt) / 1000) * REPLAY_PER_SEC);
  sim.refilledAt = now;
  while (room() && sim.tokens >= 1 && sim.outbox.length > 0) {
    const seqs = sim.outbox.splice(0, Math.min(MAX_BATCH, Math.floor(sim.tokens)));
    sendBatch(sim, seqs);
    sim.tokens -= seqs.length;
  }
  if (sim.outbox.length > 0 && sim.tokens < 1 && sim.timer === null) {
    sim.timer = setTimeout(
      () => {
        sim.timer = null;
        pump(sim);
      },
      Math.ceil(1000 / REPLAY_PER_SEC) + 5,
    );
  }
}

async function main() {
  let next = 0;
  const lane = async () => {
    while (next < agents) {
      const i = next++;
      const s = await connect(i);
      if (s !== null) sims.push(s);
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  process.stdout.write(JSON.stringify({ ready: true, connected: sims.length }) + '\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const m = /^go (\d+)(?: (\d+))?/.exec(line);
    if (m === null) return;
    const seconds = Number(m[1]);
    const warmup = Number(m[2] ?? 0);
    loop.enable();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const end = start + (warmup + seconds) * 1000;
    steadyAtGlobal = start + warmup * 1000;
    // One timer per tick of 10 ms sends the agents whose phase falls in it.
    const perTick = sims.length / (every / 10);
    let tick = 0;
    let carry = 0;
    let cursor = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= end) {
        clearInterval(timer);
        // This process's CPU over the sending window, microseconds (user, system).
        const cpu = process.cpuUsage(cpu0);
        stats.cpuUserUs = cpu.user;
        stats.cpuSystemUs = cpu.system;
        return finish(seconds);
      }
      // Catch up on ticks missed by a busy event loop, so the offered rate stays as asked.
      const due = Math.floor((now - start) / 10) + 1;
      for (; tick < due; tick++) {
        carry += perTick;
        while (carry >= 1) {
          carry -= 1;
          make(sims[cursor]);
          cursor = (cursor + 1) % sims.length;
        }
      }
    }, 10);
  });
}

async function finish(seconds) {
  // Wait (bounded) until every snapshot made is acknowledged (held ones are still sent meanwhile).
  const unacked = () => sims.reduce((a, s) => a + s.outbox.length + [...s.inflight.values()].reduce((b, x) => b + x.length, 0), 0);
  for (let i = 0; i < 300 && unacked() > 0; i++) await new Promise((r) => setTimeout(r, 100));
  const outstanding = unacked();
  for (const s of sims) s.ws.close(1000, 'bench done');
  const loopDelay = { p50: Math.round(loop.percentile(50) / 1e6), p99: Math.round(loop.percentile(99) / 1e6), max: Math.round(loop.max / 1e6) };
  process.stdout.write(
    JSON.stringify({ seconds, ...stats, outstanding, loopDelay, bySec, steadyAtMs: Math.round(performance.timeOrigin + steadyAtGlobal), histFirst: pairs(histFirst), hist: pairs(hist) }) + '\n',
  );
  setTimeout(() => process.exit(0), 500);
}

// The bench stops a generator with SIGTERM once it reported: exit normally (a --cpu-prof profile is written).
process.on('SIGTERM', () => process.exit(0));

main().catch((err) => {
  process.stderr.write(`loadgen: ${err.stack}\n`);
  process.exit(1);
});
