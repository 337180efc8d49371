// Network namespaces and processes a benchmark makes, removed on exit, on SIGINT/SIGTERM and on
// failure. Names start with tfbench<pid>-; processes are ended by their PID only.
import { execFileSync, spawn } from 'node:child_process';

const made = new Set();
const procs = new Set();

export function isRoot() {
  return process.getuid?.() === 0;
}

export function addNetns(tag) {
  const name = `tfbench${process.pid}-${tag}`;
  execFileSync('ip', ['netns', 'add', name]);
  made.add(name);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function nsSysctl(ns, key, value) {
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`]);
}

export function delNetns(name) {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  } catch {}
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {}
  made.delete(name);
}

/** Starts a tracked process; resolves when it prints its first stdout line (JSON). */
export function startTracked(cmd, args, opts = {}) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  procs.add(proc);
  proc.on('exit', () => procs.delete(proc));
  return proc;
}

export function firstLine(proc, what, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`${what}: not ready in ${timeoutMs} ms: ${err}`)), timeoutMs);
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch {
          resolve(out.slice(0, nl));
        }
      }
    });
    proc.stderr.on('data', (d) => (err += d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited with ${code}: ${err.slice(0, 500)}`));
    });
  });
}

/** Resolves when a tracked `tcpfleet serve` logs that it started (its log goes to stderr). */
export function collectorStarted(proc, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    let err = '';
    const to = setTimeout(() => reject(new Error(`collector not up: ${err}`)), timeoutMs);
    proc.stderr.on('data', (d) => {
      err += d.toString();
      if (err.includes('collector started')) {
        clearTimeout(to);
        resolve();
      }
    });
  });
}

export async function stopTracked(proc, signal = 'SIGTERM') {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

export function cleanupAll() {
  for (const p of procs) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
  procs.clear();
  for (const n of [...made]) delNetns(n);
}

let installed = false;
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      cleanupAll();
      process.exit(130);
    });
  }
}
