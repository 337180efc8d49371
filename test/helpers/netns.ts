/**
 * Network namespaces made by a test and removed by it, also when the test fails: every name is
 * registered, and removeAll() (call it in afterAll) deletes what is left. Names carry the test
 * process id so parallel test files never collide.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const made = new Set<string>();
let counter = 0;

/** True when this process can create namespaces (root with iproute2). */
export function canNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Creates a namespace with loopback up; returns its name. */
export function addNetns(tag: string): string {
  const name = `tf${process.pid}-${tag}-${counter++}`;
  execFileSync('ip', ['netns', 'add', name]);
  made.add(name);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/**
 * Joins namespaces `a` and `b` with a veth pair (a's end `aDev` at `aAddr`, b's `bDev` at
 * `bAddr`, both CIDR), both ends up. The pair goes with the namespaces.
 */
export function linkNetns(a: string, aDev: string, aAddr: string, b: string, bDev: string, bAddr: string): void {
  execFileSync('ip', ['-n', a, 'link', 'add', aDev, 'type', 'veth', 'peer', 'name', bDev, 'netns', b]);
  execFileSync('ip', ['-n', a, 'addr', 'add', aAddr, 'dev', aDev]);
  execFileSync('ip', ['-n', b, 'addr', 'add', bAddr, 'dev', bDev]);
  execFileSync('ip', ['-n', a, 'link', 'set', aDev, 'up']);
  execFileSync('ip', ['-n', b, 'link', 'set', bDev, 'up']);
}

/** Deletes a namespace after ending the processes still in it (all started by this test). */
export function delNetns(name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
      .split('\n')
      .filter((s) => s !== '');
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // namespace already gone
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  made.delete(name);
}

/** Removes every namespace this process made. */
export function removeAllNetns(): void {
  for (const n of [...made]) delNetns(n);
}

/** Runs a command inside a namespace and returns its stdout. */
export function nsExec(ns: string, cmd: string, args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 20_000 });
}

const MKCONNS = fileURLToPath(new URL('./mkconns.mjs', import.meta.url));

/** What mkconns reported once its sockets were in place. */
export interface ConnsReady {
  pid: number;
  port: number;
  listen: number;
  established: number;
  time_wait: number;
  time_wait6: number;
  close_wait: number;
  fin_wait2: number;
}

/** Starts the socket generator in a namespace; resolves once its sockets exist. */
export function startConns(
  ns: string,
  opts: { listen?: number; estab?: number; estab6?: number; timewait?: number; timewait6?: number; closewait?: number; port?: number },
): Promise<{ proc: ChildProcess; ready: ConnsReady }> {
  const args = ['netns', 'exec', ns, process.execPath, MKCONNS];
  for (const [k, v] of Object.entries(opts)) args.push(`--${k}`, String(v));
  args.push('--hold', '300');
  const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`mkconns in ${ns} not ready in 20 s: ${err}`)), 20_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve({ proc, ready: JSON.parse(out.slice(0, nl)) as ConnsReady });
      }
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`mkconns exited with ${code}: ${err}`));
    });
  });
}
