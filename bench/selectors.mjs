// Selectors, grouping and the compact and paged hosts list at 10,000 hosts (issue 12): each host's
// latest snapshot (realistic counts and kernel counters, bench/lib/synth.mjs) with labels env (3
// values), role (7) and zone (4), stored through the collector's SqliteStore. Times the grouped
// total, selected totals and hosts lists in the collector (the route's computation, in process),
// the answers over HTTP against the real `tcpfleet serve`, and the whole CLI process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { parseSelector } from '../packages/common/dist/index.js';
import { SqliteStore } from '../packages/collector/dist/store/sqlite-store.js';
import { Fleet } from '../packages/collector/dist/api/fleet.js';
import { totalByLabel } from '../packages/collector/dist/api/fleet-groups.js';
import { compactHost } from '../packages/collector/dist/api/compact-host.js';
import { agentTemplate, hostSeries } from './lib/synth.mjs';
import { installCleanup, startTracked, stopTracked } from './lib/netns.mjs';
import { REPO, fmt, mdTable, median, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const COLLECTOR = `${REPO}packages/collector/bin/tcpfleet.js`;
const PORT = 20310;
const ENVS = ['prod', 'staging', 'dev'];
const ZONES = ['a', 'b', 'c', 'd'];

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const get = (path) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port: PORT, path, agent }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes: n, status: res.statusCode }));
    });
    req.on('error', reject);
    req.end();
  });

function timeIt(fn, runs) {
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  return xs;
}

export async function build(path, hosts) {
  const tpl = agentTemplate();
  const store = new SqliteStore({ path, durability: 'normal' });
  const now = Date.now();
  let items = [];
  for (let i = 0; i < hosts; i++) {
    const host = `host-${String(i).padStart(5, '0')}`;
    const s = hostSeries(tpl, host, i + 1, 300_000)(now);
    s.labels = { env: ENVS[i % 3], role: `r${i % 7}`, zone: ZONES[i % 4] };
    items.push({ host, labels: s.labels, snapshots: [s] });
    if (items.length === 500) {
      await store.ingest(items, now);
      items = [];
    }
  }
  if (items.length > 0) await store.ingest(items, now);
  await store.close();
}

/** Marks every host as just heard from (building and loading take a while). */
export function freshen(path) {
  const store = new SqliteStore({ path });
  store.db.prepare('UPDATE latest SET recv_ts = ?').run(Date.now());
  store.db.prepare('UPDATE hosts SET last_seen = ?').run(Date.now());
  return store.close();
}

