/**
 * The walk planner's rules, on plain numbers: never-walked and jumped namespaces first (into
 * debt, bounded), then moved ones past the fair age oldest first, then the other moved ones by
 * age x log2(2 + movement), while the bucket has room (every moved namespace's wait bounded by
 * the fair age: the turn the budget allows), unmoved ones never;
 * the bucket fills by budget x time less what else the interval spent, never below half, and
 * holds at most six intervals' worth; budget 0 walks everything.
 */
import { describe, expect, it } from 'vitest';
import { WalkPlanner } from '../../../packages/agent/src/namespaces/walk-planner.js';
import type { WalkCandidate } from '../../../packages/agent/src/namespaces/walk-planner.js';

const cand = (key: number, o: Partial<WalkCandidate> = {}): WalkCandidate => ({ key, neverWalked: false, jumped: false, moved: true, movement: 0, ageMs: 10_000, costMs: 10, ...o });

describe('WalkPlanner', () => {
  it('budget 0 walks every candidate', () => {
    const p = new WalkPlanner({ budget: 0, intervalMs: 10_000 });
    expect(p.plan([cand(1), cand(2, { moved: false }), cand(3)])).toEqual([1, 2, 3]);
  });

  it('walks moved namespaces past the fair age first, oldest first, then the others by age x log2(2 + movement), while the bucket has room, and never an unmoved one', () => {
    // 1% of a core at 10 s: 100 ms per interval; walks cost 10 ms each: 10 walks per interval
    // for 22 moved namespaces, so walking each once takes ceil(220 / 100) = 3 intervals.
    const p = new WalkPlanner({ budget: 0.01, intervalMs: 10_000 });
    p.accrue(10_000, 0);
    expect(p.tokens).toBeCloseTo(100);
    const cands = [
      ...Array.from({ length: 20 }, (_, i) => cand(100 + i, { movement: 0, ageMs: 1_000 * (i + 1) })),
      // Past the fair age (30 s): first, oldest first, however little they moved.
      cand(7, { movement: 0, ageMs: 30_000 }),
      cand(8, { movement: 1, ageMs: 45_000 }),
      // Below it, by score: 1,000 transitions weigh log2(1002) ~ 10, so 2 s old comes between
      // 20 s and 19 s old that did not move.
      cand(1, { movement: 1000, ageMs: 2_000 }),
      cand(2, { moved: false, ageMs: 1e9 }),
    ];
    expect(p.fairAgeMs(cands.filter((c) => c.moved))).toBe(30_000);
    const out = p.plan(cands);
    expect(out).toEqual([8, 7, 119, 1, 118, 117, 116, 115, 114, 113]);
    expect(p.tokens).toBeCloseTo(0);
  });

  it("bases the fair age on what the bucket gained in the last interval, the walks' mean cost and how many moved", () => {
    const p = new WalkPlanner({ budget: 0.02, intervalMs: 10_000 });
    const moved = (n: number, costMs: number): WalkCandidate[] => Array.from({ length: n }, (_, i) => cand(i, { costMs }));
    // Before any accrue: budget x interval (200 ms).
    expect(p.fairAgeMs(moved(10, 124))).toBe(70_000);
    // 50 ms spent elsewhere: 150 ms an interval.
    p.accrue(10_000, 50);
    expect(p.fairAgeMs(moved(10, 124))).toBe(90_000);
    expect(p.fairAgeMs(moved(1, 10))).toBe(10_000);
    expect(p.fairAgeMs([])).toBe(Infinity);
  });

  it("keeps every moved namespace's wait bounded: one that moved a little is walked in turn with steadily churning ones", () => {
    // Two walks per interval (1% at 10 s, 50 ms each) for six namespaces that churn 100
    // transitions per interval and one that moved by 20 once. With movement x age the churners'
    // priority grows with the square of their age and the seventh waited more than 40 intervals.
    const p = new WalkPlanner({ budget: 0.01, intervalMs: 10_000 });
    const walkedAt = new Map(Array.from({ length: 7 }, (_, k) => [k, 0]));
    let littleWalkedAt: number | null = null;
    let churnMaxAge = 0;
    for (let t = 1; t <= 20; t++) {
      p.accrue(10_000, 0);
      const cands = [...walkedAt].map(([key, at]) => cand(key, { costMs: 50, ageMs: (t - at) * 10_000, movement: key === 6 ? 20 : 100 * (t - at) }));
      for (const c of cands) if (c.key !== 6) churnMaxAge = Math.max(churnMaxAge, c.ageMs);
      const out = p.plan(cands);
      expect(out).toHaveLength(2);
      for (const key of out) walkedAt.set(key, t);
      if (littleWalkedAt === null && out.includes(6)) littleWalkedAt = t;
    }
    expect(littleWalkedAt).not.toBeNull();
    expect(littleWalkedAt).toBeLessThanOrEqual(8);
    // The churners still go round: none waits more than 4 intervals.
    expect(churnMaxAge).toBeLessThanOrEqual(40_000);
  });

  it('walks every moved namespace within its turn when the budget is tight, however unevenly they move', () => {
    // 1% of a core at 10 s (100 ms an interval) buys 1.6 walks of 62.5 ms: ten moved namespaces,
    // five churning 1,000 transitions an interval and five moving 2, take ceil(10 / 1.6) = 7
    // intervals to walk once each. Ordered by age x log2(2 + movement) alone, a slow one waited
    // 13 intervals (130 s); now none waits more than its turn, and the slack still goes to the
    // ones that move most.
    const p = new WalkPlanner({ budget: 0.01, intervalMs: 10_000 });
    const walkedAt = new Map(Array.from({ length: 10 }, (_, k) => [k, 0]));
    const rate = (key: number): number => (key < 5 ? 1000 : 2);
    let maxAge = 0;
    let walks = 0;
    const perKey = new Map<number, number>();
    for (let t = 1; t <= 60; t++) {
      p.accrue(10_000, 0);
      const cands = [...walkedAt].map(([key, at]) => cand(key, { costMs: 62.5, ageMs: (t - at) * 10_000, movement: rate(key) * (t - at) }));
      const out = p.plan(cands);
      for (const key of out) {
        walkedAt.set(key, t);
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
      }
      walks += out.length;
      // The age each entry shows after this interval's walks.
      for (const at of walkedAt.values()) maxAge = Math.max(maxAge, (t - at) * 10_000);
    }
    expect(walks).toBe(96);
    expect(maxAge).toBeLessThanOrEqual(60_000);
    expect(maxAge).toBeGreaterThanOrEqual(50_000);
    const heavy = [0, 1, 2, 3, 4].map((k) => perKey.get(k) ?? 0);
    const light = [5, 6, 7, 8, 9].map((k) => perKey.get(k) ?? 0);
    expect(Math.min(...heavy)).toBeGreaterThanOrEqual(Math.max(...light));
    expect(heavy.reduce((a, b) => a + b)).toBeGreaterThan(light.reduce((a, b) => a + b));
  });

  it('walks never-walked and jumped namespaces at once, into debt down to one bucket', () => {
    const p = new WalkPlanner({ budget: 0.01, intervalMs: 10_000 });
    // Bucket: 6 intervals x 100 ms = 600 ms; debt allowed down to -600 ms.
    const urgent = Array.from({ length: 200 }, (_, i) => cand(i, { neverWalked: i < 100, jumped: i >= 100, movement: i }));
    const out = p.plan([cand(999, { movement: 1e6 }), ...urgent]);
    expect(out.length).toBe(60);
    // Never-walked first, then jumps by movement.
    expect(out.slice(0, 60).every((k) => k < 100)).toBe(true);
    expect(out).not.toContain(999);
    expect(p.tokens).toBeCloseTo(-600);
    // Next interval: still in debt, nothing urgent fits until it is paid back, moved ones wait.
    p.accrue(10_000, 0);
    expect(p.plan([cand(5, { jumped: true }), cand(6)])).toEqual([5]);
  });

  it('accrues budget x elapsed less what the interval spent elsewhere, never less than half, capped at six intervals', () => {
    const p = new WalkPlanner({ budget: 0.02, intervalMs: 10_000 });
    p.accrue(10_000, 50);
    expect(p.tokens).toBeCloseTo(150);
    p.accrue(10_000, 1000);
    expect(p.tokens).toBeCloseTo(250);
    for (let i = 0; i < 20; i++) p.accrue(10_000, 0);
    expect(p.tokens).toBeCloseTo(1200);
  });

  it('settles estimates against what the walks cost', () => {
    const p = new WalkPlanner({ budget: 0.01, intervalMs: 10_000 });
    p.accrue(10_000, 0);
    p.plan([cand(1, { costMs: 40 })]);
    expect(p.tokens).toBeCloseTo(60);
    p.settle(40, 55);
    expect(p.tokens).toBeCloseTo(45);
    p.reset();
    expect(p.tokens).toBe(0);
  });
});
