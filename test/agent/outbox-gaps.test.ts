/**
 * The outbox's gap bookkeeping: consecutive drops merge into one gap until that gap is sent;
 * after that, new drops open a new gap, so acknowledging the sent one never retires drops that
 * were not in it.
 */
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '@tcpfleet/common';
import { MemoryStore, Outbox } from '../../packages/agent/src/uplink/outbox.js';

const BOOT = '0123abcd-0000-4000-8000-000000000002';
const snap = (seq: number): Snapshot => ({ host: 'h', ts: seq, seq, boot: BOOT }) as unknown as Snapshot;

describe('outbox gaps', () => {
  it('merges consecutive drops into one gap', () => {
    const ob = new Outbox(new MemoryStore(2));
    for (let i = 1; i <= 6; i++) ob.push(snap(i));
    expect(ob.gaps).toEqual([{ boot: BOOT, from_seq: 1, to_seq: 4, count: 4, ts: 1 }]);
    expect(ob.dropped).toBe(4);
  });

  it('does not extend a gap that was sent; its acknowledgement leaves later drops declared', () => {
    const ob = new Outbox(new MemoryStore(2));
    for (let i = 1; i <= 4; i++) ob.push(snap(i));
    const sent = ob.gaps[0]!;
    ob.gapSent(sent);
    ob.push(snap(5));
    ob.push(snap(6));
    expect(sent).toMatchObject({ from_seq: 1, to_seq: 2 });
    ob.gapDeclared(sent);
    expect(ob.gaps).toEqual([{ boot: BOOT, from_seq: 3, to_seq: 4, count: 2, ts: 3 }]);
  });

  it('sends the newest snapshot alone first, then the backlog oldest first', () => {
    const ob = new Outbox(new MemoryStore(100));
    for (let i = 1; i <= 5; i++) ob.push(snap(i));
    expect(ob.takeNewest(1).map((s) => s.seq)).toEqual([5]);
    expect(ob.takeNewest(2)).toEqual([]);
    expect(ob.take(3, 10).map((s) => s.seq)).toEqual([1, 2, 3, 4]);
    expect(ob.unsent).toBe(0);
  });
});
