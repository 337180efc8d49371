// Queries at fleet scale: 10,000 hosts with a day of history (one snapshot a minute each, stored
// through the collector's own store), one-minute rollups of the last two hours rolled by the
// collector's job. Times each query in the collector (the handler's computation, in process,
// on the same code), over HTTP against the real `tcpfleet serve`, and from the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { SqliteStore } from '../packages/collector/dist/store/sqlite-store.js';
import { RollupJob } from '../packages/collector/dist/store/rollups.js';
import { RollupReader } from '../packages/collector/dist/store/rollup-history.js';
import { Fleet } from '../packages/collector/dist/api/fleet.js';
import { Bin1Decoder, Bin1Encoder } from '../packages/common/dist/index.js';
import { agentTemplate, hostSeries } from './lib/synth.mjs';
import { collectorStarted, installCleanup, startTracked, stopTracked } from './lib/netns.mjs';
import { REPO, fmt, mdTable, median, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const COLLECTOR = `${REPO}packages/collector/bin/tcpfleet.js`;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const get = (port, path) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes: n, status: res.statusCode, resolution: res.headers['x-tcpfleet-resolution'] }));
    });
    req.on('error', reject);
    req.end();
  });

async function build(path, hosts, now) {
  const tpl = agentTemplate();
  const store = new SqliteStore({ path, durability: 'normal' });
  store.db.pragma('cache_size = -400000');
  const start = now - 24 * HOUR;
  const t0 = performance.now();
  for (let i = 0; i < hosts; i++) {
    const next = hostSeries(tpl, `host-${String(i).padStart(5, '0')}`, i + 1, 60_000);
    const snaps = [];
    for (let ts = start; ts < now; ts += MINUTE) snaps.push(next(ts));
    await store.ingest([{ host: snaps[0].host, labels: snaps[0].labels, snapshots: snaps }], now);
    if (i % 1000 === 999) console.log(`queries: ${i + 1} hosts stored (${fmt((performance.now() - t0) / 1000, 0)} s)`);
  }
  const genS = (performance.now() - t0) / 1000;
  // Roll the last two hours only (older minutes are not queried here).
  store.db.prepare("INSERT OR REPLACE INTO rollup_state (resolution, done_until) VALUES ('1m', ?)").run(Math.floor((now - 2 * HOUR) / MINUTE) * MINUTE);
  store.db.prepare("INSERT OR REPLACE INTO rollup_state (resolution, done_until) VALUES ('1h', ?)").run(Math.floor((now - 2 * HOUR) / HOUR) * HOUR);
  const r0 = performance.now();
  const job = new RollupJob(store.db, { rawRetentionMs: 48 * HOUR, now: () => now + 2 * MINUTE });
  await job.runOnce();
  const rollS = (performance.now() - r0) / 1000;
  const rows = store.db.prepare('SELECT count(*) AS n FROM snapshots').get().n;
  // Building took minutes: mark every host as just heard from, as a live fleet would be.
  const fresh = Date.now();
  store.db.prepare('UPDATE hosts SET last_seen = ?').run(fresh);
  store.db.prepare('UPDATE latest SET recv_ts = ?').run(fresh);
  await store.close();
  return { genS, rollS, rows };
}

function timeIt(fn, runs) {
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  return xs;
}

