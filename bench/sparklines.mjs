#!/usr/bin/env node
// Cost of the dashboard's sparklines (GET /api/v1/overview): HOSTS hosts with an hour of 10 s
// snapshots each in a temporary SQLite store; times the first call (seeds every host from the
// store) and the following ones (memory only), and the store path (a window other than the
// default hour). Run after npm run build:  node bench/sparklines.mjs [HOSTS]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { SqliteStore } = await import(join(root, 'packages/collector/dist/store/sqlite-store.js'));
const { Sparklines } = await import(join(root, 'packages/collector/dist/views/sparklines.js'));
const snap = JSON.parse(execFileSync(process.execPath, [join(root, 'packages/agent/bin/tcpfleet-agent.js'), '--once', '--json', '--procfs', join(root, 'test/fixtures/proc')], { encoding: 'utf8' }));
const HOSTS = Number(process.argv[2] ?? 200);
const PER = 360;
const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-spark-'));
const store = new SqliteStore({ path: join(dir, 'b.db'), durability: 'normal' });
try {
  const now = Date.now();
  for (let h = 0; h < HOSTS; h++) {
    const snaps = [];
    for (let i = 0; i < PER; i++) snaps.push({ ...snap, host: `h${h}`, seq: i + 1, ts: now - 3_600_000 + i * 10_000, breakdown: undefined });
    await store.ingest([{ host: `h${h}`, labels: {}, snapshots: snaps }], now);
  }
  const hosts = Array.from({ length: HOSTS }, (_, h) => `h${h}`);
  const sp = new Sparklines(store);
  const time = async (label, fn) => {
    const t0 = performance.now();
    await fn();
    console.log(`${label}: ${(performance.now() - t0).toFixed(1)} ms`);
  };
  console.log(`${HOSTS} hosts x ${PER} snapshots (one hour at 10 s)`);
  await time('default hour, first call (seeds from the store)', () => sp.get(hosts, 'established', Date.now()));
  for (let k = 0; k < 3; k++) await time('default hour, from memory', () => sp.get(hosts, 'established', Date.now()));
  await time('2 h in 60 points, from the store', () => sp.get(hosts, 'established', Date.now(), 7_200_000, 60));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
