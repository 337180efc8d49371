#!/usr/bin/env node
// Runs INSIDE the benchmark's network namespace. Measures, round-robin in the same run, the cost
// of one sample of /proc/net/tcp + tcp6 by: cat (the kernel's cost of producing the text, plus
// one fork/exec), a plain read of the same files in this process (no parsing: the floor), the
// agent's walk (walkTcp: read in 256 KiB chunks + byte scanner + breakdown), the agent's full
// sample (walk + sockstat/snmp/netstat), the seed's awk one-liner, ss -tan and, when installed,
// node_exporter's tcpstat scrape. Prints one JSON document.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { walkTcp } from '../../packages/agent/dist/sampler.js';
import { AdaptiveSampler } from '../../packages/agent/dist/adaptive.js';
import { streamProcFile } from '@tcpfleet/common/agent'; // the agent's own (zod-free) entry, as the agent loads it

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const runs = Number(opt('runs', 5));
const nePort = Number(opt('ne-port', 20100));
const AGENT_BIN = fileURLToPath(new URL('../../packages/agent/bin/tcpfleet-agent.js', import.meta.url));
const AGENT_BUNDLE = fileURLToPath(new URL('../../dist/tcpfleet-agent.mjs', import.meta.url));
// Optional: the root of another build of the repo (e.g. a copy of main) whose daemon is measured
// too, in the same namespace and run, for a before/after (BENCH_AGENT_BASELINE=/path).
const BASELINE = process.env['BENCH_AGENT_BASELINE'] || null;
// How the deploy files run the agent (deploy/systemd, deploy/docker, the bin and bundle shebangs).
const AGENT_NODE_FLAGS = ['--max-semi-space-size=1'];
const AWK = 'FNR>1 {count[$4]++} END{for (s in count) print s, count[s]}';
const NE_BIN = ['/usr/bin/prometheus-node-exporter', '/usr/bin/node_exporter', '/usr/local/bin/node_exporter'].find((p) => existsSync(p)) ?? null;