export async function run() {
  installCleanup();
  const hosts = Number(process.env['BENCH_QUERY_HOSTS'] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-queries-'));
  const db = join(dir, 'q.db');
  const now = Date.now();
  let col = null;
  try {
    console.log(`queries: building ${hosts} hosts x 24 h...`);
    const built = await build(db, hosts, now);
    const one = `host-${String(Math.floor(hosts / 2)).padStart(5, '0')}`;

    // In the collector: the same code the routes call, on the same database.
    const store = new SqliteStore({ path: db, readonly: true });
    const fleet = new Fleet();
    const latestRows = await store.latest();
    const l0 = performance.now();
    fleet.load(latestRows);
    const loadMs = performance.now() - l0;
    const reader = new RollupReader(store.db, store, 48 * HOUR);
    const t = Date.now();
    const live = fleet.total(t);
    if (live.stale > 0) console.log(`queries: warning: ${live.stale} hosts stale at query time`);
    const inproc = {
      total: timeIt(() => fleet.total(t), 50),
      hosts: timeIt(() => fleet.hosts(t), 20),
      // Right after every host committed a bin1 snapshot (as after a second of commits at 10,000
      // agents): the fleet keeps their numbers and bytes, and the first list rebuilds each view.
      // (made only now: 10,000 decoded snapshots in the heap would weigh on the timings above)
      hostsAfterCommits: (() => {
        // Each host's latest snapshot as a collector receives it from an agent (a bin1 frame, decoded).
        const committed = latestRows.map((r) => {
          const frame = new Bin1Encoder().encode(1, [r]);
          if (frame === null) throw new Error(`host ${r.host}: its snapshot cannot be sent as bin1`);
          return { host: r.host, labels: r.labels, snapshots: new Bin1Decoder().decode(frame, r.host, r.labels).snapshots };
        });
        return Array.from({ length: 5 }, () => {
          fleet.apply(committed, t);
          const t0 = performance.now();
          fleet.hosts(t);
          return performance.now() - t0;
        });
      })(),
      top: timeIt(() => fleet.topHosts('established', 10, t), 50),
      fleetHour: timeIt(() => reader.fleetHistory(now - HOUR, now), 20),
    };
    const hx = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await store.history(one, now - 24 * HOUR, now + 1, 100_000);
      hx.push(performance.now() - t0);
    }
    inproc.history24h = hx;
    await store.close();

    // Over HTTP against the real collector.
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'bench-token-0123456789abcdef\n', { mode: 0o600 });
    col = startTracked(process.execPath, [COLLECTOR, 'serve', '--listen', '127.0.0.1:20300', '--db', db, '--token-file', tokenFile, '--log-level', 'info']);
    await collectorStarted(col);
    const http = {};
    const paths = {
      total: '/api/v1/total',
      hosts: '/api/v1/hosts',
      top: '/api/v1/top?state=established&limit=10',
      history24h: `/api/v1/hosts/${one}/history?since=${now - 24 * HOUR}`,
      fleetHour: `/api/v1/total/history?since=${now - HOUR}`,
    };
    const info = {};
    for (const [k, p] of Object.entries(paths)) {
      await get(20300, p);
      const xs = [];
      for (let i = 0; i < (k === 'hosts' ? 5 : 20); i++) {
        const r = await get(20300, p);
        xs.push(r.ms);
        info[k] = { bytes: r.bytes, status: r.status, resolution: r.resolution };
      }
      http[k] = xs;
    }
    // From the CLI (whole process: start-up, request, output).
    const cliArgs = {
      total: ['total', '--json'],
      hosts: ['hosts', '--json'],
      top: ['top', '--json'],
      history24h: ['history', one, '--since', '24h', '--json'],
    };
    const cli = {};
    for (const [k, a] of Object.entries(cliArgs)) {
      const xs = [];
      for (let i = 0; i < (k === 'hosts' ? 3 : 10); i++) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, [COLLECTOR, ...a, '--url', 'http://127.0.0.1:20300'], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
        xs.push(performance.now() - t0);
        if (r.status !== 0) throw new Error(`tcpfleet ${a.join(' ')}: ${r.stderr}`);
      }
      cli[k] = xs;
    }
    await stopTracked(col);
    col = null;
    const res = { hosts, built, loadMs, inproc, http, cli, info, live: { hosts: live.hosts, stale: live.stale } };
    writeJson('queries', res);
    const names = {
      total: 'fleet total',
      hosts: "hosts (every host's latest snapshot)",
      hostsAfterCommits: 'hosts, first list right after every host committed a bin1 snapshot (views rebuilt)',
      top: 'top 10 hosts by established',
      history24h: "one host's 24 h history",
      fleetHour: "the fleet's last hour at one-minute steps",
    };
    const rows = Object.keys(names).map((k) => [
      names[k],
      fmt(median(inproc[k]), 3),
      http[k] ? fmt(median(http[k]), 2) : '-',
      cli[k] ? fmt(median(cli[k]), 1) : http[k] ? 'no CLI command' : '-',
      info[k] ? `${fmt(info[k].bytes / 1024, 0)} KiB${info[k].resolution ? `, ${info[k].resolution}` : ''}` : '',
    ]);
    console.log(table(['query', 'in collector ms', 'HTTP ms', 'CLI ms', 'answer'], rows));
    let md = `## Queries at 10,000 hosts\n\nCommand: \`node bench/run.mjs queries\` (BENCH_QUERY_HOSTS=${hosts}). ${hosts.toLocaleString('en-US')} hosts, each with 24 h of history at one snapshot per minute (${built.rows.toLocaleString('en-US')} raw snapshots, stored through the collector's SqliteStore in ${fmt(built.genS, 0)} s), the last two hours rolled into one-minute rows by the collector's RollupJob (${fmt(built.rollS, 1)} s). "In collector": the computation the route runs (Fleet in memory, the store's history query, the rollup reader), timed in process on the same database, median of 20-50 runs (5 for the list right after every host committed a bin1 snapshot, as agents send them: each host's latest snapshot encoded and decoded as a session does, applied to the Fleet before each run); "HTTP": GET on the real \`tcpfleet serve\` over a keep-alive loopback connection (includes JSON encoding and transfer); "CLI": the whole \`tcpfleet ... --json\` process, output to /dev/null. Loading 10,000 hosts into the Fleet at start-up: ${fmt(loadMs, 0)} ms. Live hosts when queried: ${live.hosts} (stale ${live.stale}).\n\n`;
    md += mdTable(
      ['query', 'in collector (median)', 'HTTP (median)', 'CLI (median)', 'answer size, resolution'],
      rows.map((r) => [r[0], `${r[1]} ms`, r[2] === '-' ? r[2] : `${r[2]} ms`, r[3] === 'no CLI command' || r[3] === '-' ? r[3] : `${r[3]} ms`, r[4]]),
    );
    const tot = median(inproc.total);
    const hst = median(inproc.hosts);
    md += `\n### Target: fleet total and hosts under 2 ms in the collector\n\n`;
    md += mdTable(
      ['target', 'measured', 'verdict'],
      [
        ['fleet total < 2 ms', `${fmt(tot, 3)} ms in the collector, ${fmt(median(http.total), 2)} ms over HTTP`, verdict(tot < 2, `${fmt(tot / 2, 2)} x the limit`)],
        [
          'hosts < 2 ms',
          `${fmt(hst, 3)} ms in the collector to build the list (${fmt(median(inproc.hostsAfterCommits), 1)} ms for the first list right after every host committed a bin1 snapshot); ${fmt(median(http.hosts), 0)} ms over HTTP for the ${fmt(info.hosts.bytes / 1e6, 1)} MB JSON answer`,
          verdict(hst < 2, `${fmt(hst / 2, 2)} x the limit (in collector)`),
        ],
      ],
    );
    writeSection('queries', md);
  } finally {
    if (col !== null) await stopTracked(col);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
