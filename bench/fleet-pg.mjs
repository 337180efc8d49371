// PostgreSQL and several collectors (issue 11): in one run, the same load (10,000 bin1 agents at
// one snapshot a second) on SQLite with one collector, on PostgreSQL with one collector and on
// PostgreSQL with two collectors (agents split evenly, each generator given its collector); then
// fleet total and hosts over HTTP on each collector at 10,000 hosts. The PostgreSQL server is a
// throwaway cluster this bench starts (bench/lib/pg.mjs) and removes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import Database from 'better-sqlite3';
import { installCleanup, stopTracked } from './lib/netns.mjs';
import { drive, healthOf, machineBusy, logProblems, procStat, snapshotTemplate, startCollector, startGenerators, summarize, treeStat, waitHealthy, windowText } from './lib/ingest-load.mjs';
import { freePort, pgBin, startPg } from './lib/pg.mjs';
import { fmt, mdTable, median, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const TOKEN = 'bench-fleet-token-0123456789abcdef';
const CONFIGS = [
  { key: 'sqlite1', driver: 'SQLite', collectors: 1 },
  { key: 'pg1', driver: 'PostgreSQL', collectors: 1 },
  { key: 'pg2', driver: 'PostgreSQL', collectors: 2 },
];
const RSS_LIMIT_MB = 300;
const P99_LIMIT_MS = 250;

/** GET on a keep-alive loopback connection: milliseconds to the last byte, size and body. */
const httpAgent = new Agent({ keepAlive: true, maxSockets: 1 });
const get = (port, path) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent: httpAgent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });

/** Median HTTP time of fleet total (20 runs) and hosts (5 runs) on one collector, after one warm-up call each. */
async function queries(port) {
  const out = {};
  for (const [k, path, runs] of [
    ['total', '/api/v1/total', 20],
    ['hosts', '/api/v1/hosts', 5],
  ]) {
    await get(port, path);
    const xs = [];
    let last = null;
    for (let i = 0; i < runs; i++) {
      last = await get(port, path);
      if (last.status !== 200) throw new Error(`GET ${path} on port ${port}: HTTP ${last.status}`);
      xs.push(last.ms);
    }
    out[k] = { ms: median(xs), runs, bytes: last.body.length };
    if (k === 'total') {
      const t = JSON.parse(last.body.toString());
      out.known = t.hosts + t.stale;
    }
  }
  return out;
}

