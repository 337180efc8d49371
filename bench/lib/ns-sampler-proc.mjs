#!/usr/bin/env node
// One NamespaceSampler (the agent's --namespaces part) in a process of its own, so that its CPU
// time is its own: bench/lib/ns-cost-scenario.mjs starts one per mode and sends it
// {ts} over IPC; it answers with what that sample cost (process.cpuUsage() around sample(): user
// + system CPU time of this process, GC included) and, per entry, the figures the bench needs.
//   node --max-semi-space-size=1 ns-sampler-proc.mjs --budget 0.02 --interval-ms 10000
import { NamespaceSampler } from '../../packages/agent/dist/namespaces/sampler.js';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const budget = Number(opt('budget', 0.01));
const intervalMs = Number(opt('interval-ms', 10_000));
const warnings = [];
const s = new NamespaceSampler({ procfs: '/proc', maxNamespaces: 512, kubeLogDir: '/nonexistent', dockerDir: '/nonexistent', budget, intervalMs, warn: (m) => warnings.push(m) });
const cpuMs = (u) => (u.user + u.system) / 1000;
let first = null;

// A container identity as a containerd pod's entry would carry it (the bench's namespaces have
// none): what a named entry adds to the JSON.
const NAMED = { runtime: 'containerd', id: 'c'.repeat(64), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'shop-7d9f8c6b5-x2k4q', namespace: 'shop', name: 'nginx' };

process.on('message', (m) => {
  if (m.ts === undefined) return;
  if (first === null) first = process.cpuUsage();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const part = s.sample(m.ts, 0);
  const cpu = cpuMs(process.cpuUsage(c0));
  const wall = performance.now() - t0;
  const entries = (part.entries ?? []).map((e) => [
    e.netns,
    e.collect.states_age_ms,
    e.collect.states_unchanged,
    e.states.established,
    e.states.listen,
    Object.values(e.states).reduce((a, b) => a + b, 0),
  ]);
  let jsonBytes = null;
  if (m.bytes && part.entries !== undefined && part.entries.length > 0) {
    const plain = part.entries.reduce((a, e) => a + Buffer.byteLength(JSON.stringify(e)), 0) / part.entries.length;
    const named = part.entries.reduce((a, e) => a + Buffer.byteLength(JSON.stringify({ ...e, container: NAMED })), 0) / part.entries.length;
    jsonBytes = { plain, named };
  }
  process.send({ cpu_ms: cpu, wall_ms: wall, collect: part.collect, entries, jsonBytes, processCpuMs: cpuMs(process.cpuUsage(first)), warnings: warnings.splice(0) });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
