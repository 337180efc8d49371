// Storage: bytes on disk per snapshot and per stored number ("sample"), and the database after a
// simulated week of a fleet sending every 10 s, with the default retention (raw 48 h, then
// one-minute and one-hour rollups) applied as the collector applies it.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../packages/collector/dist/store/sqlite-store.js';
import { RollupJob } from '../packages/collector/dist/store/rollups.js';
import { agentTemplate, hostSeries } from './lib/synth.mjs';
import { fmt, mdTable, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const pages = (db) =>
  new Map(
    db
      .prepare('SELECT name, sum(pgsize) AS b FROM dbstat GROUP BY name')
      .all()
      .map((r) => [r.name, r.b]),
  );
const count = (db, t) => db.prepare(`SELECT count(*) AS n FROM ${t}`).get().n;

export async function run() {
  const hosts = Number(process.env['BENCH_STORAGE_HOSTS'] ?? 20);
  const days = Number(process.env['BENCH_STORAGE_DAYS'] ?? 7);
  const intervalMs = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-storage-'));
  const path = join(dir, 'week.db');
  const tpl = agentTemplate();
  const numbers = 12 + 12 + 5 + 7 + 4 + 1 + Object.keys(tpl.snmp).length + Object.keys(tpl.netstat).length;
  const jsonBytes = Buffer.byteLength(JSON.stringify(tpl));
  const store = new SqliteStore({ path, durability: 'normal' });
  store.db.pragma('cache_size = -200000');
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  const start = end - days * DAY;
  const job = new RollupJob(store.db, { rawRetentionMs: 48 * HOUR, now: () => simNow });
  let simNow = start;
  const series = Array.from({ length: hosts }, (_, i) => hostSeries(tpl, `week-${i}`, i + 1, intervalMs));
  const t0 = performance.now();
  let stored = 0;
  let peakRaw = null;
  // Feed hour by hour, running the rollup/prune pass after each simulated hour.
  for (let h = start; h < end; h += HOUR) {
    for (let i = 0; i < hosts; i++) {
      const snaps = [];
      for (let ts = h; ts < h + HOUR; ts += intervalMs) snaps.push(series[i](ts));
      await store.ingest([{ host: `week-${i}`, labels: snaps[0].labels, snapshots: snaps }], h + HOUR);
      stored += snaps.length;
    }
    simNow = h + HOUR;
    await job.runOnce();
    // Bytes per snapshot measured once raw holds a full retention window (48 h).
    if (peakRaw === null && h + HOUR - start >= 48 * HOUR) {
      store.db.pragma('wal_checkpoint(TRUNCATE)');
      const p = pages(store.db);
      const rows = count(store.db, 'snapshots');
      peakRaw = { rows, bytes: (p.get('snapshots') ?? 0) + (p.get('snapshots_by_time') ?? 0), table: p.get('snapshots') ?? 0, index: p.get('snapshots_by_time') ?? 0 };
    }
  }
  const genS = (performance.now() - t0) / 1000;
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const p = pages(store.db);
  const sizeBefore = statSync(path).size;
  const t = {
    raw: { rows: count(store.db, 'snapshots'), bytes: (p.get('snapshots') ?? 0) + (p.get('snapshots_by_time') ?? 0) },
    m1: { rows: count(store.db, 'rollup_1m'), bytes: (p.get('rollup_1m') ?? 0) + (p.get('rollup_1m_by_bucket') ?? 0) },
    h1: { rows: count(store.db, 'rollup_1h'), bytes: p.get('rollup_1h') ?? 0 },
    fleet: { rows: count(store.db, 'rollup_fleet_1m'), bytes: p.get('rollup_fleet_1m') ?? 0 },
  };
  store.db.exec('VACUUM');
  const sizeAfter = statSync(path).size;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const perSnap = peakRaw.bytes / peakRaw.rows;
  const perSample = perSnap / numbers;
  const perHostWeek = sizeAfter / hosts;
  const res = { hosts, days, intervalMs, stored, numbers, jsonBytes, peakRaw, perSnap, perSample, tables: t, sizeBefore, sizeAfter, perHostWeek, genS };
  writeJson('storage', res);
  console.log(
    table(
      ['measure', 'value'],
      [
        ['bytes per snapshot (raw table + index)', fmt(perSnap, 1)],
        ['numbers per snapshot', numbers],
        ['bytes per sample', fmt(perSample, 2)],
        [`DB after ${days} days, ${hosts} hosts`, `${fmt(sizeAfter / 1e6, 1)} MB`],
      ],
    ),
  );
  let md = `## Storage\n\nCommand: \`node bench/run.mjs storage\` (BENCH_STORAGE_HOSTS=${hosts}, BENCH_STORAGE_DAYS=${days}). ${hosts} simulated hosts send a snapshot every 10 s for ${days} simulated days (${stored.toLocaleString('en-US')} snapshots, built from a real \`tcpfleet-agent --once --json\` of this machine: ${numbers} numbers each, ${jsonBytes} bytes as JSON; states wander, kernel counters grow). Stored through the collector's own SqliteStore.ingest, with the collector's RollupJob run after every simulated hour (raw kept 48 h, then one-minute rows 30 days, one-hour rows a year). Sizes from SQLite's dbstat (pages of each table and its indexes) and the file size.\n\n`;
  md += mdTable(
    ['measure', 'value'],
    [
      [
        'raw bytes per snapshot (table + time index, at a full 48 h window)',
        `${fmt(perSnap, 1)} B (table ${fmt(peakRaw.table / peakRaw.rows, 1)} + index ${fmt(peakRaw.index / peakRaw.rows, 1)}); JSON would be ${jsonBytes} B`,
      ],
      ['raw bytes per sample (per stored number)', `${fmt(perSample, 2)} B`],
      ['one-minute rollup row (per host)', `${fmt(t.m1.bytes / Math.max(1, t.m1.rows), 1)} B`],
      ['one-hour rollup row (per host)', `${fmt(t.h1.bytes / Math.max(1, t.h1.rows), 1)} B`],
      [
        `rows after ${days} days`,
        `raw ${t.raw.rows.toLocaleString('en-US')}, 1m ${t.m1.rows.toLocaleString('en-US')}, 1h ${t.h1.rows.toLocaleString('en-US')}, fleet 1m ${t.fleet.rows.toLocaleString('en-US')}`,
      ],
      [`database after ${days} days (${hosts} hosts)`, `${fmt(sizeBefore / 1e6, 1)} MB file (${fmt(sizeAfter / 1e6, 1)} MB after VACUUM): ${fmt(perHostWeek / 1e6, 2)} MB per host`],
      ['the same for 10,000 hosts (linear: every table is per host)', `${fmt((perHostWeek * 10_000) / 1e9, 1)} GB`],
      ['without retention (raw for the whole week, 10,000 hosts)', `${fmt((perSnap * 10_000 * days * 8640) / 1e9, 1)} GB`],
    ],
  );
  md += `\n### Target: at most 4 bytes per sample for raw data\n\n`;
  md += mdTable(
    ['target', 'measured', 'verdict'],
    [['raw <= 4 bytes per sample', `${fmt(perSample, 2)} B per number (${fmt(perSnap, 0)} B per snapshot of ${numbers} numbers)`, verdict(perSample <= 4, `${fmt(perSample / 4, 2)} x the limit`)]],
  );
  writeSection('storage', md);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