/** One configuration: its database, its collectors, the load, the counts after the drain, the queries. */
async function config(c, { agents, seconds, warmup, template, pgServer, index, everyMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-fleet-'));
  writeFileSync(join(dir, 'token'), TOKEN + '\n', { mode: 0o600 });
  const dbName = `fleet_${index}_${c.key}`;
  const db = c.driver === 'SQLite' ? join(dir, 'tcpfleet.db') : await pgServer.createDatabase(dbName);
  const cols = [];
  let gens = [];
  try {
    for (let i = 0; i < c.collectors; i++) {
      const port = await freePort();
      const col = { proc: startCollector({ port, db, tokenFile: join(dir, 'token') }), port };
      cols.push(col);
      await waitHealthy(port);
    }
    const started = await startGenerators({ agents, urls: cols.map((x) => `ws://127.0.0.1:${x.port}`), token: TOKEN, template, encoding: 'bin1', everyMs });
    gens = started.gens;
    const meters = Object.fromEntries(cols.map((x, i) => [`c${i}`, () => procStat(x.proc.pid)]));
    if (pgServer !== null && c.driver === 'PostgreSQL') meters.pg = () => treeStat(pgServer.pid);
    // The machine is shared: what else ran during the window is the machine's busy time less the bench's own processes.
    meters.gens = () => sumOf(gens.map((g) => procStat(g.pid)));
    meters.machine = machineBusy;
    if (pgServer?.statements === true && c.driver === 'PostgreSQL') await pgServer.resetStatements(dbName);
    const d = await drive(gens, { seconds, warmup, meters, rss: Object.fromEntries(cols.map((x, i) => [`c${i}`, x.proc.pid])) });
    gens = [];
    // The queries run on collectors without load: their write queues empty (bounded: 120 s), then 2.5 s
    // for each collector's fleet to take the others' last commits (cluster/fleet-sync.ts, once a
    // second; a follower no read reached during the load is idle, and its first query waits for a pass).
    const t0 = performance.now();
    while (performance.now() - t0 < 120_000 && cols.some((x) => healthOf(x.port).write_queue > 0)) await new Promise((r) => setTimeout(r, 250));
    const drainS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2500));
    const health = cols.map((x) => healthOf(x.port));
    const q = [];
    for (const x of cols) q.push(await queries(x.port));
    for (const x of cols) await stopTracked(x.proc);
    const rows =
      c.driver === 'SQLite'
        ? new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM snapshots').get().n
        : Number((await pgServer.sql(dbName, 'SELECT count(*) AS n FROM snapshots'))[0].n);
    const statements = pgServer?.statements === true && c.driver === 'PostgreSQL' ? await pgServer.topStatements(dbName) : null;
    const dbBytes = c.driver === 'SQLite' ? null : Number((await pgServer.sql(dbName, 'SELECT pg_database_size(current_database()) AS b'))[0].b);
    const s = summarize(d.res, seconds);
    return {
      ...c,
      agents,
      connected: started.connected,
      perCollector: cols.map((_, i) => started.perGen.filter((__, g) => g % cols.length === i).reduce((a, n) => a + n, 0)),
      seconds,
      warmup,
      ...s,
      rowsInDb: rows,
      lost: s.sent - rows,
      dbBytes,
      statements,
      collectorCpuPct: cols.map((_, i) => d.cpuPct[`c${i}`]),
      collectorCpuPctAll: cols.map((_, i) => d.cpuPctAll[`c${i}`]),
      pgCpuPct: d.cpuPct.pg ?? null,
      pgCpuPctAll: d.cpuPctAll.pg ?? null,
      genCpuPct: d.genCpuPct,
      machineCpuPct: d.cpuPct.machine,
      otherCpuPct: d.cpuPct.machine - d.cpuPct.gens - sumOf(cols.map((_, i) => d.cpuPct[`c${i}`])) - (d.cpuPct.pg ?? 0),
      rssPeakMb: cols.map((_, i) => d.rssMax[`c${i}`]),
      rssEndMb: cols.map((_, i) => d.mem[`c${i}`].rss),
      hwmMb: cols.map((_, i) => d.mem[`c${i}`].hwm),
      health: health.map((h) => ({
        leader: h.leader,
        hosts: h.hosts,
        commits: h.commits,
        snapshotsStored: h.snapshots_stored,
        commitFailures: h.commit_failures,
        commitMsMax: h.commit_ms_max,
        slowCommits: h.slow_commits,
        loopDelay: h.event_loop_delay_ms,
        // PostgreSQL: whether the fleet sync was idle (a follower no read reached: packages/collector/src/cluster/fleet-sync.ts), before the queries.
        fleetSync: h.fleet_sync ?? null,
      })),
      queries: q,
      drainS,
      collectorErrors: cols.map((x) => logProblems(x.proc.log)),
    };
  } finally {
    for (const g of gens) await stopTracked(g);
    for (const x of cols) await stopTracked(x.proc);
    rmSync(dir, { recursive: true, force: true });
    if (c.driver === 'PostgreSQL') await pgServer.dropDatabase(dbName).catch(() => undefined);
  }
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sumOf = (xs) => xs.reduce((a, x) => a + x, 0);
const mb = (xs) => xs.map((x) => fmt(x, 0)).join(' + ');

