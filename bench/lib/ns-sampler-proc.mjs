#!/usr/bin/env node
// One NamespaceSampler (the agent's --namespaces part) in a process of its own, so that its CPU
// time is its own: bench/lib/ns-cost-scenario.mjs starts one per mode and sends it
// {ts} over IPC; it answers with what that sample cost (process.cpuUsage() around sample(): user
// + system CPU time of this process, GC included) and, per entry, the figures the bench needs.
//   node --max-semi-space-size=1 ns-sampler-proc.mjs --budget 0.02 --interval-ms 10000 [--walk-source auto|netlink|proc]
import { NamespaceSampler } from '../../packages/agent/dist/namespaces/sampler.js';
import { Bin1Encoder } from '../../packages/common/dist/agent.js';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const budget = Number(opt('budget', 0.01));
const intervalMs = Number(opt('interval-ms', 10_000));
const walkSource = opt('walk-source', 'auto');
const warnings = [];
const s = new NamespaceSampler({ procfs: '/proc', maxNamespaces: 512, kubeLogDir: '/nonexistent', dockerDir: '/nonexistent', budget, intervalMs, walkSource, warn: (m) => warnings.push(m) });
const cpuMs = (u) => (u.user + u.system) / 1000;
let first = null;
/** The previous sample's entries and ts: a bin1 session's previous snapshot, for the steady-state size. */
let prev = null;

/** A snapshot around `entries` at `ts` (its top level made of the first entry's numbers: only the namespace part is measured). */
const snapshotOf = (entries, ts, seq, withNs) => {
  const e = entries[0];
  const top = {
    host: 'bench',
    ts,
    seq,
    boot: '0123456789abcdef',
    interval_ms: intervalMs,
    labels: {},
    states: e.states,
    ipv4: e.ipv4,
    ipv6: e.ipv6,
    summary: e.summary,
    sockstat: e.sockstat,
    snmp: e.snmp,
    netstat: {},
    collect: { ms: 1, bytes: 1, skipped: 0, errors: [], states_age_ms: 0 },
  };
  return withNs ? { ...top, namespaces: entries } : top;
};

/** bin1 frame bytes per namespace: in a session's first frame, and in the frame after the previous sample's (steady state). */
function bin1Bytes(entries, ts) {
  const per = (enc, bare, list, t, seq) => (enc.encode(seq, [snapshotOf(list, t, seq, true)]).length - bare.encode(seq, [snapshotOf(list, t, seq, false)]).length) / list.length;
  const firstFrame = per(new Bin1Encoder(), new Bin1Encoder(), entries, ts, 1);
  if (prev === null || prev.entries.length === 0) return { first: firstFrame, steady: null };
  const enc = new Bin1Encoder();
  const bare = new Bin1Encoder();
  per(enc, bare, prev.entries, prev.ts, 1);
  return { first: firstFrame, steady: per(enc, bare, entries, ts, 2) };
}

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
  // The process's CPU before measuring sizes (encoding is not the sampler's cost).
  const processCpuMs = cpuMs(process.cpuUsage(first));
  let jsonBytes = null;
  let bin1 = null;
  if (m.bytes && part.entries !== undefined && part.entries.length > 0) {
    const plain = part.entries.reduce((a, e) => a + Buffer.byteLength(JSON.stringify(e)), 0) / part.entries.length;
    const named = part.entries.reduce((a, e) => a + Buffer.byteLength(JSON.stringify({ ...e, container: NAMED })), 0) / part.entries.length;
    jsonBytes = { plain, named };
    bin1 = bin1Bytes(part.entries, m.ts);
  }
  // Kept only for the size measurement of the next sample: the entries of this one.
  prev = part.entries === undefined ? null : { entries: part.entries, ts: m.ts };
  process.send({ cpu_ms: cpu, wall_ms: wall, collect: part.collect, entries, jsonBytes, bin1Bytes: bin1, processCpuMs, walkCounts: s.walkCounts, warnings: warnings.splice(0) });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