const timeSpawn = (cmd, argv) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}`);
  return ms;
};
const peakKb = (cmd, argv) => {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /(\d+)\s*$/.exec(r.stderr.trim());
  return m ? Number(m[1]) : null;
};
const chunk = Buffer.allocUnsafe(256 * 1024);
const readFloor = () => {
  const t0 = performance.now();
  streamProcFile('/proc', 'net/tcp', () => {}, chunk);
  streamProcFile('/proc', 'net/tcp6', () => {}, chunk);
  return performance.now() - t0;
};
let lastWalk = null;
const walk = () => {
  const t0 = performance.now();
  lastWalk = walkTcp('/proc', 10);
  return performance.now() - t0;
};
const sampler = new AdaptiveSampler({ procfs: '/proc', top: 10, intervalMs: 10_000, budget: 0 });
let seq = 0;
const fullSample = () => {
  const t0 = performance.now();
  sampler.sample({ host: 'bench', boot: '00000000-0000-4000-8000-000000000000', seq: ++seq, interval_ms: 10_000, labels: {} });
  return performance.now() - t0;
};

const get = (port) =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 60_000 }, (res) => {
      let n = 0;
      let body = '';
      res.on('data', (d) => {
        n += d.length;
        body += d.toString();
      });
      res.on('end', () => resolve({ n, body }));
    });
    req.on('error', reject);
    req.end();
  });

async function main() {
  let ne = null;
  if (NE_BIN !== null) {
    ne = spawn(NE_BIN, ['--collector.disable-defaults', '--collector.tcpstat', `--web.listen-address=127.0.0.1:${nePort}`], { stdio: 'ignore' });
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      try {
        await get(nePort);
        up = true;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!up) {
      process.stderr.write('measure-sampling: node_exporter did not answer in 30 s; row skipped\n');
      ne.kill('SIGKILL');
      ne = null;
    }
  }
  const scrape = async () => {
    const t0 = performance.now();
    await get(nePort);
    return performance.now() - t0;
  };
  const tools = [
    ['cat', () => timeSpawn('cat', ['/proc/net/tcp', '/proc/net/tcp6'])],
    ['read', readFloor],
    ['walk', walk],
    ['sample', fullSample],
    ['awk', () => timeSpawn('awk', [AWK, '/proc/net/tcp', '/proc/net/tcp6'])],
    ['ss', () => timeSpawn('ss', ['-tan'])],
  ];
  if (ne !== null) tools.push(['node_exporter', scrape]);
  const times = Object.fromEntries(tools.map(([n]) => [n, []]));
  // Warm-up once each, then round-robin with a rotating start so no tool always runs first.
  for (const [, f] of tools) await f();
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < tools.length; i++) {
      const [name, f] = tools[(i + r) % tools.length];
      times[name].push(await f());
    }
  }
  const rss = {
    cat: peakKb('cat', ['/proc/net/tcp', '/proc/net/tcp6']),
    awk: peakKb('awk', [AWK, '/proc/net/tcp', '/proc/net/tcp6']),
    ss: peakKb('ss', ['-tan']),
    agent_once: peakKb(process.execPath, [...AGENT_NODE_FLAGS, AGENT_BIN, '--once', '--json']),
    agent_once_bundle: existsSync(AGENT_BUNDLE) ? peakKb(process.execPath, [...AGENT_NODE_FLAGS, AGENT_BUNDLE, '--once', '--json']) : null,
    agent_once_default_flags: peakKb(process.execPath, [AGENT_BIN, '--once', '--json']),
    sampler_process: Math.round(process.resourceUsage().maxRSS),
  };
  // The agent as a daemon, as deployed, walking every 2 s (budget 0) for 12 s: peak (VmHWM) and
  // resting RSS. No collector listens on the port (this namespace's own loopback): the snapshots
  // wait in its outbox, as during a collector outage.
  const daemon = async (file) => {
    const p = spawn(process.execPath, [...AGENT_NODE_FLAGS, file, '--collector', 'ws://127.0.0.1:23999', '--token', 'bench', '--interval', '2', '--walk-budget', '0', '--log-level', 'silent'], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 12_000));
    const st = readFileSync(`/proc/${p.pid}/status`, 'utf8');
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
    return { hwm_kb: Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? NaN), rss_kb: Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? NaN) };
  };
  // The peak varies from start to start by a few MB (heap growth and GC timing): with
  // --daemon-runs N each build runs N times, interleaved, and the worst run is the figure
  // (hwm_kb, rss_kb), every run's kept in `runs`.
  const builds = { bin: AGENT_BIN, bundle: existsSync(AGENT_BUNDLE) ? AGENT_BUNDLE : null };
  if (BASELINE !== null) {
    builds.baseline_bin = `${BASELINE}/packages/agent/bin/tcpfleet-agent.js`;
    const b = `${BASELINE}/dist/tcpfleet-agent.mjs`;
    builds.baseline_bundle = existsSync(b) ? b : null;
  }
  const daemonRuns = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
  for (let i = 0; i < Number(opt('daemon-runs', 1)); i++) {
    for (const [k, file] of Object.entries(builds)) if (file !== null) daemonRuns[k].push(await daemon(file));
  }
  const daemons = Object.fromEntries(Object.entries(daemonRuns).map(([k, rs]) => [k, rs.length === 0 ? null : { ...rs.reduce((a, b) => (b.hwm_kb > a.hwm_kb ? b : a)), runs: rs }]));
  let neInfo = null;
  if (ne !== null) {
    const status = readFileSync(`/proc/${ne.pid}/status`, 'utf8');
    rss.node_exporter = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const { body } = await get(nePort);
    neInfo = body
      .split('\n')
      .filter((l) => l.startsWith('node_tcp_connection_states'))
      .slice(0, 12);
    ne.kill('SIGTERM');
  }
  const lines4 = Math.max(0, readFileSync('/proc/net/tcp', 'latin1').split('\n').length - 2);
  const lines6 = existsSync('/proc/net/tcp6') ? Math.max(0, readFileSync('/proc/net/tcp6', 'latin1').split('\n').length - 2) : 0;
  const w = lastWalk;
  process.stdout.write(
    JSON.stringify({
      sockets: { tcp: lines4, tcp6: lines6, total: lines4 + lines6 },
      states:
        w === null
          ? null
          : Object.fromEntries(
              Object.keys(w.ipv4)
                .map((k) => [k, w.ipv4[k] + w.ipv6[k]])
                .filter(([, v]) => v > 0),
            ),
      bytes: w?.bytes ?? null,
      times,
      rss_kb: rss,
      daemons,
      node_exporter: NE_BIN === null || ne === null ? null : { bin: NE_BIN, sample: neInfo },
    }) + '\n',
  );
}
main().catch((err) => {
  process.stderr.write(`measure-sampling: ${err.stack}\n`);
  process.exit(1);
});