export async function run() {
  installCleanup();
  const agents = Number(process.env['BENCH_FLEET_AGENTS'] ?? 10_000);
  const seconds = Number(process.env['BENCH_FLEET_S'] ?? 30);
  const warmup = Number(process.env['BENCH_FLEET_WARMUP_S'] ?? 10);
  // BENCH_FLEET_EVERY_MS: each agent's interval (default 1000, the issue's one snapshot a second;
  // more, for a run below saturation without a backlog).
  const everyMs = Number(process.env['BENCH_FLEET_EVERY_MS'] ?? 1000);
  // fsync=on is what PostgreSQL ships and what the SQLite collector does (durability full: every
  // commit is on disk before its ack); BENCH_PG_FSYNC=off shows what it costs.
  const fsync = process.env['BENCH_PG_FSYNC'] ?? 'on';
  const picked = (process.env['BENCH_FLEET_CONFIGS'] ?? CONFIGS.map((c) => c.key).join(',')).split(',');
  const configs = CONFIGS.filter((c) => picked.includes(c.key));
  if (pgBin() === null) {
    writeSection('fleet', `## PostgreSQL and several collectors\n\nNot run: PostgreSQL is not installed on this machine (apt-get install postgresql; .ci/run installs it).\n`);
    return;
  }
  const tpl = await snapshotTemplate();
  // BENCH_PG_STATEMENTS=1: pg_stat_statements loaded, the statements taking the most server time
  // printed and kept in results/fleet.json (a profile of PostgreSQL's side; off in the reported run).
  const statements = process.env['BENCH_PG_STATEMENTS'] === '1';
  let pgServer = null;
  try {
    if (configs.some((c) => c.driver === 'PostgreSQL')) pgServer = await startPg({ fsync, statements });
  } catch (err) {
    tpl.remove();
    throw err;
  }
  const results = [];
  const ranAt = new Date();
  const loads = { start: load(), end: '' };
  try {
    for (const [index, c] of configs.entries()) {
      console.log(`fleet: ${agents} agents on ${c.driver} with ${c.collectors} collector(s) for ${warmup} + ${seconds} s (load ${load()})...`);
      const r = await config(c, { agents, seconds, warmup, template: tpl.template, pgServer, index, everyMs });
      r.loadEnd = load();
      results.push(r);
      console.log(
        `  commits ${r.health.map((h) => h.commits).join(' + ')}, longest ${r.health.map((h) => h.commitMsMax).join(' / ')} ms, loop delay ${JSON.stringify(r.health.map((h) => h.loopDelay))}, generators ${JSON.stringify(r.genLoopDelay)}; warm-up p50 ${fmt(r.latencyFirst.p50, 0)} ms p99 ${fmt(r.latencyFirst.p99, 0)} ms; errors ${JSON.stringify(r.collectorErrors)}`,
      );
      console.log(`  steady window by second (acks over 250 ms/slowest ms): ${r.bySecond.map((x) => (x === null ? '-' : `${x[1]}/${x[2]}`)).join(' ')}`);
      for (const st of r.statements ?? []) console.log(`  pg: ${st.calls} calls, ${st.ms} ms (plan ${st.planMs} ms), ${st.rows} rows: ${st.query}`);
      console.log(
        table(
          ['store', 'collectors', 'agents', 'stored/s', 'ack p50 ms', 'ack p99 ms', 'collector CPU %', 'postgres CPU %', 'gen CPU %', 'RSS peak MB', 'nacks', 'lost', 'total ms', 'hosts ms'],
          [
            [
              c.driver,
              c.collectors,
              r.connected,
              fmt(r.perSecond, 0),
              fmt(r.latency.p50, 1),
              fmt(r.latency.p99, 1),
              r.collectorCpuPct.map((x) => fmt(x, 0)).join('+'),
              fmt(r.pgCpuPct ?? NaN, 0),
              fmt(r.genCpuPct, 0),
              mb(r.rssPeakMb),
              r.nacks,
              r.lost,
              r.queries.map((x) => fmt(x.total.ms, 2)).join('/'),
              r.queries.map((x) => fmt(x.hosts.ms, 0)).join('/'),
            ],
          ],
        ),
      );
    }
  } finally {
    loads.end = load();
    tpl.remove();
    await pgServer?.stop();
  }
  const data = { ran: ranAt.toISOString(), agents, everyMs, seconds, warmup, fsync, postgres: pgServer?.version ?? null, loads, results };
  // BENCH_FLEET_JSON=FILE: an experiment (another collector build, other settings): the figures go
  // to FILE only, RESULTS.md and results/ are left as they are.
  if (process.env['BENCH_FLEET_JSON'] !== undefined) {
    writeFileSync(process.env['BENCH_FLEET_JSON'], JSON.stringify(data, null, 2) + '\n');
    return;
  }
  writeJson('fleet', data);
  writeSection('fleet', report({ agents, everyMs, seconds, warmup, fsync, version: pgServer?.version ?? '-', loads, results }), ranAt);
}

