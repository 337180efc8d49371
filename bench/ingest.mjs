// Collector ingest: the real collector (`tcpfleet serve`, durability full) and load generators
// speaking the real protocol over real WebSockets, at 1,000, 5,000 and 10,000 agents sending one
// snapshot per second each.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { firstLine, installCleanup, startTracked, stopTracked } from './lib/netns.mjs';
import { REPO, fmt, mdTable, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const LOADGEN = process.env['BENCH_LOADGEN'] ?? fileURLToPath(new URL('./lib/loadgen.mjs', import.meta.url));
const COLLECTOR = process.env['BENCH_COLLECTOR'] ?? `${REPO}packages/collector/bin/tcpfleet.js`;
const AGENT = `${REPO}packages/agent/bin/tcpfleet-agent.js`;
const PER_PROC = 2500;
// BENCH_EVERY_MS: each simulated agent's interval (default 1000: one snapshot a second). A longer
// one keeps as many sessions open at a lower rate: what a session costs, apart from the traffic.
const EVERY_MS = Number(process.env['BENCH_EVERY_MS'] ?? 1000);
const TICK = 100; // clock ticks per second (/proc/PID/stat)

const procStat = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11]) + Number(parts[12])) / TICK; // utime + stime, seconds
};
const procMem = (pid) => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]) / 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]) / 1024 };
};

