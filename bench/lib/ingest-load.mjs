// Driving load generators (bench/lib/loadgen.mjs) against running collectors and measuring what
// the collectors and their database cost: bench/ingest.mjs (one SQLite collector at 1,000-10,000
// agents) and bench/fleet-pg.mjs (SQLite against PostgreSQL with one and with two collectors).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstLine, startTracked, stopTracked } from './netns.mjs';
import { REPO } from './report.mjs';

export const LOADGEN = process.env['BENCH_LOADGEN'] ?? fileURLToPath(new URL('./loadgen.mjs', import.meta.url));
/** BENCH_LOADGEN_NODE_ARGS: node flags of every generator process (e.g. `--cpu-prof --cpu-prof-dir=DIR`). */
const LOADGEN_NODE_ARGS = (process.env['BENCH_LOADGEN_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/**
 * BENCH_WINDOW: batches each simulated agent keeps in flight (loadgen --window). 4, the default, is
 * the real agent's maxInflight (snapshots held meanwhile go later in batches of up to 64); 0 = fire
 * and forget, one frame per snapshot whatever the acks.
 */
export const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 4);
/** How the simulated agents send, for the RESULTS text. */
export const windowText = () =>
  WINDOW > 0
    ? `Each simulated agent sends like the real one (packages/agent/src/uplink/uplink.ts pump(), BENCH_WINDOW=${WINDOW}): at most ${WINDOW} batches in flight; while the window is full its snapshots wait in its outbox, then the newest goes alone first and the waiting ones oldest first in batches of up to 64 (at most 500 a second); a retryable nack puts a batch's snapshots back to be sent again`
    : 'Each simulated agent sends fire and forget (BENCH_WINDOW=0): one frame per snapshot when it is made, whatever the acks (a real agent keeps at most 4 batches in flight and batches what waits)';
/** Simulated agents per generator process (a process may hold at most 20,000 files). */
export const PER_PROC = 2500;
const TICK = 100; // clock ticks per second (/proc/PID/stat)

const statFields = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return f.slice(f.lastIndexOf(')') + 2).split(' ');
};

/**
 * The snapshot every simulated agent sends: a real `tcpfleet-agent --once --json` of this machine
 * taken now, or BENCH_TEMPLATE (a saved one: its size follows the machine's connections, so runs
 * on a busy and a quiet box differ without it). Written to a temporary file (`template`; remove()
 * deletes it), with its frame sizes: JSON batch message, bin1 frame, first bin1 frame of a session.
 */
export async function snapshotTemplate() {
  const tdir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-tpl-'));
  const remove = () => rmSync(tdir, { recursive: true, force: true });
  try {
    const template = join(tdir, 'snapshot.json');
    const given = process.env['BENCH_TEMPLATE'];
    const once = given !== undefined ? { stdout: readFileSync(given, 'utf8') } : spawnSync(process.execPath, [`${REPO}packages/agent/bin/tcpfleet-agent.js`, '--once', '--json'], { encoding: 'utf8' });
    writeFileSync(template, once.stdout);
    const { Bin1Encoder } = await import('../../packages/common/dist/index.js');
    const enc = new Bin1Encoder();
    const tpl = JSON.parse(once.stdout);
    return { template, frameBytes: Buffer.byteLength(once.stdout) + 40, binFirst: enc.encode(1, [tpl]).length, binBytes: enc.encode(2, [tpl]).length, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** A process's CPU time so far (all its threads, utime + stime), seconds. */
export const procStat = (pid) => {
  const parts = statFields(pid);
  return (Number(parts[11]) + Number(parts[12])) / TICK;
};

/**
 * A server and all its processes: the CPU time of `pid` and of every live child, plus what its
 * children that ended already used (cutime + cstime: the parent reaped them), seconds. For the
 * PostgreSQL postmaster this is every backend, the checkpointer, WAL writer and the rest.
 */
export const treeStat = (pid) => {
  const own = statFields(pid);
  let s = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const p = statFields(d);
      if (Number(p[1]) === pid) s += Number(p[11]) + Number(p[12]);
    } catch {
      // ended meanwhile: counted in the parent's cutime once reaped
    }
  }
  return s / TICK;
};

/** CPU time the whole machine spent busy so far (every core: all but idle and iowait in /proc/stat), seconds. */
export const machineBusy = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, x) => a + x, 0) - (f[3] ?? 0) - (f[4] ?? 0)) / TICK;
};

export const procMem = (pid) => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]) / 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]) / 1024 };
};

