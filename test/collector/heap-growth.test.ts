/**
 * A collector on PostgreSQL lets its old generation grow further between full GCs than the
 * launcher's --heap-growing-percent=50 (packages/collector/src/heap-growth.ts), set after start:
 * in a real node process started with the launcher's flags, the same allocations make fewer full
 * GCs after growHeapFor('postgres') than after growHeapFor('sqlite'), which changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GARBAGE_BUDGET, LAUNCHER_FLAG, MAX_PERCENT, MIN_PERCENT, growHeapFor, growingPercent } from '../../packages/collector/src/heap-growth.js';

const MODULE = fileURLToPath(new URL('../../packages/collector/dist/heap-growth.js', import.meta.url));

/** Full GCs of a fixed allocation pattern after growHeapFor(driver): ~30 MB live (under the budget: the share is 100%), then garbage that lives a few rounds (promoted, then dead in old space), with the event loop turning (the GC observer's entries come on it). */
function fullGcs(driver: string): number {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    const { growHeapFor } = await import(${JSON.stringify(MODULE)});
    const g = growHeapFor(${JSON.stringify(driver)});
    let major = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
    const live = [];
    for (let i = 0; i < 500000; i++) live.push({ a: i, b: 'x' + i });
    // A full GC (the observer learns what is live, as from a collector's first), then count from there.
    global.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = major;
    const keep = [];
    for (let r = 0; r < 1000; r++) { keep.push(Array.from({ length: 20000 }, (_, i) => ({ i }))); if (keep.length > 5) keep.shift(); await new Promise((resolve) => setImmediate(resolve)); }
    setTimeout(() => console.log(JSON.stringify({ percent: g?.percent() ?? null, major: major - before, live: live.length })), 50);
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--max-semi-space-size=4', LAUNCHER_FLAG, '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })) as {
    percent: number | null;
    major: number;
  };
  if (driver === 'postgres') {
    // ~30 MB live after its full GCs: the budget is more than that, above what 50% would give.
    expect(out.percent).toBeGreaterThan(MIN_PERCENT);
    expect(out.percent).toBeLessThanOrEqual(MAX_PERCENT);
  } else expect(out.percent).toBeNull();
  return out.major;
}

describe('the old generation growth of a collector', () => {
  it('is the garbage budget as a share of what is live, within 50-100%', () => {
    const MB = 1024 * 1024;
    expect(growingPercent(0)).toBe(MAX_PERCENT);
    expect(growingPercent(GARBAGE_BUDGET / 2)).toBe(MAX_PERCENT);
    expect(growingPercent(GARBAGE_BUDGET)).toBe(100);
    expect(growingPercent(GARBAGE_BUDGET * 1.25)).toBe(80);
    expect(growingPercent(GARBAGE_BUDGET * 2)).toBe(50);
    expect(growingPercent(GARBAGE_BUDGET * 4)).toBe(MIN_PERCENT);
    // In steps of 5: a live heap that moves a little does not set the flag again.
    expect(growingPercent(90 * MB)).toBe(growingPercent(91 * MB));
  });

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
