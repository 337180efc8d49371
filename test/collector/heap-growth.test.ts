/**
 * A collector on PostgreSQL lets its old generation grow further between full GCs than the
 * launcher's --heap-growing-percent=50 (packages/collector/src/heap-growth.ts), set after start:
 * in a real node process started with the launcher's flags, the same allocations make fewer full
 * GCs after growHeapFor('postgres') than after growHeapFor('sqlite'), which changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_FLAG, growHeapFor } from '../../packages/collector/src/heap-growth.js';

const MODULE = fileURLToPath(new URL('../../packages/collector/dist/heap-growth.js', import.meta.url));

/** Full GCs of a fixed allocation pattern after growHeapFor(driver): ~70 MB live, as a collector at 10,000 agents, then garbage that lives a few rounds (promoted, then dead in old space). */
function fullGcs(driver: string): number {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    const { growHeapFor } = await import(${JSON.stringify(MODULE)});
    const set = growHeapFor(${JSON.stringify(driver)});
    let major = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
    const live = [];
    for (let i = 0; i < 1000000; i++) live.push({ a: i, b: 'x' + i });
    const keep = [];
    for (let r = 0; r < 600; r++) { keep.push(Array.from({ length: 20000 }, (_, i) => ({ i }))); if (keep.length > 5) keep.shift(); }
    setTimeout(() => console.log(JSON.stringify({ set, major, live: live.length })), 50);
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--max-semi-space-size=4', LAUNCHER_FLAG, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })) as {
    set: string | null;
    major: number;
  };
  expect(out.set).toBe(driver === 'postgres' ? '--heap-growing-percent=100' : null);
  return out.major;
}

describe('the old generation growth of a collector', () => {
  it('is raised for PostgreSQL only, and only from the launcher value', () => {
    expect(growHeapFor('sqlite', [LAUNCHER_FLAG])).toBeNull();
    // An operator's own value stays.
    expect(growHeapFor('postgres', ['--heap-growing-percent=30'])).toBeNull();
    expect(growHeapFor('postgres', [])).toBeNull();
  });

  it('takes effect after start: fewer full GCs for the same allocations', () => {
    const sqlite = fullGcs('sqlite');
    const postgres = fullGcs('postgres');
    expect(sqlite).toBeGreaterThan(3);
    expect(postgres).toBeLessThan(sqlite * 0.8);
  });
});
