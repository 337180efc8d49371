// CLI start-up: the whole `tcpfleet total --json` process against a collector on loopback,
// against `node -e 0` in the same run (the floor for any Node program).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectorStarted, installCleanup, startTracked, stopTracked } from './lib/netns.mjs';
import { REPO, fmt, mdTable, median, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const BIN = `${REPO}packages/collector/bin/tcpfleet.js`;

const time = (argv, runs) => {
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    xs.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  }
  return xs;
};

export async function run() {
  installCleanup();
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-cli-'));
  writeFileSync(join(dir, 'token'), 'bench-token-0123456789abcdef\n', { mode: 0o600 });
  const col = startTracked(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:20400', '--db', join(dir, 'c.db'), '--token-file', join(dir, 'token')]);
  try {
    await collectorStarted(col, 30_000);
    const runs = Number(process.env['BENCH_CLI_RUNS'] ?? 30);
    const url = ['--url', 'http://127.0.0.1:20400'];
    const cases = {
      'node -e 0': ['-e', '0'],
      'tcpfleet total --json': [BIN, 'total', '--json', ...url],
      'tcpfleet hosts': [BIN, 'hosts', ...url],
      'tcpfleet --help': [BIN, '--help'],
    };
    const res = {};
    // Round-robin so drift in machine load hits every case alike.
    for (const k of Object.keys(cases)) res[k] = [];
    for (let i = 0; i < runs; i++) for (const [k, a] of Object.entries(cases)) res[k].push(...time(a, 1));
    const base = median(res['node -e 0']);
    const rows = Object.entries(res).map(([k, xs]) => [k, fmt(median(xs), 1), fmt(Math.min(...xs), 1), fmt(median(xs) / base, 2)]);
    console.log(table(['command', 'median ms', 'min ms', 'x node -e 0'], rows));
    writeJson('cli', res);
    const ratio = median(res['tcpfleet total --json']) / base;
    let md = `## CLI start-up\n\nCommand: \`node bench/run.mjs cli\`. Whole-process wall time (spawn to exit), ${runs} runs each, round-robin, against a collector on loopback; \`total\` includes its HTTP request.\n\n`;
    md += mdTable(
      ['command', 'median', 'min', 'ratio to node -e 0'],
      rows.map((r) => [r[0], `${r[1]} ms`, `${r[2]} ms`, r[3]]),
    );
    md += `\n### Target: CLI start-up within 1.5 x \`node -e 0\`\n\n`;
    md += mdTable(
      ['target', 'measured', 'verdict'],
      [['`tcpfleet total --json` <= 1.5 x `node -e 0`', `${fmt(median(res['tcpfleet total --json']), 1)} ms vs ${fmt(base, 1)} ms`, verdict(ratio <= 1.5, `${fmt(ratio, 2)} x node -e 0`)]],
    );
    writeSection('cli', md + (process.env['BENCH_CLI_NOTE'] ?? ''));
  } finally {
    await stopTracked(col);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
