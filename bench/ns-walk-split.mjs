#!/usr/bin/env node
// Where the CPU of one namespace's walk goes (bench/NOTES.md, "Per-namespace walk: where the
// time goes"): one namespace holding --small loopback connections (two sockets each) while
// --conns others exist in another namespace, on the host's shared TCP hash table; per file
// (net/tcp, net/tcp6) the system and user CPU of a plain read (the kernel iterating the hash
// table and formatting lines), of walkTcp (read + our parse), and of the parse alone on a copy
// held in memory; the same for an empty namespace, and, when the kernel has
// net.ipv4.tcp_child_ehash_entries, for a namespace made with a hash table of its own (the
// sysctl is set to --child-ehash only while that namespace is made, then put back). Beside the
// /proc walk, when the agent's sock_diag addon is built: one netlink sock_diag dump of the same
// namespace (both families in one pass, the agent's --walk-source netlink), its CPU split the same way.
// Root. `node bench/ns-walk-split.mjs [--conns 98000] [--small 1000] [--reps 15] > bench/results/ns-walk-split.json`
// (run under `flock /work/bench.lock` on a shared machine).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addNetns, cleanupAll, firstLine, installCleanup } from './lib/netns.mjs';
import { walkTcp } from '../packages/agent/dist/sampler.js';
import { NetTcpScanner } from '../packages/common/dist/agent.js';
import { loadSockDiag } from '../packages/agent/dist/namespaces/sock-diag.js';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const CONNS = Number(opt('conns', 98_000));
const SMALL = Number(opt('small', 1000));
const REPS = Number(opt('reps', 15));
const CHILD_EHASH = Number(opt('child-ehash', 4096));
const WORKER = fileURLToPath(new URL('./lib/conns-worker.mjs', import.meta.url));
const log = (m) => process.stderr.write(`ns-walk-split: ${m}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const procs = [];
const sockDiag = loadSockDiag();

async function hold(ns, conns, addr) {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--max-semi-space-size=1', WORKER, '--estab', String(conns), '--addr', addr, '--hold', '1800'], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  const r = await firstLine(p, `worker in ${ns}`, 300_000);
  return r.pid;
}

const buf = Buffer.allocUnsafe(256 * 1024);
function rawRead(path) {
  const fd = openSync(path, 'r');
  let n = 0;
  for (let k = readSync(fd, buf, 0, buf.length, null); k > 0; k = readSync(fd, buf, 0, buf.length, null)) n += k;
  closeSync(fd);
  return n;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function cpu(fn) {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return { user: c.user / 1000, sys: c.system / 1000 };
}
function measure(pid) {
  const out = {};
  for (const [f, fam] of [
    ['tcp', 4],
    ['tcp6', 6],
  ]) {
    const path = `/proc/${pid}/net/${f}`;
    const text = readFileSync(path);
    const rows = { read: [], parse: [] };
    for (let i = 0; i < REPS; i++) {
      rows.read.push(cpu(() => rawRead(path)));
      rows.parse.push(
        cpu(() => {
          const s = new NetTcpScanner(`net/${f}`, fam, null);
          for (let o = 0; o < text.length; o += buf.length) s.push(text.subarray(o, o + buf.length));
          s.end();
        }),
      );
    }
    out[f] = {
      bytes: text.length,
      lines: text.toString('latin1').split('\n').length - 2,
      read_sys_ms: median(rows.read.map((r) => r.sys)),
      read_user_ms: median(rows.read.map((r) => r.user)),
      parse_ms: median(rows.parse.map((r) => r.user + r.sys)),
    };
  }
  const walks = [];
  for (let i = 0; i < REPS; i++) walks.push(cpu(() => walkTcp(`/proc/${pid}`, 0)));
  out.walk_ms = median(walks.map((w) => w.user + w.sys));
  out.walk_sys_ms = median(walks.map((w) => w.sys));
  if ('addon' in sockDiag) {
    const dumps = [];
    for (let i = 0; i < REPS; i++) dumps.push(cpu(() => sockDiag.addon.tcpStates(`/proc/${pid}/ns/net`)));
    out.netlink_ms = median(dumps.map((w) => w.user + w.sys));
    out.netlink_sys_ms = median(dumps.map((w) => w.sys));
  } else out.netlink = sockDiag.error;
  return out;
}

async function main() {
  installCleanup();
  process.on('exit', () => procs.forEach((p) => p.kill('SIGKILL')));
  const load0 = loadavg();
  const big = addNetns('big');
  const small = addNetns('small');
  const empty = addNetns('empty');
  const per = 9000;
  const jobs = [];
  for (let i = 0, left = CONNS; left > 0; i++, left -= per) jobs.push(hold(big, Math.min(per, left), `127.0.0.${i + 1}`));
  await Promise.all(jobs);
  const smallPid = await hold(small, SMALL, '127.0.0.1');
  const emptyPid = await hold(empty, 0, '127.0.0.1');
  log(`set up: ${CONNS} connections in one namespace, ${SMALL} in another; load ${loadavg()}`);
  const result = { conns: CONNS, small: SMALL, reps: REPS, load_start: load0, ehash: readFileSync('/proc/sys/net/ipv4/tcp_ehash_entries', 'utf8').trim() };
  result.small_ns = measure(smallPid);
  result.empty_ns = measure(emptyPid);
  let old = null;
  try {
    old = readFileSync('/proc/sys/net/ipv4/tcp_child_ehash_entries', 'utf8').trim();
  } catch {}
  if (old !== null) {
    writeFileSync('/proc/sys/net/ipv4/tcp_child_ehash_entries', String(CHILD_EHASH));
    let own;
    try {
      own = addNetns('own');
    } finally {
      writeFileSync('/proc/sys/net/ipv4/tcp_child_ehash_entries', old);
    }
    const ownPid = await hold(own, SMALL, '127.0.0.1');
    result.own_table_ns = { child_ehash_entries: CHILD_EHASH, ...measure(ownPid) };
  }
  result.load_end = loadavg();
  process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  cleanupAll();
  process.exit(0);
}
main().catch((err) => {
  process.stderr.write(`ns-walk-split: ${err.stack}\n`);
  cleanupAll();
  process.exit(1);
});
