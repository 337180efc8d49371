/**
 * One heartbeat timer for every session (ingest/heartbeat.ts) instead of a setInterval each:
 * every session is still beaten once a heartbeat, the beats are spread over the heartbeat (one
 * group of sessions per tick, not 10,000 pings in one burst), a session that closes during a sweep
 * leaves it at once, and an upgraded socket lets go of the idle timer it no longer uses (a cleared
 * one only). Real timers and real loopback sockets. Sessions of the real server on the sweep
 * (pings once a heartbeat, a silent agent closed within two): test/collector/paused-heartbeat.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeartbeatSweep, SLICES } from '../../packages/collector/src/ingest/heartbeat.js';
import { dropIdleTimer } from '../../packages/collector/src/ingest/server.js';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { waitFor } from '../helpers/procs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HeartbeatSweep', () => {
  it('beats each member once a heartbeat, one group per tick, and drops a member deleted during its own beat', async () => {
    const EVERY = 320;
    const N = 3 * SLICES;
    const sweep = new HeartbeatSweep(EVERY);
    cleanups.push(() => sweep.stop());
    const beats: number[][] = Array.from({ length: N }, () => []);
    /** The members beaten in one synchronous sweep (a tick), in order. */
    const ticks: number[][] = [];
    let current: number[] | null = null;
    const record = (i: number): void => {
      if (current === null) {
        current = [];
        ticks.push(current);
        queueMicrotask(() => {
          current = null;
        });
      }
      current.push(i);
      beats[i]!.push(performance.now());
    };
    // Member 0 closes on its second beat (as a session terminated by its beat does).
    const members = Array.from({ length: N }, (_, i) => ({
      beat: (): void => {
        record(i);
        if (i === 0 && beats[0]!.length === 2) sweep.delete(members[0]!);
      },
    }));
    for (const m of members) sweep.add(m);
    sweep.add(members[1]!); // added twice: still one member
    expect(sweep.size).toBe(N);

    await waitFor(() => beats.every((b, i) => i === 0 || b.length >= 4), 'four beats of every member', 20_000, 10);
    sweep.stop();
    // Member 0 was beaten twice, then left the sweep; the member after it in its group was still beaten.
    expect(beats[0]).toHaveLength(2);
    expect(sweep.size).toBe(N - 1);
    // One group per tick: never more than N / SLICES members in one sweep.
    expect(Math.max(...ticks.map((t) => t.length))).toBeLessThanOrEqual(N / SLICES);
    // The first beats were spread over the heartbeat: at least one tick per group.
    const firstRound = ticks.slice(0, SLICES).flat();
    expect(new Set(firstRound).size).toBe(N);
    // Never beaten twice within a heartbeat (Node timers do not fire early; 5 ms for rounding).
    for (const b of beats) for (let k = 1; k < b.length; k++) expect(b[k]! - b[k - 1]!).toBeGreaterThanOrEqual(EVERY - 5);
  });
});

describe('dropIdleTimer', () => {
  it("drops a socket's cleared idle timer and leaves an armed one firing", async () => {
    const server = createServer();
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => resolve(c));
        c.on('error', reject);
        cleanups.push(() => void c.destroy());
      });
    const timerOf = (s: Socket): unknown => {
      const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'timeout');
      return key === undefined ? undefined : (s as unknown as Record<symbol, unknown>)[key];
    };

    // Cleared (as ws does on upgrade): Node keeps the Timeout; dropIdleTimer lets go of it.
    const cleared = await open();
    cleared.setTimeout(10_000);
    cleared.setTimeout(0);
    expect(timerOf(cleared)).toBeTypeOf('object');
    dropIdleTimer(cleared);
    expect(timerOf(cleared)).toBeNull();

    // Armed: kept, and it still fires.
    const armed = await open();
    let timedOut = false;
    armed.setTimeout(50, () => {
      timedOut = true;
    });
    dropIdleTimer(armed);
    expect(timerOf(armed)).not.toBeNull();
    await waitFor(() => timedOut, 'the armed idle timer to fire', 5000, 10);
  });
});