export function report({ agents, everyMs = 1000, seconds, warmup, fsync, version, loads, results }) {
  let md = `## PostgreSQL and several collectors\n\nCommand: \`node bench/run.mjs fleet\` (BENCH_FLEET_AGENTS=${agents}, steady window BENCH_FLEET_S=${seconds}, warm-up BENCH_FLEET_WARMUP_S=${warmup}, BENCH_PG_FSYNC=${fsync}; BENCH_FLEET_CONFIGS=sqlite1,pg1,pg2 picks the configurations). In one run, one after the other on the same machine: the real collector (\`tcpfleet serve\`) on SQLite (durability full, write thread on), on PostgreSQL ${version} with one collector, and on PostgreSQL with two collectors on the same database (agents split evenly: each load generator of bench/lib/loadgen.mjs is given one collector). ${agents.toLocaleString('en-US')} simulated agents, each its own WebSocket, hello, host and boot, ${everyMs === 1000 ? 'one bin1 snapshot a second' : `one bin1 snapshot every ${everyMs} ms (BENCH_FLEET_EVERY_MS)`} (a real \`tcpfleet-agent --once --json\` of this machine), ${warmup} s of warm-up then ${seconds} s of steady state. ${windowText()}. PostgreSQL is a throwaway cluster started by the bench (initdb in a temporary directory as the postgres user, its own port on 127.0.0.1, removed afterwards; a fresh database per configuration) with fsync=${fsync}${fsync === 'on' ? " (PostgreSQL's default: every commit is flushed to disk before its ack, as the SQLite collector's durability full does)" : ' (commits are not flushed to disk: NOT what a production server runs)'}, other settings as initdb makes them. Everything on loopback; the generators, the collectors and PostgreSQL share the machine's 2 cores.\n\n`;
  md += `Ack latency: per snapshot, from its creation to the ack of the batch that carried it, at the generator, for snapshots made in the steady window (warm-up apart). Stored/s: snapshots acknowledged as stored per second in the steady window. Lost: snapshots made minus rows in the database after the drain (up to 30 s for every snapshot made to be acknowledged) and the collectors' stop (simulated agents resend what a retryable nack refused, not what a closed connection left unacknowledged). Sessions closed: simulated agents whose connection the collector closed during the run (for not answering pings while reads ran; pongs left unread while the collector paused its reads under backpressure do not count). Each collector runs up to 4 commits at once on PostgreSQL and 2 on SQLite (packages/collector/src/ingest/writer.ts), a host's batches in order. CPU over the steady window, 100% = one core: each collector process (all threads), PostgreSQL (the postmaster and all its processes, /proc utime + stime, ended backends included), the generators together, and what the rest of the machine used meanwhile (other sessions' builds and tests: the machine's busy time from /proc/stat less the bench's processes; with the bench's own, 200% is all the machine has). RSS: each collector's peak (sampled every 500 ms) and at the end of the drain. Queries: fleet total (\`/api/v1/total\`, median of 20) and hosts (\`/api/v1/hosts\`, every host's latest snapshot, median of 5) over HTTP on a keep-alive loopback connection, on each collector once the load stopped, its write queue was empty and 2.5 s passed (hosts known = what that collector's total counts, live and stale; one warm-up call each before the timed ones). Nothing reads the collectors during the load: with two collectors, the one that does not lead is an idle follower, which mirrors the leader's rows every 5 s instead of every second and makes a read wait for a pass (packages/collector/src/cluster/fleet-sync.ts, docs/deploy.md "Idle followers"), as a collector no dashboard, scrape or CLI reaches is; the leader mirrors the follower's rows every second for its alert engine. Collectors on PostgreSQL let V8's old generation gather up to 48 MB of garbage between full GCs, 50-100% of what was live (\`--heap-growing-percent\`, which the collector sets after each full GC: packages/collector/src/heap-growth.ts), the SQLite collector the launcher's 50%. Load average: ${loads.start} at the start, ${loads.end} at the end.\n\n`;
  md += mdTable(
    [
      'store, collectors',
      'agents (per collector)',
      'stored/s (offered)',
      'ack p50',
      'ack p99',
      'warm-up p50 / p99',
      'collector CPU',
      'PostgreSQL CPU',
      'generators CPU',
      'other processes CPU',
      'collector RSS peak (end)',
      'nacks',
      'sessions closed',
      'lost',
      'total / hosts over HTTP',
      'hosts known',
    ],
    results.map((r) => [
      `${r.driver}, ${r.collectors}`,
      `${r.connected.toLocaleString('en-US')}${r.collectors > 1 ? ` (${r.perCollector.join(' + ')})` : ''}`,
      `${fmt(r.perSecond, 0)} (${fmt(r.offeredPerSecond, 0)})`,
      `${fmt(r.latency.p50, 1)} ms`,
      `${fmt(r.latency.p99, 1)} ms`,
      `${fmt(r.latencyFirst.p50, 0)} / ${fmt(r.latencyFirst.p99, 0)} ms`,
      `${r.collectorCpuPct.map((x) => `${fmt(x, 0)}%`).join(' + ')}`,
      r.pgCpuPct === null ? 'in the collector' : `${fmt(r.pgCpuPct, 0)}%`,
      `${fmt(r.genCpuPct, 0)}%`,
      `${fmt(r.otherCpuPct, 0)}%`,
      `${mb(r.rssPeakMb)} MB (${mb(r.rssEndMb)})`,
      r.nacks,
      r.closed,
      r.lost,
      r.queries.map((x) => `${fmt(x.total.ms, 2)} / ${fmt(x.hosts.ms, 0)} ms`).join('; '),
      r.queries.map((x) => x.known).join(', '),
    ]),
  );
  md += `\nPer collector (from its /healthz after the run): ${results
    .map(
      (r) =>
        `${r.driver} ${r.collectors} (write queues empty ${fmt(r.drainS ?? NaN, 0)} s after the load stopped): ${r.health
          .map(
            (h, i) =>
              `#${i + 1} leader ${h.leader}, ${h.commits} commits (${fmt(h.snapshotsStored / Math.max(1, h.commits), 0)} snapshots each), longest ${h.commitMsMax} ms, event-loop delay p99 ${h.loopDelay?.p99} ms${h.fleetSync?.idle === undefined ? '' : `, fleet sync ${h.fleetSync.idle ? 'idle' : 'active'}`}`,
          )
          .join('; ')}`,
    )
    .join('. ')}.\n`;
  const pg2 = results.find((r) => r.key === 'pg2');
  const singles = results.filter((r) => r.collectors === 1);
  const rows = [];
  if (pg2 !== undefined) {
    rows.push([
      `PostgreSQL, 2 collectors: ${agents.toLocaleString('en-US')} agents stored at the offered rate`,
      `${fmt(pg2.perSecond, 0)}/s of ${fmt(pg2.offeredPerSecond, 0)}/s offered, ${pg2.connected} agents connected`,
      verdict(pg2.connected === agents && pg2.perSecond >= 0.99 * pg2.offeredPerSecond && pg2.offeredPerSecond >= 0.99 * agents, `${fmt(pg2.perSecond / agents, 2)} x ${agents}/s`),
    ]);
    rows.push([
      `PostgreSQL, 2 collectors: ack p99 < ${P99_LIMIT_MS} ms`,
      `${fmt(pg2.latency.p99, 1)} ms (p50 ${fmt(pg2.latency.p50, 1)} ms)`,
      verdict(pg2.latency.p99 < P99_LIMIT_MS, `${fmt(pg2.latency.p99 / P99_LIMIT_MS, 2)} x the limit`),
    ]);
    rows.push([
      'PostgreSQL, 2 collectors: 0 lost',
      `${pg2.sent} sent, ${pg2.rowsInDb} in the database, ${pg2.nacks} nacks, ${pg2.outstanding} unacknowledged at the end`,
      verdict(pg2.lost === 0, `${pg2.lost} lost`),
    ]);
  }
  for (const r of singles)
    rows.push([
      `collector RSS <= ${RSS_LIMIT_MB} MB at ${agents.toLocaleString('en-US')} bin1 agents (${r.driver}, 1 collector)`,
      `peak ${fmt(r.rssPeakMb[0], 0)} MB, ${fmt(r.rssEndMb[0], 0)} MB at the end`,
      verdict(r.connected === agents && r.rssPeakMb[0] <= RSS_LIMIT_MB, `${fmt(r.rssPeakMb[0] / RSS_LIMIT_MB, 2)} x the limit`),
    ]);
  if (pg2 !== undefined)
    rows.push([
      `collector RSS <= ${RSS_LIMIT_MB} MB (PostgreSQL, 2 collectors, ${pg2.perCollector.join(' + ')} agents)`,
      `peak ${mb(pg2.rssPeakMb)} MB`,
      verdict(Math.max(...pg2.rssPeakMb) <= RSS_LIMIT_MB, `${fmt(Math.max(...pg2.rssPeakMb) / RSS_LIMIT_MB, 2)} x the limit`),
    ]);
  md += `\n### Targets (issue 11)\n\n`;
  md += mdTable(['target', 'measured', 'verdict'], rows);
  if (pg2 !== undefined) {
    const col = sumOf(pg2.collectorCpuPct);
    const other = pg2.otherCpuPct;
    // Per snapshot only when the collectors kept up: otherwise they also spent the window on a backlog acknowledged later.
    const kept = pg2.perSecond >= 0.99 * pg2.offeredPerSecond;
    const us = (pct) => (kept ? ` (${fmt((pct * 1e4) / Math.max(1, pg2.perSecond), 0)} µs per stored snapshot)` : '');
    md += `\nWhere the CPU goes with two collectors (steady window; 100% = one core, the machine has 200%): collectors ${fmt(col, 0)}%${us(col)}, PostgreSQL ${fmt(pg2.pgCpuPct, 0)}%${us(pg2.pgCpuPct)}, load generators ${fmt(pg2.genCpuPct, 0)}%, other processes on the machine ${fmt(other, 0)}%; the bench's own total ${fmt(col + pg2.pgCpuPct + pg2.genCpuPct, 0)}% of 200%.${kept ? '' : ' The collectors did not keep up (a backlog: reads paused while the write queue was full), so no cost per snapshot is given from this run.'} What was tried and what would change it: bench/NOTES.md.\n`;
  }
  return md;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
