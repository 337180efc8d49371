/**
 * The agent loads no zod (zod alone adds about 13 MB to a Node process's resident memory; the
 * agent's target is a peak under 64 MB at 100,000 connections). Watched from outside: the real
 * agent runs under strace, as `--once --json` and as a daemon that reports to a real collector
 * (so the welcome and acks go through its hand-written decoder), and no file of zod is opened.
 * The same watch on a process that does import common's full index sees zod, so the check can
 * fail; and the single-file bundle carries none of zod's code.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentBundle } from '../helpers/bundle.js';
import { FIXTURES, REPO } from '../helpers/fixtures.js';
import { AGENT_BIN, cli, killAll, startCollector, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const haveStrace = haveTools(['strace'], 'strace');
// As deploy/ and the shebang run the agent.
const NODE = [process.execPath, '--max-semi-space-size=1'];
const TRACE = ['-f', '-qq', '-e', 'trace=open,openat', '-o'];

/** Files a traced process opened (every path in the trace). */
function opened(traceFile: string): string[] {
  return [...readFileSync(traceFile, 'utf8').matchAll(/open(?:at)?\([^"]*"([^"]+)"/g)].map((m) => m[1] ?? '');
}
const zodFiles = (files: readonly string[]): string[] => files.filter((f) => /\/node_modules\/zod\//.test(f));

/**
 * PID of the agent strace started, or 0. Not simply strace's first child: strace forks a short-
 * lived child of its own at start to probe ptrace, so the agent is the child that is node running
 * AGENT_BIN.
 */
function tracee(stracePid: number): number {
  try {
    const kids = readFileSync(`/proc/${stracePid}/task/${stracePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const pid of kids) {
      try {
        // The probe is a fork of strace: its argv[0] is strace, and its arguments name the agent too.
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (argv[0] === process.execPath && argv.includes(AGENT_BIN)) return pid;
      } catch {
        // gone already
      }
    }
  } catch {
    // strace not started or gone
  }
  return 0;
}
const alive = (pid: number): boolean => pid > 0 && existsSync(`/proc/${pid}`);

describe.skipIf(!haveStrace)('the agent process loads no zod', () => {
  const tmp = tempDir('nozod');
  let collector: Collector | null = null;
  let traced: Proc | null = null;
  let agentPid = 0;

  afterAll(async () => {
    if (alive(agentPid)) process.kill(agentPid, 'SIGKILL');
    if (traced !== null) await stopProc(traced);
    if (collector !== null) await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it("the watch sees zod where it is loaded (a process importing common's full index)", () => {
    const trace = join(tmp.dir, 'index.trace');
    const r = spawnSync('strace', [...TRACE, trace, process.execPath, '--input-type=module', '-e', `await import(${JSON.stringify(join(REPO, 'packages/common/dist/index.js'))});`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(zodFiles(opened(trace)).length).toBeGreaterThan(0);
  });

  it('--once --json: a snapshot, and no zod file opened', () => {
    const trace = join(tmp.dir, 'once.trace');
    const r = spawnSync('strace', [...TRACE, trace, ...NODE, AGENT_BIN, '--once', '--json', '--procfs', join(FIXTURES, 'proc')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(Object.keys((JSON.parse(r.stdout) as { states: object }).states)).toHaveLength(12);
    const files = opened(trace);
    expect(files.some((f) => f.endsWith('packages/common/dist/agent.js'))).toBe(true);
    expect(zodFiles(files)).toEqual([]);
  });

  it('as a daemon reporting to a real collector: welcome and acks decoded, and no zod file opened', async () => {
    collector = await startCollector(tmp.dir);
    const trace = join(tmp.dir, 'daemon.trace');
    const tokenFile = join(tmp.dir, 'agent.token');
    spawnSync('sh', ['-c', `umask 077; printf '%s\\n' "$0" > "$1"`, collector.token, tokenFile]);
    traced = startProc('strace', [...TRACE, trace, ...NODE, AGENT_BIN, '--collector', collector.wsUrl, '--token-file', tokenFile, '--host-id', 'nozod-1', '--interval', '0.5', '--log-level', 'info']);
    await waitFor(() => (agentPid = tracee(traced?.pid ?? 0)) > 0, 'strace to start the agent', 20_000);
    let seq = 0;
    const url = collector.url;
    await waitFor(
      () => {
        const r = cli(['host', 'nozod-1', '--json', '--url', url]);
        if (r.code === 0) seq = (JSON.parse(r.stdout) as { seq: number }).seq;
        return seq >= 3;
      },
      'the traced agent to report three snapshots',
      60_000,
      250,
    );
    // Stored snapshots are acked: the agent saw the welcome and the acks (it logs "connected to collector" once the welcome is decoded).
    await waitFor(() => traced?.logs().some((l) => l['msg'] === 'connected to collector') === true, 'the agent to log that it is connected', 20_000);
    process.kill(agentPid, 'SIGTERM');
    await waitFor(() => !alive(agentPid), 'the agent to stop', 20_000);
    await traced.exited;
    const files = opened(trace);
    expect(files.some((f) => /\/node_modules\/ws\//.test(f))).toBe(true);
    expect(zodFiles(files)).toEqual([]);
  });

  it('the single-file bundle holds none of zod', () => {
    const text = readFileSync(agentBundle(), 'utf8');
    expect(text).not.toContain('$ZodType');
    expect(text).not.toContain('ZodError');
  });
});
