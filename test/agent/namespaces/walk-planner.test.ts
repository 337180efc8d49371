/**
 * The walk planner's rules, on plain numbers: never-walked and jumped namespaces first (into
 * debt, bounded), moved ones by movement x age while the bucket has room, unmoved ones never;
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

  it('walks moved namespaces by (movement + 1) x age while the bucket has room, and never an unmoved one', () => {
    // 1% of a core at 10 s: 100 ms per interval; walks cost 10 ms each.
    const p = new WalkPlanner({ budget: 0.01, intervalMs: 10_000 });
    p.accrue(10_000, 0);
    expect(p.tokens).toBeCloseTo(100);
    const cands = [...Array.from({ length: 20 }, (_, i) => cand(100 + i, { movement: 0, ageMs: 10_000 * (i + 1) })), cand(1, { movement: 500, ageMs: 10_000 }), cand(2, { moved: false, ageMs: 1e9 })];
    const out = p.plan(cands);
    expect(out).toHaveLength(10);
    expect(out[0]).toBe(1);
    // Then the oldest of the barely moved ones.
    expect(out.slice(1)).toEqual([119, 118, 117, 116, 115, 114, 113, 112, 111]);
    expect(out).not.toContain(2);
    expect(p.tokens).toBeCloseTo(0);
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
