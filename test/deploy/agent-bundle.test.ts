/**
 * The single-file agent (dist/tcpfleet-agent.mjs): copied alone into an empty directory with no
 * node_modules anywhere above it, run by a bare Node.js with a minimal environment, it prints
 * its version, takes a snapshot, and reports to a real collector. Its size and memory at rest
 * are printed for docs/deploy.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { agentBundle } from '../helpers/bundle.js';
import { cli, killAll, startCollector, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';

const cleanEnv = (home: string): NodeJS.ProcessEnv => ({ PATH: '/usr/bin:/bin', HOME: home, LANG: 'C' });

function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'));
    if (dirname(d) === d) return found;
  }
}

function vmRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

describe('single-file agent', () => {
  const tmp = tempDir('bundle');
  const bare = tempDir('bundle-run');
  let bin = '';
  let collector: Collector;
  let agent: Proc | null = null;

  beforeAll(async () => {
    bin = join(bare.dir, 'tcpfleet-agent.mjs');
    copyFileSync(agentBundle(), bin);
    collector = await startCollector(tmp.dir);
  });

  afterAll(async () => {
    if (agent !== null) await stopProc(agent);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
    bare.cleanup();
  });

  it('runs from a directory holding nothing else, with no node_modules above it', () => {
    expect(readdirSync(bare.dir)).toEqual(['tcpfleet-agent.mjs']);
    expect(nodeModulesAbove(bare.dir)).toEqual([]);
    const v = spawnSync(process.execPath, [bin, '--version'], { cwd: bare.dir, env: cleanEnv(bare.dir), encoding: 'utf8', timeout: 30_000 });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const once = spawnSync(process.execPath, [bin, '--once', '--json'], { cwd: bare.dir, env: cleanEnv(bare.dir), encoding: 'utf8', timeout: 30_000 });
    expect(once.status, once.stderr).toBe(0);
    const snap = JSON.parse(once.stdout) as { states: Record<string, number>; collect: { errors: string[] } };
    expect(Object.keys(snap.states)).toHaveLength(12);
    expect(snap.collect.errors).toEqual([]);
    const bad = spawnSync(process.execPath, [bin, '--interval', 'x', '--once'], { cwd: bare.dir, env: cleanEnv(bare.dir), encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reports to a real collector, and its size and memory at rest are measured', async () => {
    const tokenFile = join(bare.dir, 'token');
    writeFileSync(tokenFile, collector.token + '\n', { mode: 0o600 });
    agent = startProc(process.execPath, [bin, '--collector', collector.wsUrl, '--token-file', tokenFile, '--host-id', 'bundled-1', '--interval', '0.5'], { cwd: bare.dir, env: cleanEnv(bare.dir) });
    let seq = 0;
    // The collector holds a snapshot of seq >= n (the newest seq seen is kept in `seq`).
    const reached = (n: number) => (): boolean => {
      const r = cli(['host', 'bundled-1', '--json', '--url', collector.url]);
      if (r.code === 0) seq = (JSON.parse(r.stdout) as { seq: number }).seq;
      return seq >= n;
    };
    await waitFor(reached(3), 'the bundled agent to report three snapshots');
    // Memory at rest: after ~10 s of steady reporting (16 more snapshots at 0.5 s, stored by the collector).
    await waitFor(reached(seq + 16), 'the bundled agent to report 16 more snapshots', 30_000);
    const rss = vmRssKiB(agent.pid);
    const size = statSync(bin).size;
    process.stdout.write(`single-file agent: ${size} bytes (${(size / 1024).toFixed(0)} KiB), VmRSS at rest ${rss} kB (${(rss / 1024).toFixed(1)} MiB), Node ${process.version}\n`);
    expect(rss).toBeGreaterThan(0);
    expect(agent.proc.exitCode).toBeNull();
  });
});
