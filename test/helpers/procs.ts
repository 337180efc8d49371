/**
 * Real tcpfleet processes for tests: the collector and agents as the user runs them (the built
 * bin scripts), each ended by its PID when the test is done, also when it fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './fixtures.js';

export const COLLECTOR_BIN = join(REPO, 'packages/collector/bin/tcpfleet.js');
export const AGENT_BIN = join(REPO, 'packages/agent/bin/tcpfleet-agent.js');

const started = new Set<ChildProcess>();

/** A process started by a test, with its output collected. */
export interface Proc {
  proc: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Log lines (JSON) from stderr, parsed. */
  logs: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Starts a process and tracks it for cleanup. */
export function startProc(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Proc {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  started.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': it comes after the child's stdout and stderr are drained, so a test
  // that reads the logs once the process ended sees its last lines.
  const exited = new Promise<number | null>((resolve) =>
    proc.on('close', (code) => {
      started.delete(proc);
      resolve(code);
    }),
  );
  return {
    proc,
    pid: proc.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    exited,
  };
}

/** Waits (bounded) until `check` is true; throws with `what` on time-out. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < until && i < 100_000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Ends a process by its PID and waits for it. */
export async function stopProc(p: Proc, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
  // Bounded: a grandchild holding the pipes open would otherwise delay 'close' forever.
  const drained = (ms: number): Promise<unknown> => Promise.race([p.exited, new Promise((r) => setTimeout(r, ms))]);
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) {
    await drained(2000);
    return;
  }
  p.proc.kill(signal);
  const t = setTimeout(() => p.proc.kill('SIGKILL'), timeoutMs);
  await drained(timeoutMs + 3000);
  clearTimeout(t);
}

/** Kills every process a test started and has not stopped. */
export function killAll(): void {
  for (const p of started) p.kill('SIGKILL');
  started.clear();
}

/** A temporary directory removed by cleanup(). */
export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tcpfleet-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Waits (bounded) until collector process `p` logs "collector started"; the port it logged. Throws with its stderr if it exits first. */
export async function listeningPort(p: Proc, what = 'collector to listen', timeoutMs = 20_000): Promise<number> {
  let port = 0;
  await waitFor(
    () => {
      const line = p.logs().find((l) => l['msg'] === 'collector started');
      if (line !== undefined) port = Number(line['port']);
      if (p.proc.exitCode !== null) throw new Error(`collector exited: ${p.stderr()}`);
      return port > 0;
    },
    what,
    timeoutMs,
  );
  return port;
}

/** A running collector started by a test. */
export interface Collector extends Proc {
  port: number;
  url: string;
  wsUrl: string;
  db: string;
  token: string;
}

/**
 * Starts `tcpfleet serve` on a free loopback port with a fleet token; waits until it listens.
 * `command` is what runs before serve's flags (e.g. test/helpers/fault-collector.mjs and its options, then `--`).
 */
export async function startCollector(
  dir: string,
  extra: readonly string[] = [],
  token = 'test-fleet-token-0123456789',
  listen = '127.0.0.1:0',
  command: readonly string[] = [COLLECTOR_BIN, 'serve'],
): Promise<Collector> {
  const tokenFile = join(dir, 'fleet.token');
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const db = join(dir, 'tcpfleet.db');
  const p = startProc(process.execPath, [...command, '--listen', listen, '--db', db, '--token-file', tokenFile, ...extra]);
  const port = await listeningPort(p);
  return { ...p, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, db, token };
}

/** Starts an agent against a collector. */
export function startAgent(c: { wsUrl: string; token: string }, dir: string, args: readonly string[]): Proc {
  const tokenFile = join(dir, `agent-${Math.random().toString(36).slice(2)}.token`);
  writeFileSync(tokenFile, c.token + '\n', { mode: 0o600 });
  return startProc(process.execPath, [AGENT_BIN, '--collector', c.wsUrl, '--token-file', tokenFile, '--interval', '0.5', '--reconnect-min', '0.1', '--reconnect-max', '1', ...args]);
}

/** Runs the CLI to completion. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the agent to completion (e.g. --once). */
export function agentOnce(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [AGENT_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
