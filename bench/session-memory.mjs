// Collector memory per connected agent, apart from the traffic: the real collector (`tcpfleet
// serve`), then N simulated agents (bench/lib/loadgen.mjs, bin1, each its own WebSocket, hello,
// host and boot) sending one snapshot every EVERY ms. Memory is read after a full garbage
// collection in every thread of the collector (bench/lib/gc-memory.mjs), once with no agent and
// once with N, so the difference is what the sessions and their hosts hold, not garbage.
//
//   node bench/session-memory.mjs [N=10000] [EVERY_MS=30000] [COLLECTOR_BIN]
//
// COLLECTOR_BIN (default packages/collector/bin/tcpfleet.js) lets two builds be compared in one
// sitting; the collector runs with its launcher's node flags (the `#!/usr/bin/env -S node ...` line
// of COLLECTOR_BIN) as `tcpfleet serve` runs anywhere. Extra node flags: BENCH_COLLECTOR_NODE_ARGS;
// extra environment: BENCH_COLLECTOR_ENV="K=V K2=V2". The collector's RSS is also sampled every 0.5 s
// while the agents send (peak: rssPeakKb). BENCH_HEAP_SNAPSHOT=FILE: once the agents' memory was read,
// a heap snapshot of the collector's main thread is written to FILE (node --heapsnapshot-signal;
// bench/lib/heap-summary.mjs lists what it holds). Not part of `npm run bench`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstLine, installCleanup, startTracked, stopTracked } from './lib/netns.mjs';
import { REPO } from './lib/report.mjs';

const N = Number(process.argv[2] ?? 10_000);
const EVERY = Number(process.argv[3] ?? 30_000);
const BIN = process.argv[4] ?? `${REPO}packages/collector/bin/tcpfleet.js`;
const PER_PROC = 2500;
const port = Number(process.env['BENCH_PORT'] ?? 20877);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

installCleanup();
const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-sessions-'));
const token = 'bench-fleet-token-0123456789abcdef';
writeFileSync(join(dir, 'token'), token + '\n', { mode: 0o600 });
const trigger = join(dir, 'trigger');
const out = join(dir, 'memory.jsonl');
const launcher = (/^#!.*\bnode\b(.*)$/.exec(readFileSync(BIN, 'utf8').split('\n')[0] ?? '')?.[1] ?? '').split(' ').filter(Boolean);
const nodeArgs = [...launcher, ...(process.env['BENCH_COLLECTOR_NODE_ARGS'] ?? '').split(' ').filter(Boolean)];
const snapshotTo = process.env['BENCH_HEAP_SNAPSHOT'];
if (snapshotTo !== undefined) nodeArgs.push('--heapsnapshot-signal=SIGUSR2');
const extraEnv = Object.fromEntries(
  (process.env['BENCH_COLLECTOR_ENV'] ?? '')
    .split(' ')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const preload = fileURLToPath(new URL('./lib/gc-memory.mjs', import.meta.url));
const col = startTracked(
  process.execPath,
  [
    ...nodeArgs,
    '--expose-gc',
    '--import',
    preload,
    BIN,
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    '--db',
    join(dir, 'db'),
    '--token-file',
    join(dir, 'token'),
    '--log-level',
    'warn',
    '--max-pending-per-address',
    '100000',
  ],
  { cwd: dir, env: { ...process.env, ...extraEnv, BENCH_GC_TRIGGER: trigger, BENCH_GC_OUT: out } },
);
col.stdout.resume();
col.stderr.resume();
const vmRssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${col.pid}/status`, 'utf8'))?.[1]);
const gens = [];
try {
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`);
      break;
    } catch {
      await sleep(200);
    }
  }
  const measure = async (tag) => {
    writeFileSync(trigger, tag);
    await sleep(6000);
    return vmRssKb();
  };
  const rss0 = await measure('no agent');
  const template = join(dir, 'snapshot.json');
  writeFileSync(template, execFileSync(process.execPath, [`${REPO}packages/agent/bin/tcpfleet-agent.js`, '--once', '--json'], { encoding: 'utf8' }));
  for (let p = 0; p < Math.ceil(N / PER_PROC); p++) {
    const n = Math.min(PER_PROC, N - p * PER_PROC);
    gens.push(
      startTracked(
        process.execPath,
        [
          `${REPO}bench/lib/loadgen.mjs`,
          '--url',
          `ws://127.0.0.1:${port}`,
          '--token',
          token,
          '--agents',
          String(n),
          '--prefix',
          `s${p}`,
          '--template',
          template,
          '--encoding',
          'bin1',
          '--every',
          String(EVERY),
        ],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      ),
    );
  }
  const ready = await Promise.all(gens.map((g, i) => firstLine(g, `loadgen ${i}`, 600_000)));
  const connected = ready.reduce((a, r) => a + r.connected, 0);
  for (const g of gens) g.stdin.write('go 3600 0\n');
  // Two intervals: every host stored twice (its latest row, its alert samples); at least 30 s.
  let rssPeak = 0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, vmRssKb())), 500);
  await sleep(Math.max(2 * EVERY + 5000, 30_000));
  clearInterval(sampler);
  const rssN = await measure(`${connected} agents`);
  if (snapshotTo !== undefined) {
    const before = new Set(readdirSync(dir));
    process.kill(col.pid, 'SIGUSR2');
    let file;
    for (let i = 0; i < 600 && file === undefined; i++) {
      await sleep(1000);
      file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
      // Written when its size is no longer 0 and stops changing.
      if (file !== undefined) {
        let size = -1;
        for (let j = 0; j < 300 && (size <= 0 || statSync(join(dir, file)).size !== size); j++) {
          size = statSync(join(dir, file)).size;
          await sleep(2000);
        }
      }
    }
    if (file !== undefined) copyFileSync(join(dir, file), snapshotTo);
  }
  const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
  const lines = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const main = (tag) => lines.find((l) => l.main && l.tag === tag);
  const m0 = main('no agent');
  const mN = main(`${connected} agents`);
  const per = (a, b) => Math.round(((b - a) * 1024) / connected);
  const result = {
    collector: BIN,
    agents: connected,
    everyMs: EVERY,
    stored: health.snapshots_stored,
    // Writer figures since start: the longest commit, commits of 100 ms or more, the event loop's delay.
    health: { commitMsMax: health.commit_ms_max, slowCommits: health.slow_commits, eventLoopDelayMs: health.event_loop_delay_ms, writeQueue: health.write_queue },
    rssKb: { noAgent: rss0, agents: rssN, peakWhileSending: rssPeak },
    perAgentBytes: {
      rss: per(rss0, rssN),
      mainHeapUsedAfterGc: per(m0.heapUsedKb, mN.heapUsedKb),
      mainHeapTotal: per(m0.heapTotalKb, mN.heapTotalKb),
      arrayBuffers: per(m0.arrayBuffersKb, mN.arrayBuffersKb),
    },
    threads: lines,
  };
  console.log(JSON.stringify(result));
} finally {
  for (const g of gens) await stopTracked(g);
  await stopTracked(col);
  rmSync(dir, { recursive: true, force: true });
}