function fromHist(entries) {
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

async function level(agents, seconds, template, port, encoding, warmup, writeThread = 'on') {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-ingest-'));
  const token = 'bench-fleet-token-0123456789abcdef';
  writeFileSync(join(dir, 'token'), token + '\n', { mode: 0o600 });
  const db = join(dir, 'tcpfleet.db');
  const nodeArgs = (process.env['BENCH_COLLECTOR_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const col = startTracked(process.execPath, [
    ...nodeArgs,
    COLLECTOR,
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    '--db',
    db,
    '--token-file',
    join(dir, 'token'),
    '--log-level',
    'warn',
    '--write-thread',
    writeThread,
    // Every load generator connects from 127.0.0.1, up to 200 at a time (50 lanes a process);
    // a real fleet connects from one address per host.
    '--max-pending-per-address',
    '100000',
  ]);
  let colErr = '';
  col.stderr.on('data', (d) => (colErr += d.toString()));
  const gens = [];
  try {
    for (let i = 0; i < 100; i++) {
      try {
        execFileSync('curl', ['-sf', `http://127.0.0.1:${port}/healthz`], { stdio: 'ignore' });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const procs = Math.ceil(agents / PER_PROC);
    for (let p = 0; p < procs; p++) {
      const n = Math.floor(agents / procs) + (p < agents % procs ? 1 : 0);
      const g = startTracked(
        process.execPath,
        [LOADGEN, '--url', `ws://127.0.0.1:${port}`, '--token', token, '--agents', String(n), '--prefix', `lg${p}`, '--template', template, '--encoding', encoding, '--every', String(EVERY_MS)],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      gens.push(g);
    }
    const ready = await Promise.all(gens.map((g, i) => firstLine(g, `loadgen ${i}`, 300_000)));
    const connected = ready.reduce((a, r) => a + r.connected, 0);
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
    const cpu0 = procStat(col.pid);
    const gcpu0 = gens.map((g) => procStat(g.pid));
    const t0 = performance.now();
    for (const g of gens) g.stdin.write(`go ${seconds} ${warmup}\n`);
    // Collector CPU over the steady window only (after the warm-up, until sending stops).
    let cpuA = 0;
    let cpuB = 0;
    const ta = setTimeout(() => (cpuA = procStat(col.pid)), warmup * 1000);
    const tb = setTimeout(() => (cpuB = procStat(col.pid)), (warmup + seconds) * 1000);
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, procMem(col.pid).rss)), 500);
    // Generator CPU over the sending window only (they then wait for outstanding acks).
    let gcpu = 0;
    const gtimer = setTimeout(() => (gcpu = gens.reduce((a, g, i) => a + procStat(g.pid) - (gcpu0[i] ?? 0), 0)), (warmup + seconds) * 1000);
    const res = await Promise.all(outputs);
    clearInterval(sampler);
    clearTimeout(gtimer);
    clearTimeout(ta);
    clearTimeout(tb);
    const wall = (performance.now() - t0) / 1000;
    const cpu = procStat(col.pid) - cpu0;
    const mem = procMem(col.pid);
    for (const g of gens) await stopTracked(g);
    const health = JSON.parse(execFileSync('curl', ['-sf', `http://127.0.0.1:${port}/healthz`], { encoding: 'utf8' }));
    await stopTracked(col);
    const sum = (k) => res.reduce((a, r) => a + r[k], 0);
    const rows = new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM snapshots').get().n;
    // Steady state: every batch after each agent's first; first: the first batch of each agent
    // (the collector meets the host); all: both.
    const lat = fromHist(res.flatMap((r) => r.hist));
    const latFirst = fromHist(res.flatMap((r) => r.histFirst ?? []));
    const latAll = fromHist(res.flatMap((r) => [...r.hist, ...(r.histFirst ?? [])]));
    return {
      agents,
      encoding,
      writeThread,
      frames: health.batch_frames ?? null,
      commitMsMax: health.commit_ms_max ?? null,
      slowCommits: health.slow_commits ?? null,
      loopDelay: health.event_loop_delay_ms ?? null,
      genLoopDelay: res.map((r) => r.loopDelay ?? null),
      connected,
      seconds,
      sent: sum('sent'),
      acked: sum('acked'),
      stored: sum('stored'),
      nacks: sum('nacks'),
      outstanding: sum('outstanding'),
      rowsInDb: rows,
      lost: sum('sent') - rows,
      perSecond: sum('storedSteady') / seconds,
      offeredPerSecond: sum('sentSteady') / seconds,
      warmup,
      latency: lat,
      latencyFirst: latFirst,
      latencyAll: latAll,
      cpuPct: (100 * (cpuB - cpuA)) / seconds,
      cpuPctAll: (100 * cpu) / wall,
      genCpuPct: (100 * gcpu) / (warmup + seconds),
      rssMb: rssMax,
      hwmMb: mem.hwm,
      commits: health.commits,
      snapshotsPerCommit: health.snapshots_stored / Math.max(1, health.commits),
      collectorErrors: colErr
        .split('\n')
        .filter((l) => l.includes('"level":50') || l.includes('"level":40'))
        .slice(0, 3),
    };
  } finally {
    for (const g of gens) await stopTracked(g);
    await stopTracked(col);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  installCleanup();
  const levels = (process.env['BENCH_AGENTS'] ?? '1000,5000,10000').split(',').map(Number);
  const seconds = Number(process.env['BENCH_INGEST_S'] ?? 30);
  // The first seconds, when every simulated agent is new to the collector, are reported apart.
  const warmup = Number(process.env['BENCH_WARMUP_S'] ?? 10);
  const tdir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-tpl-'));
  const template = join(tdir, 'snapshot.json');
  // BENCH_TEMPLATE: a saved `tcpfleet-agent --once --json` to send instead of one taken now (its
  // size follows the machine's connections, so runs on a busy and a quiet box differ without it).
  const given = process.env['BENCH_TEMPLATE'];
  const once = given !== undefined ? { stdout: readFileSync(given, 'utf8') } : spawnSync(process.execPath, [AGENT, '--once', '--json'], { encoding: 'utf8' });
  writeFileSync(template, once.stdout);
  const frameBytes = Buffer.byteLength(once.stdout) + 40;
  const { Bin1Encoder } = await import('../packages/common/dist/index.js');
  const enc = new Bin1Encoder();
  const tpl = JSON.parse(once.stdout);
  const binFirst = enc.encode(1, [tpl]).length;
  const binBytes = enc.encode(2, [tpl]).length;
  const results = [];
  // bin1 is what agents send to a collector that offers it; json is the fallback (older agents).
  // One more 10,000-agent row with the SQLite writes on the event loop (--write-thread off) shows
  // what the write thread changes, measured in the same run.
  const encodings = (process.env['BENCH_ENCODINGS'] ?? 'bin1,json').split(',');
  const jsonLevels = (process.env['BENCH_JSON_AGENTS'] ?? '1000,5000').split(',').map(Number);
  const offLevels = (process.env['BENCH_THREAD_OFF_AGENTS'] ?? '10000').split(',').filter(Boolean).map(Number);
  const runs = [];
  for (const encoding of encodings) for (const n of encoding === 'json' ? jsonLevels : levels) runs.push({ n, encoding, writeThread: 'on' });
  if (encodings.includes('bin1')) for (const n of offLevels) runs.push({ n, encoding: 'bin1', writeThread: 'off' });
  try {
    for (const { n, encoding, writeThread } of runs) {
      console.log(`ingest: ${n} agents (${encoding}, write thread ${writeThread}) for ${warmup} + ${seconds} s...`);
      const r = await level(n, seconds, template, Number(process.env['BENCH_PORT'] ?? 20200), encoding, warmup, writeThread);
      results.push(r);
      console.log(
        `  commits ${r.commits}, ${fmt(r.snapshotsPerCommit, 0)} snapshots each, longest ${r.commitMsMax} ms, ${r.slowCommits} of 100 ms or more; warm-up (first ${r.warmup} s): p50 ${fmt(r.latencyFirst.p50, 1)} ms p99 ${fmt(r.latencyFirst.p99, 1)} ms; all batches p99 ${fmt(r.latencyAll.p99, 1)} ms; collector event-loop delay ${JSON.stringify(r.loopDelay)}, generators ${JSON.stringify(r.genLoopDelay)}`,
      );
      console.log(
        table(
          ['agents', 'encoding', 'write thread', 'snapshots/s', 'ack p50 ms', 'ack p99 ms', 'CPU %', 'gen CPU %', 'RSS MB', 'lost'],
          [[r.connected, encoding, writeThread, fmt(r.perSecond, 0), fmt(r.latency.p50, 1), fmt(r.latency.p99, 1), fmt(r.cpuPct, 0), fmt(r.genCpuPct, 0), fmt(r.rssMb, 0), r.lost]],
        ),
      );
    }
  } finally {
    rmSync(tdir, { recursive: true, force: true });
  }
  writeJson('ingest', { frameBytes, binBytes, binFirst, results });
  let md = `## Collector ingest\n\nCommand: \`node bench/run.mjs ingest\` (levels with BENCH_AGENTS=1000,5000,10000, steady window BENCH_INGEST_S=${seconds}, warm-up BENCH_WARMUP_S=${warmup}). The real collector (\`tcpfleet serve\`, durability full, fresh database per level) on 127.0.0.1; load generators (bench/lib/loadgen.mjs, up to ${PER_PROC} simulated agents per process, each its own WebSocket, hello, host and boot) send one snapshot per agent per second, phases spread over the second, for ${warmup} s of warm-up and then ${seconds} s of steady state. Each snapshot is a real \`tcpfleet-agent --once --json\` of this machine${process.env['BENCH_TEMPLATE'] !== undefined ? ' saved earlier (BENCH_TEMPLATE)' : ''} with its own host and counts, sent as a bin1 binary batch frame (${binBytes} bytes; the first frame of a session also declares the counter names: ${binFirst} bytes), as agents send it to a collector that offers bin1, and as the JSON batch message (${frameBytes} bytes per frame), as older agents send it (\`encoding\`). \`write thread\`: SQLite transactions on the collector's write thread (the default) or on its event loop (\`--write-thread off\`).\n\nLatency: from send to ack at the generator, for the batches sent in the steady window; the warm-up (every agent new to the collector in the same second: host and boot rows, counter names, 10,000 sockets starting at once) is reported apart. The generators share the 2 cores with the collector (a saturated generator inflates the latency it measures). Lost = snapshots sent minus rows stored when the generators stopped (30 s after the window; simulated agents do not retry: a real agent keeps unacknowledged snapshots and resends them). CPU: the collector process (all its threads, utime + stime) over the steady window, and all generator processes together over their sending time; 100% = one core.\n\n`;
  md += mdTable(
    [
      'agents',
      'encoding',
      'write thread',
      'snapshots/s stored (offered)',
      'ack p50',
      'ack p99',
      'warm-up ack p50 / p99',
      'collector CPU',
      'generators CPU',
      'collector RSS (peak)',
      'longest commit',
      'nacks',
      'lost',
    ],
    results.map((r) => [
      r.connected.toLocaleString('en-US'),
      r.encoding,
      r.writeThread,
      `${fmt(r.perSecond, 0)} (${fmt(r.offeredPerSecond, 0)})`,
      `${fmt(r.latency.p50, 1)} ms`,
      `${fmt(r.latency.p99, 1)} ms`,
      `${fmt(r.latencyFirst.p50, 0)} / ${fmt(r.latencyFirst.p99, 0)} ms`,
      `${fmt(r.cpuPct, 0)}%`,
      `${fmt(r.genCpuPct, 0)}%`,
      `${fmt(r.rssMb, 0)} MB (${fmt(r.hwmMb, 0)})`,
      `${r.commitMsMax} ms`,
      r.nacks,
      r.lost,
    ]),
  );
  const top = results.find((r) => r.agents === 10_000 && r.encoding === 'bin1' && r.writeThread === 'on') ?? results.find((r) => r.agents === 10_000) ?? results.at(-1);
  if (top !== undefined) {
    md += `\n### Target: 10,000 agents at one snapshot per second, ack p99 < 250 ms, zero loss\n\n`;
    md += mdTable(
      ['target', 'measured', 'verdict'],
      [
        [
          '10,000 snapshots/s sustained',
          `${fmt(top.perSecond, 0)}/s from ${top.connected} agents (${top.encoding}, write thread ${top.writeThread})`,
          verdict(top.perSecond >= 0.99 * top.agents, `${fmt(top.perSecond / top.agents, 2)} x the offered rate`),
        ],
        [
          'ack p99 < 250 ms (steady state)',
          `${fmt(top.latency.p99, 1)} ms (p50 ${fmt(top.latency.p50, 1)} ms); warm-up, every agent new at once: p50 ${fmt(top.latencyFirst.p50, 0)} ms, p99 ${fmt(top.latencyFirst.p99, 0)} ms`,
          verdict(top.latency.p99 < 250, `${fmt(top.latency.p99 / 250, 2)} x the limit`),
        ],
        ['zero loss', `${top.sent} sent, ${top.rowsInDb} stored, ${top.outstanding} unacknowledged at the end`, verdict(top.lost === 0, `${top.lost} lost`)],
      ],
    );
  }
  writeSection('ingest', md);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
