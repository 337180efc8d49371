// Ack write: what the collector's main thread spends to answer one frame, ws's Sender (header and
// payload corked: two writes, one writev) against the frame written whole (one Buffer, one
// socket.write: packages/collector/src/ingest/frames.ts). A server process set up as the
// collector's (ws server without permessage-deflate, handleUpgrade from an HTTP server) answers
// every binary frame it gets with an ack; a client process holds BENCH_ACK_CLIENTS WebSockets, each
// sending a 350-byte frame every BENCH_ACK_EVERY_MS and timing the answer. The server's CPU per
// answered frame (utime + stime of its process over the window / acks) is the figure; the modes run
// interleaved A B A B (BENCH_ACK_ROUNDS) so the VM's drift hits both.
//
//   flock /work/bench.lock node bench/ack-write.mjs            (needs `npx tsc -b`: it loads the collector's dist)
//
// Nothing is written to bench/RESULTS.md; BENCH_ACK_JSON=path keeps the figures as JSON.
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { WebSocket, WebSocketServer } from 'ws';
import { ackJson, directSocket, sendText } from '../packages/collector/dist/ingest/frames.js';

const CLIENTS = Number(process.env['BENCH_ACK_CLIENTS'] ?? 2000);
const EVERY_MS = Number(process.env['BENCH_ACK_EVERY_MS'] ?? 200);
const SECONDS = Number(process.env['BENCH_ACK_S'] ?? 10);
const WARMUP_S = Number(process.env['BENCH_ACK_WARMUP_S'] ?? 2);
const ROUNDS = Number(process.env['BENCH_ACK_ROUNDS'] ?? 2);
const MODES = ['ws', 'whole'];

/** utime + stime of a process, seconds. */
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** The server role: answers each frame with an ack, by `mode`. */
function serve(mode) {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxFragments: 1024 });
  const http = createServer((_req, res) => res.end());
  let id = 0;
  http.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      const direct = directSocket(ws, socket);
      ws.on('message', () => {
        if (ws.readyState !== ws.OPEN) return;
        id++;
        if (mode === 'ws') ws.send(JSON.stringify({ type: 'ack', id, stored: 1, duplicates: 0 }));
        else sendText(ws, direct, ackJson(id, 1, 0));
      });
      ws.on('error', () => {});
    }),
  );
  http.listen(0, '127.0.0.1', () => process.send?.({ port: http.address().port }));
}

/** One phase: a server in `mode`, CLIENTS clients, WARMUP_S + SECONDS; returns the figures. */
async function phase(mode) {
  const child = fork(new URL(import.meta.url).pathname, ['--server', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(new Error('server exited')));
  });
  const payload = Buffer.alloc(350, 7);
  const socks = [];
  let counting = false;
  let acks = 0;
  const lat = [];
  for (let i = 0; i < CLIENTS; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    ws.sentAt = 0;
    ws.on('message', () => {
      if (counting) {
        acks++;
        lat.push(performance.now() - ws.sentAt);
      }
      ws.sentAt = 0;
    });
    ws.on('error', () => {});
    socks.push(ws);
    await new Promise((r) => ws.once('open', r));
  }
  // Each client sends every EVERY_MS (skipping a tick while its answer is outstanding), spread over the interval.
  const ticks = Math.max(1, Math.round(EVERY_MS / 10));
  let tick = 0;
  const timer = setInterval(() => {
    for (let i = tick % ticks; i < socks.length; i += ticks) {
      const ws = socks[i];
      if (ws.sentAt !== 0) continue;
      ws.sentAt = performance.now();
      ws.send(payload);
    }
    tick++;
  }, 10);
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const la0 = load();
  counting = true;
  const c0 = cpuOf(child.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const c1 = cpuOf(child.pid);
  const wall = (performance.now() - t0) / 1000;
  counting = false;
  clearInterval(timer);
  for (const ws of socks) ws.terminate();
  child.kill();
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { mode, acks, perS: acks / wall, serverCpuPct: (100 * (c1 - c0)) / wall, serverUsPerAck: (1e6 * (c1 - c0)) / acks, rttP50Ms: q(0.5), rttP99Ms: q(0.99), loadStart: la0, loadEnd: load() };
}

async function main() {
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of MODES) {
      const x = await phase(mode);
      out.push(x);
      console.log(
        `${x.mode.padEnd(6)} acks/s ${x.perS.toFixed(0)}  server CPU ${x.serverCpuPct.toFixed(1)}%  ${x.serverUsPerAck.toFixed(1)} us/ack  rtt p50 ${x.rttP50Ms.toFixed(2)} ms p99 ${x.rttP99Ms.toFixed(2)} ms  load ${x.loadStart} -> ${x.loadEnd}`,
      );
    }
  }
  for (const mode of MODES) {
    const xs = out.filter((x) => x.mode === mode).map((x) => x.serverUsPerAck);
    console.log(`${mode}: us/ack ${xs.map((x) => x.toFixed(1)).join(' ')} (mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)})`);
  }
  if (process.env['BENCH_ACK_JSON']) writeFileSync(process.env['BENCH_ACK_JSON'], JSON.stringify({ clients: CLIENTS, everyMs: EVERY_MS, seconds: SECONDS, runs: out }, null, 2));
}

if (process.argv[2] === '--server') serve(process.argv[3]);
else await main();