/** Percentiles from loadgen's latency histogram (2% steps). */
export function fromHist(entries) {
  const STEP = Math.log(1.02);
  const sorted = entries.sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((a, [, n]) => a + n, 0);
  const q = (p) => {
    let seen = 0;
    for (const [b, n] of sorted) {
      seen += n;
      if (seen >= p * total) return 0.01 * Math.exp(b * STEP);
    }
    return NaN;
  };
  return { p50: q(0.5), p99: q(0.99), max: q(1), n: total };
}

/** The collector's launcher (BENCH_COLLECTOR: another build). */
export const COLLECTOR_BIN = process.env['BENCH_COLLECTOR'] ?? `${REPO}packages/collector/bin/tcpfleet.js`;

/** The node flags of the launcher's `#!/usr/bin/env -S node ...` line, if it has any: the collector runs as `tcpfleet serve` runs anywhere. */
export const launcherArgs = () => (/^#!.*\bnode\b(.*)$/.exec(readFileSync(COLLECTOR_BIN, 'utf8').split('\n')[0] ?? '')?.[1] ?? '').split(' ').filter(Boolean);

/**
 * Starts the real collector (`tcpfleet serve`; BENCH_COLLECTOR: another build, BENCH_COLLECTOR_NODE_ARGS:
 * node flags) on 127.0.0.1:`port` with database `db`, warnings and errors only; `proc.log` gathers its
 * log; `nodeArgs` and `env` add node flags and environment. Every load generator connects from 127.0.0.1, up to 200 at a time (50 lanes a process); a real
 * fleet connects from one address per host: hence the raised limit of pending sessions per address.
 */
export function startCollector({ port, db, tokenFile, args = [], nodeArgs: extraNodeArgs = [], env }) {
  const nodeArgs = (process.env['BENCH_COLLECTOR_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const bin = COLLECTOR_BIN;
  const launcher = launcherArgs();
  const serve = ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--token-file', tokenFile, '--log-level', 'warn', '--max-pending-per-address', '100000'];
  const proc = startTracked(process.execPath, [...launcher, ...nodeArgs, ...extraNodeArgs, bin, ...serve, ...args], env === undefined ? {} : { env: { ...process.env, ...env } });
  proc.log = '';
  proc.stderr.on('data', (d) => (proc.log += d.toString()));
  return proc;
}

/** Waits (bounded, 10 s) until the collector on `port` answers /healthz. */
export async function waitHealthy(port) {
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('curl', ['-sf', `http://127.0.0.1:${port}/healthz`], { stdio: 'ignore' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`collector on port ${port} did not answer /healthz within 10 s`);
}

export const healthOf = (port) => JSON.parse(execFileSync('curl', ['-sf', `http://127.0.0.1:${port}/healthz`], { encoding: 'utf8' }));

/**
 * Starts generators for `agents` simulated agents, split evenly over `urls` (one collector each:
 * generator p talks to urls[p % urls.length]); resolves once all are connected.
 */
export async function startGenerators({ agents, urls, token, template, encoding, everyMs }) {
  let procs = Math.max(Math.ceil(agents / PER_PROC), urls.length);
  procs = Math.ceil(procs / urls.length) * urls.length;
  const gens = [];
  for (let p = 0; p < procs; p++) {
    const n = Math.floor(agents / procs) + (p < agents % procs ? 1 : 0);
    const url = urls[p % urls.length];
    const argv = [LOADGEN, '--url', url, '--token', token, '--agents', String(n), '--prefix', `lg${p}`, '--template', template, '--encoding', encoding];
    const g = startTracked(process.execPath, [...LOADGEN_NODE_ARGS, ...argv, '--every', String(everyMs), '--window', String(WINDOW)], { stdio: ['pipe', 'pipe', 'pipe'] });
    g.url = url;
    gens.push(g);
  }
  const ready = await Promise.all(gens.map((g, i) => firstLine(g, `loadgen ${i}`, 300_000)));
  return { gens, connected: ready.reduce((a, r) => a + r.connected, 0), perGen: ready.map((r) => r.connected) };
}

/**
 * Runs the generators for `warmup` + `seconds` and waits for their results. `meters`: name ->
 * function giving cumulative CPU seconds, read at the start of the steady window and at its end;
 * `rss`: name -> PID whose RSS is sampled every 500 ms (peak). Returns the generators' results,
 * CPU % per meter over the steady window (100% = one core), the generators' CPU over their
 * sending time, the RSS peaks and the wall time.
 */
export async function drive(gens, { seconds, warmup, meters = {}, rss = {} }) {
  const outputs = gens.map(
    (g) =>
      new Promise((resolve) => {
        let buf = '';
        g.stdout.on('data', (d) => {
          buf += d.toString();
          const lines = buf.split('\n').filter(Boolean);
          const last = lines.at(-1);
          if (last?.includes('"hist"')) resolve(JSON.parse(last));
        });
      }),
  );
  await new Promise((r) => setTimeout(r, 2000));
  // A meter whose process ended already (a generator exits once it reported) reads NaN.
  const safe = (f) => {
    try {
      return f();
    } catch {
      return NaN;
    }
  };
  const read = () => Object.fromEntries(Object.entries(meters).map(([k, f]) => [k, safe(f)]));
  const all0 = read();
  const gcpu0 = gens.map((g) => procStat(g.pid));
  const t0 = performance.now();
  for (const g of gens) g.stdin.write(`go ${seconds} ${warmup}\n`);
  // CPU over the steady window only (after the warm-up, until sending stops).
  let cpuA = null;
  let cpuB = null;
  const ta = setTimeout(() => (cpuA = read()), warmup * 1000);
  const tb = setTimeout(() => (cpuB = read()), (warmup + seconds) * 1000);
  const rssMax = Object.fromEntries(Object.keys(rss).map((k) => [k, 0]));
  const sampler = setInterval(() => {
    for (const [k, pid] of Object.entries(rss)) rssMax[k] = Math.max(rssMax[k], procMem(pid).rss);
  }, 500);
  // Generator CPU over the sending window only (they then wait for outstanding acks).
  let gcpu = 0;
  const gtimer = setTimeout(() => (gcpu = gens.reduce((a, g, i) => a + procStat(g.pid) - (gcpu0[i] ?? 0), 0)), (warmup + seconds) * 1000);
  const res = await Promise.all(outputs);
  clearInterval(sampler);
  for (const t of [gtimer, ta, tb]) clearTimeout(t);
  const wall = (performance.now() - t0) / 1000;
  const all1 = read();
  const cpuPct = {};
  const cpuPctAll = {};
  for (const k of Object.keys(meters)) {
    cpuPct[k] = cpuA !== null && cpuB !== null ? (100 * (cpuB[k] - cpuA[k])) / seconds : NaN;
    cpuPctAll[k] = (100 * (all1[k] - all0[k])) / wall;
  }
  const mem = Object.fromEntries(Object.entries(rss).map(([k, pid]) => [k, procMem(pid)]));
  for (const g of gens) await stopTracked(g);
  return { res, cpuPct, cpuPctAll, genCpuPct: (100 * gcpu) / (warmup + seconds), rssMax, mem, wall };
}

/** The generators' results summed up: sent, acked, stored, nacks, outstanding, steady rates and latencies. */
export function summarize(res, seconds) {
  const sum = (k) => res.reduce((a, r) => a + r[k], 0);
  return {
    sent: sum('sent'),
    acked: sum('acked'),
    stored: sum('stored'),
    nacks: sum('nacks'),
    batches: sum('batches'),
    snapshotsSent: sum('snapshotsSent'),
    rejected: sum('rejected'),
    window: WINDOW,
    closed: sum('closed'),
    outstanding: sum('outstanding'),
    perSecond: sum('storedSteady') / seconds,
    offeredPerSecond: sum('sentSteady') / seconds,
    // Steady state: every batch after the warm-up; first: the warm-up (the collector meets each host).
    latency: fromHist(res.flatMap((r) => r.hist)),
    latencyFirst: fromHist(res.flatMap((r) => r.histFirst ?? [])),
    latencyAll: fromHist(res.flatMap((r) => [...r.hist, ...(r.histFirst ?? [])])),
    genLoopDelay: res.map((r) => r.loopDelay ?? null),
    // When the steady window began (wall clock, ms), to line bySecond up with other logs.
    steadyAtMs: res[0]?.steadyAtMs ?? null,
    // Per generator (generator g talks to collector g % collectors): its acks over 250 ms in the steady window.
    slowPerGenerator: res.map((r) => (r.bySec ?? []).reduce((a, x) => a + (x?.[1] ?? 0), 0)),
    // Per second of the steady window (snapshots by creation time): [acknowledged, over 250 ms, slowest ms], all generators.
    bySecond: res.reduce((acc, r) => {
      (r.bySec ?? []).forEach((x, i) => {
        if (x === null || x === undefined) return;
        const a = (acc[i] ??= [0, 0, 0]);
        a[0] += x[0];
        a[1] += x[1];
        a[2] = Math.max(a[2], x[2]);
      });
      return acc;
    }, []),
    // The generators' own CPU over their sending window (process.cpuUsage(): user and system,
    // all processes), microseconds per snapshot made.
    genUsPerSnapshot: { user: sum('cpuUserUs') / Math.max(1, sum('sent')), system: sum('cpuSystemUs') / Math.max(1, sum('sent')) },
  };
}

/** The warning and error lines of a collector's log (its stderr), at most three. */
export const logProblems = (text) =>
  text
    .split('\n')
    .filter((l) => l.includes('"level":50') || l.includes('"level":40'))
    .slice(0, 3);
