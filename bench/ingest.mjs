// Collector ingest: the real collector (`tcpfleet serve`, durability full) and load generators
// speaking the real protocol over real WebSockets, at 1,000, 5,000 and 10,000 agents sending one
// snapshot per second each.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { installCleanup, stopTracked } from './lib/netns.mjs';
import { PER_PROC, drive, healthOf, launcherArgs, logProblems, procMem, procStat, snapshotTemplate, startCollector, startGenerators, summarize, waitHealthy, windowText } from './lib/ingest-load.mjs';
import { fmt, mdTable, table, verdict, writeJson, writeSection } from './lib/report.mjs';

// BENCH_EVERY_MS: each simulated agent's interval (default 1000: one snapshot a second). A longer
// one keeps as many sessions open at a lower rate: what a session costs, apart from the traffic.
const EVERY_MS = Number(process.env['BENCH_EVERY_MS'] ?? 1000);
// The collector's memory after a full garbage collection in each of its threads, once the
// generators stopped (bench/lib/gc-memory.mjs, as bench/session-memory.mjs reads it).
const GC_PRELOAD = fileURLToPath(new URL('./lib/gc-memory.mjs', import.meta.url));

async function level(agents, seconds, template, port, encoding, warmup, writeThread = 'on') {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-ingest-'));
  const token = 'bench-fleet-token-0123456789abcdef';
  writeFileSync(join(dir, 'token'), token + '\n', { mode: 0o600 });
  const db = join(dir, 'tcpfleet.db');
  const gcTrigger = join(dir, 'gc-trigger');
  const gcOut = join(dir, 'gc-memory.jsonl');
  // The collector runs with its launcher's V8 flags (startCollector reads them from its first line).
  const col = startCollector({
    port,
    db,
    tokenFile: join(dir, 'token'),
    args: ['--write-thread', writeThread],
    nodeArgs: ['--expose-gc', '--import', GC_PRELOAD],
    env: { BENCH_GC_TRIGGER: gcTrigger, BENCH_GC_OUT: gcOut },
  });
  let gens = [];
  try {
    await waitHealthy(port);
    const started = await startGenerators({ agents, urls: [`ws://127.0.0.1:${port}`], token, template, encoding, everyMs: EVERY_MS });
    gens = started.gens;
    const d = await drive(gens, { seconds, warmup, meters: { col: () => procStat(col.pid) }, rss: { col: col.pid } });
    writeFileSync(gcTrigger, 'end');
    let gcMain = null;
    for (let i = 0; i < 100 && gcMain === null; i++) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        gcMain =
          readFileSync(gcOut, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
            .find((l) => l.main) ?? null;
      } catch {}
    }
    const afterGc =
      gcMain === null ? null : { rssMb: procMem(col.pid).rss, heapUsedMb: gcMain.heapUsedKb / 1024, heapTotalMb: gcMain.heapTotalKb / 1024, arrayBuffersMb: gcMain.arrayBuffersKb / 1024 };
    const health = healthOf(port);
    await stopTracked(col);
    const s = summarize(d.res, seconds);
    const rows = new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM snapshots').get().n;
    return {
      ...s,
      agents,
      encoding,
      writeThread,
      frames: health.batch_frames ?? null,
      commitMsMax: health.commit_ms_max ?? null,
      slowCommits: health.slow_commits ?? null,
      loopDelay: health.event_loop_delay_ms ?? null,
      connected: started.connected,
      seconds,
      rowsInDb: rows,
      lost: s.sent - rows,
      warmup,
      cpuPct: d.cpuPct.col,
      cpuPctAll: d.cpuPctAll.col,
      genCpuPct: d.genCpuPct,
      rssMb: d.rssMax.col,
      hwmMb: d.mem.col.hwm,
      afterGc,
      commits: health.commits,
      snapshotsPerCommit: health.snapshots_stored / Math.max(1, health.commits),
      collectorErrors: logProblems(col.log),
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
  // BENCH_TEMPLATE: a saved `tcpfleet-agent --once --json` to send instead of one taken now.
  const { template, frameBytes, binFirst, binBytes, remove } = await snapshotTemplate();
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
          ['agents', 'encoding', 'write thread', 'snapshots/s', 'ack p50 ms', 'ack p99 ms', 'CPU %', 'gen CPU %', 'RSS MB', 'after GC: RSS / heap used / array buffers MB', 'lost'],
          [
            [
              r.connected,
              encoding,
              writeThread,
              fmt(r.perSecond, 0),
              fmt(r.latency.p50, 1),
              fmt(r.latency.p99, 1),
              fmt(r.cpuPct, 0),
              fmt(r.genCpuPct, 0),
              fmt(r.rssMb, 0),
              r.afterGc === null ? '-' : `${fmt(r.afterGc.rssMb, 0)} / ${fmt(r.afterGc.heapUsedMb, 0)} / ${fmt(r.afterGc.arrayBuffersMb, 0)}`,
              r.lost,
            ],
          ],
        ),
      );
    }
  } finally {
    remove();
  }
  writeJson('ingest', { frameBytes, binBytes, binFirst, results });
  let md = `## Collector ingest\n\nCommand: \`node bench/run.mjs ingest\` (levels with BENCH_AGENTS=1000,5000,10000, steady window BENCH_INGEST_S=${seconds}, warm-up BENCH_WARMUP_S=${warmup}). The real collector (\`tcpfleet serve\`, durability full, fresh database per level) on 127.0.0.1; load generators (bench/lib/loadgen.mjs, up to ${PER_PROC} simulated agents per process, each its own WebSocket, hello, host and boot) make one snapshot per agent per second, phases spread over the second, for ${warmup} s of warm-up and then ${seconds} s of steady state. ${windowText()}. Each snapshot is a real \`tcpfleet-agent --once --json\` of this machine${process.env['BENCH_TEMPLATE'] !== undefined ? ' saved earlier (BENCH_TEMPLATE)' : ''} with its own host and counts, sent as a bin1 binary batch frame (${binBytes} bytes; the first frame of a session also declares the counter names: ${binFirst} bytes), as agents send it to a collector that offers bin1, and as the JSON batch message (${frameBytes} bytes per frame), as older agents send it (\`encoding\`). \`write thread\`: SQLite transactions on the collector's write thread (the default) or on its event loop (\`--write-thread off\`).\n\nLatency: per snapshot, from its creation to the ack of the batch that carried it, at the generator, for the snapshots made in the steady window; the warm-up (every agent new to the collector in the same second: host and boot rows, counter names, 10,000 sockets starting at once) is reported apart. The generators share the 2 cores with the collector (a saturated generator inflates the latency it measures). Lost = snapshots made minus rows stored when the generators stopped (up to 30 s after the window for every snapshot made to be acknowledged; simulated agents resend what a retryable nack refused, not what a closed connection left unacknowledged). CPU: the collector process (all its threads, utime + stime) over the steady window, and all generator processes together over their sending time; 100% = one core. The collector runs with the V8 flags of its launcher (\`${launcherArgs().join(' ')}\`, packages/collector/bin/tcpfleet.js). RSS: peak of samples every 0.5 s (VmHWM in brackets); after GC: once the generators stopped, after a full garbage collection in every thread (heap used and array buffers of the main thread).\n\n`;
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
      'after GC: RSS (heap used, array buffers)',
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
      r.afterGc === null ? '-' : `${fmt(r.afterGc.rssMb, 0)} MB (${fmt(r.afterGc.heapUsedMb, 0)}, ${fmt(r.afterGc.arrayBuffersMb, 0)} MB)`,
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
