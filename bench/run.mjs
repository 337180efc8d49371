#!/usr/bin/env node
// `npm run bench`: runs the benchmarks (all, or those named: agent ingest fleet queries selectors storage cli namespaces),
// prints a table for each and assembles bench/RESULTS.md. Never part of `npm test`; targets are
// reported as met or short and never fail the run. A benchmark that cannot run here (not root,
// tool missing) says so in its section instead of reporting a figure.
import { assemble, writeSection } from './lib/report.mjs';
import { cleanupAll } from './lib/netns.mjs';

const ALL = ['agent', 'ingest', 'fleet', 'queries', 'selectors', 'storage', 'cli', 'namespaces'];
const FILES = {
  agent: './agent-sampling.mjs',
  ingest: './ingest.mjs',
  fleet: './fleet-pg.mjs',
  queries: './queries.mjs',
  selectors: './selectors.mjs',
  storage: './storage.mjs',
  cli: './cli-startup.mjs',
  namespaces: './namespaces-cost.mjs',
};
const picked = process.argv.slice(2).filter((a) => ALL.includes(a));
const unknown = process.argv.slice(2).filter((a) => !ALL.includes(a));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of picked.length > 0 ? picked : ALL) {
  console.log(`\n=== ${name} ===`);
  try {
    const mod = await import(FILES[name]);
    await mod.run();
  } catch (err) {
    failed++;
    console.error(`bench ${name} failed: ${err.stack ?? err}`);
    writeSection(name, `## ${name}\n\nThis benchmark failed in the last run and reports no figure: ${String(err.message ?? err).split('\n')[0]}\n`);
  } finally {
    cleanupAll();
  }
}
assemble();
console.log(`\nbench/RESULTS.md written${failed > 0 ? ` (${failed} benchmark(s) failed: see above)` : ''}`);
