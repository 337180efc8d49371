#!/usr/bin/env node
// What --namespaces costs per interval (a first figure, not the full bench): N namespaces
// made here, each with a few loopback connections, and optionally --conns connections in one of
// them (the TCP hash table is shared, so every namespace's walk scans them all). For each mode
// (walk every namespace every interval, as cAdvisor does, and the budgeted sampler at 1%) it runs
// --rounds intervals through the agent's NamespaceSampler and reports CPU ms per interval.
//   node bench/namespaces-cost.mjs [--namespaces 30] [--conns 0] [--rounds 10]   (root, after tsc -b)
import { fileURLToPath } from 'node:url';
import { NamespaceSampler } from '../packages/agent/dist/namespaces/sampler.js';
import { addNetns, cleanupAll, firstLine, installCleanup, isRoot, startTracked } from './lib/netns.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('namespaces', 30);
const CONNS = opt('conns', 0);
const ROUNDS = opt('rounds', 10);
if (!isRoot()) {
  console.error('namespaces-cost: needs root');
  process.exit(2);
}

const MKCONNS = fileURLToPath(new URL('../test/helpers/mkconns.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('./lib/conns-worker.mjs', import.meta.url));

async function main() {
  installCleanup();
  for (let i = 0; i < N; i++) {
    const ns = addNetns(`c${i}`);
    const p = startTracked('ip', ['netns', 'exec', ns, process.execPath, MKCONNS, '--listen', '2', '--estab', '3', '--timewait', '1', '--hold', '900']);
    await firstLine(p, `mkconns ${ns}`);
  }
  if (CONNS > 0) {
    const ns = addNetns('big');
    for (let left = CONNS, k = 0; left > 0; k++) {
      const n = Math.min(4500, left);
      left -= n;
      const p = startTracked('ip', ['netns', 'exec', ns, process.execPath, WORKER, '--estab', String(Math.ceil(n / 2)), '--addr', `127.0.0.${k + 1}`]);
      await firstLine(p, 'conns-worker');
    }
  }
  const result = { namespaces_made: N, conns: CONNS, rounds: ROUNDS, modes: {} };
  for (const [mode, budget] of [
    ['walk every namespace every interval', 0],
    ['budgeted, 1% of a core', 0.01],
  ]) {
    const s = new NamespaceSampler({ procfs: '/proc', maxNamespaces: 512, kubeLogDir: '/nonexistent', dockerDir: '/nonexistent', budget, intervalMs: 10_000, warn: () => {} });
    let ts = Date.now();
    const first = s.sample(ts, 0);
    const per = [];
    for (let r = 0; r < ROUNDS; r++) {
      ts += 10_000;
      const p = s.sample(ts, 0);
      per.push(p.collect);
    }
    const avg = (k) => Math.round((per.reduce((a, c) => a + c[k], 0) / per.length) * 100) / 100;
    result.modes[mode] = {
      found: first.collect.found,
      first_interval_cpu_ms: first.collect.cpu_ms,
      cpu_ms_per_interval: avg('cpu_ms'),
      walks_per_interval: avg('walked'),
      unchanged_per_interval: avg('unchanged'),
      stale_per_interval: avg('stale'),
      share_of_a_core_at_10s: `${((avg('cpu_ms') / 10_000) * 100).toFixed(3)}%`,
    };
  }
  console.log(JSON.stringify(result, null, 2));
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