export async function run() {
  installCleanup();
  const hosts = Number(process.env['BENCH_SELECTOR_HOSTS'] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-selectors-'));
  const db = join(dir, 's.db');
  let col = null;
  try {
    console.log(`selectors: building ${hosts} hosts...`);
    await build(db, hosts);
    await freshen(db);

    // In the collector: the code the routes run, on the same data.
    const store = new SqliteStore({ path: db, readonly: true });
    const fleet = new Fleet();
    fleet.load(await store.latest());
    await store.close();
    const t = Date.now();
    const prod = parseSelector('env=prod');
    const combo = parseSelector('env in (prod,staging),role notin (r0,r1),zone!=d');
    const live = fleet.total(t);
    const inproc = {
      byRole: timeIt(() => totalByLabel(fleet, 'role', t, null), 50),
      byZoneSelected: timeIt(() => totalByLabel(fleet, 'zone', t, combo), 50),
      totalSelected: timeIt(() => fleet.total(t, prod), 50),
      hostsSelected: timeIt(() => fleet.hosts(t, combo), 50),
      compact: timeIt(() => fleet.hosts(t).map(compactHost), 20),
    };
    const groups = totalByLabel(fleet, 'role', t, null).groups.length;
    const compactBytes = Buffer.byteLength(JSON.stringify(fleet.hosts(t).map(compactHost)));
    const fullBytes = Buffer.byteLength(JSON.stringify(fleet.hosts(t)));

    // Over HTTP against the real collector.
    await freshen(db);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'bench-token-0123456789abcdef\n', { mode: 0o600 });
    col = startTracked(process.execPath, [COLLECTOR, 'serve', '--listen', `127.0.0.1:${PORT}`, '--db', db, '--token-file', tokenFile, '--log-level', 'info']);
    await new Promise((resolve, reject) => {
      let err = '';
      const to = setTimeout(() => reject(new Error(`collector not up: ${err}`)), 120_000);
      col.stderr.on('data', (d) => {
        err += d.toString();
        if (err.includes('collector started')) {
          clearTimeout(to);
          resolve();
        }
      });
    });
    const paths = {
      byRole: '/api/v1/total?by=role',
      totalSelected: '/api/v1/total?selector=env%3Dprod',
      hostsFull: '/api/v1/hosts',
      compact: '/api/v1/hosts?compact=1',
      compactSelected: `/api/v1/hosts?compact=1&selector=${encodeURIComponent('env in (prod,staging),role notin (r0,r1),zone!=d')}`,
      page: '/api/v1/hosts?limit=100&offset=5000',
    };
    const http = {};
    const info = {};
    for (const [k, p] of Object.entries(paths)) {
      await get(p);
      const xs = [];
      for (let i = 0; i < (k.startsWith('hosts') || k === 'compact' ? 5 : 20); i++) {
        const r = await get(p);
        if (r.status !== 200) throw new Error(`GET ${p}: ${r.status}`);
        xs.push(r.ms);
        info[k] = { bytes: r.bytes };
      }
      http[k] = xs;
    }
    // The whole CLI process, output to /dev/null.
    const cliArgs = {
      hostsTable: ['hosts'],
      compact: ['hosts', '--json', '--compact'],
      page: ['hosts', '--json', '--limit', '100', '--offset', '5000'],
      byRole: ['total', '--by', 'role', '--json'],
      hostsSelectedTable: ['hosts', '-l', 'env=prod,zone in (a,b)'],
    };
    const cli = {};
    for (const [k, a] of Object.entries(cliArgs)) {
      const xs = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, [COLLECTOR, ...a, '--url', `http://127.0.0.1:${PORT}`], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
        xs.push(performance.now() - t0);
        if (r.status !== 0) throw new Error(`tcpfleet ${a.join(' ')}: ${r.stderr}`);
      }
      cli[k] = xs;
    }
    const nodeStart = timeIt(() => spawnSync(process.execPath, ['-e', '0']), 5);
    await stopTracked(col);
    col = null;

    const res = { hosts, groups, live: { hosts: live.hosts, stale: live.stale }, inproc, http, cli, info, compactBytes, fullBytes, nodeStartMs: median(nodeStart) };
    writeJson('selectors', res);
    const ms = (xs, d = 3) => `${fmt(median(xs), d)} ms`;
    const rows = [
      ['total --by role (7 groups)', ms(inproc.byRole), ms(http.byRole, 2), ms(cli.byRole, 0), `${fmt(info.byRole.bytes / 1024, 1)} KiB`],
      ['total --by zone -l "env in (prod,staging),role notin (r0,r1),zone!=d"', ms(inproc.byZoneSelected), '', '', ''],
      ['total -l env=prod', ms(inproc.totalSelected), ms(http.totalSelected, 2), '', `${fmt(info.totalSelected.bytes, 0)} B`],
      ['hosts list, 3-requirement selector', ms(inproc.hostsSelected), '', '', ''],
      ['hosts --json (full, for comparison)', '', ms(http.hostsFull, 0), '', `${fmt(info.hostsFull.bytes / 1e6, 1)} MB`],
      ['hosts --json --compact', ms(inproc.compact, 1), ms(http.compact, 0), ms(cli.compact, 0), `${fmt(info.compact.bytes / 1e6, 2)} MB`],
      ['hosts --compact, 3-requirement selector', '', ms(http.compactSelected, 0), '', `${fmt(info.compactSelected.bytes / 1e6, 2)} MB`],
      ['hosts --json --limit 100 --offset 5000', '', ms(http.page, 2), ms(cli.page, 0), `${fmt(info.page.bytes / 1024, 0)} KiB`],
      ['hosts (the table)', '', '', ms(cli.hostsTable, 0), ''],
      ['hosts -l "env=prod,zone in (a,b)" (the table)', '', '', ms(cli.hostsSelectedTable, 0), ''],
    ];
    console.log(table(['query', 'in collector', 'HTTP', 'CLI', 'answer'], rows));
    const by = median(inproc.byRole);
    const tbl = median(cli.hostsTable);
    let md = `## Selectors, grouping and the compact hosts list at 10,000 hosts\n\nCommand: \`node bench/run.mjs selectors\` (BENCH_SELECTOR_HOSTS=${hosts}). ${hosts.toLocaleString('en-US')} hosts, each one latest snapshot with realistic counts and kernel counters (bench/lib/synth.mjs) and labels env (3 values), role (7) and zone (4), stored through the collector's SqliteStore. "In collector": the computation the route runs (Fleet in memory, api/fleet-groups.ts, api/compact-host.ts), timed in process, median of 20-50 runs; "HTTP": GET on the real \`tcpfleet serve\` over a keep-alive loopback connection (encoding and transfer included), median of 5-20; "CLI": the whole \`tcpfleet\` process with output to /dev/null, median of 7 (\`node -e 0\` alone: ${fmt(median(nodeStart), 0)} ms here). Live hosts when measured in process: ${live.hosts} (stale ${live.stale}).\n\n`;
    md += mdTable(['query', 'in collector (median)', 'HTTP (median)', 'CLI (median)', 'answer'], rows);
    md += `\n### Targets\n\n`;
    md += mdTable(
      ['target', 'measured', 'verdict'],
      [
        ['grouped total under 5 ms in the collector', `${fmt(by, 3)} ms (total --by role, ${groups} groups over ${hosts.toLocaleString('en-US')} hosts)`, verdict(by < 5, `${fmt(by / 5, 2)} x the limit`)],
        ['the hosts table from the CLI under 300 ms', `${fmt(tbl, 0)} ms (was 1.2 s for the full JSON before the table read the compact form)`, verdict(tbl < 300, `${fmt(tbl / 300, 2)} x the limit`)],
        [
          'compact JSON under 3 MB',
          `${fmt(info.compact.bytes / 1e6, 2)} MB over HTTP (${fmt(compactBytes / 1e6, 2)} MB in process; the full answer ${fmt(fullBytes / 1e6, 1)} MB)`,
          verdict(info.compact.bytes < 3e6, `${fmt(info.compact.bytes / 3e6, 2)} x the limit`),
        ],
      ],
    );
    writeSection('selectors', md);
  } finally {
    if (col !== null) await stopTracked(col);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
