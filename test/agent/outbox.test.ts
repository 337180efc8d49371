import { describe, expect, it } from 'vitest';
import { MemoryStore, Outbox } from '../../packages/agent/src/uplink/outbox.js';
import { Backoff } from '../../packages/agent/src/uplink/backoff.js';
import { fixtureSnapshot } from '../helpers/snapshots.js';

describe('outbox', () => {
  it('forgets a snapshot only when its batch is acknowledged', () => {
    const o = new Outbox(new MemoryStore(10));
    for (let i = 1; i <= 5; i++) o.push(fixtureSnapshot({ seq: i }));
    expect(o.take(1, 3).map((s) => s.seq)).toEqual([1, 2, 3]);
    expect(o.take(2, 3).map((s) => s.seq)).toEqual([4, 5]);
    o.retryAll(); // connection lost: both batches are unsent again
    expect(o.size).toBe(5);
    expect(o.take(3, 2).map((s) => s.seq)).toEqual([1, 2]);
    expect(o.ack(3)).toBe(2);
    expect(o.size).toBe(3);
    expect(o.take(4, 10).map((s) => s.seq)).toEqual([3, 4, 5]);
  });

  it('drops the oldest when full, counts it and declares one contiguous gap', () => {
    const o = new Outbox(new MemoryStore(3));
    for (let i = 1; i <= 7; i++) o.push(fixtureSnapshot({ seq: i }));
    expect(o.size).toBe(3);
    expect(o.dropped).toBe(4);
    expect(o.gaps).toEqual([{ boot: '0123456789abcdef', from_seq: 1, to_seq: 4, count: 4, ts: 1_795_000_001_000 }]);
    expect(o.take(1, 10).map((s) => s.seq)).toEqual([5, 6, 7]);
    o.gapDeclared(o.gaps[0]!);
    expect(o.gaps).toEqual([]);
  });

  it('a retryable refusal puts the batch back; a permanent one drops it', () => {
    const o = new Outbox(new MemoryStore(10));
    for (let i = 1; i <= 4; i++) o.push(fixtureSnapshot({ seq: i }));
    o.take(1, 2);
    o.retry(1);
    expect(o.take(2, 2).map((s) => s.seq)).toEqual([1, 2]);
    expect(o.reject(2)).toBe(2);
    expect(o.take(3, 10).map((s) => s.seq)).toEqual([3, 4]);
  });
});

describe('backoff with full jitter', () => {
  it('widens the window up to the cap and starts again after reset', () => {
    const draws = [1, 1, 1, 1, 1, 1, 1, 1];
    const b = new Backoff(100, 1000, () => draws.shift() ?? 1);
    const seen = [b.next(), b.next(), b.next(), b.next(), b.next()];
    expect(seen).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });
  it('spreads delays over the whole window', () => {
    const b = new Backoff(1000, 60_000);
    for (let i = 0; i < 6; i++) b.next();
    const delays = Array.from({ length: 2000 }, () => b.next());
    expect(Math.min(...delays)).toBeLessThan(10_000);
    expect(Math.max(...delays)).toBeGreaterThan(50_000);
  });
});
