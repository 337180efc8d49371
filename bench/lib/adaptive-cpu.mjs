#!/usr/bin/env node
// Runs INSIDE the benchmark's namespace: the agent's sampling loop (AdaptiveSampler with the
// default budget, 1% of one core) at a 10 s interval for --seconds, and the CPU time it used
// (user + system, this whole process) over that window. Prints one JSON line.
import { AdaptiveSampler } from '../../packages/agent/dist/adaptive.js';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const seconds = Number(opt('seconds', 120));
const intervalMs = Number(opt('interval', 10)) * 1000;
const budget = Number(opt('budget', 0.01));
const s = new AdaptiveSampler({ procfs: '/proc', top: 10, intervalMs, budget });
const cpu = () => {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1000;
};
const c0 = cpu();
const t0 = performance.now();
const ages = [];
let c1 = 0;
let t1 = 0;
let seq = 0;
const tick = () => {
  const started = performance.now();
  const snap = s.sample({ host: 'bench', boot: '00000000-0000-4000-8000-000000000000', seq: ++seq, interval_ms: intervalMs, labels: {} });
  ages.push(snap.collect.states_age_ms);
  if (seq === 1) {
    c1 = cpu();
    t1 = performance.now();
  }
  if (performance.now() - t0 + intervalMs > seconds * 1000) return finish();
  setTimeout(tick, Math.max(0, intervalMs - (performance.now() - started)));
};
const finish = () => {
  const wall = performance.now() - t0;
  // The window runs to the end of the last interval, as a long-running agent's would.
  const windowMs = Math.max(wall, seq * intervalMs);
  setTimeout(
    () => {
      const c = cpu();
      const used = c - c0;
      // Steady state: from the end of the first snapshot (the start-up walk) to the end of the window.
      const steadyMs = t0 + windowMs - t1;
      process.stdout.write(
        JSON.stringify({
          cpuPctSteady: (100 * (c - c1)) / steadyMs,
          steadySeconds: steadyMs / 1000,
          seconds: windowMs / 1000,
          samples: seq,
          walks: s.walks,
          skips: s.skips,
          walkCostMs: s.walkCostMs,
          cpuMs: used,
          cpuPct: (100 * used) / windowMs,
          maxStatesAgeMs: Math.max(...ages),
        }) + '\n',
      );
    },
    Math.max(0, windowMs - wall),
  );
};
tick();
