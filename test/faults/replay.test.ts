/**
 * Replay after a reconnect is rate-limited and does not starve live data: an agent starts on a
 * spool holding 2,000 snapshots of an earlier boot. Its newest live snapshots are stored while
 * the backlog is still draining, and the backlog drains no faster than the replay limit
 * (500 snapshots/s), in seq order under its original boot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DiskSpool } from '../../packages/agent/src/uplink/spool.js';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';
import { snapshot } from '../helpers/wire.js';
import type { Snapshot } from '@tcpfleet/common';
import { integrity, query, report, seqHoles } from '../helpers/checker.js';

const OLD_BOOT = '0ld0b00t-0000-4000-8000-000000000000'.replace(/[^0-9a-f-]/g, '0');
const BACKLOG = 2000;

describe('replay after reconnect', () => {
  const tmp = tempDir('replay');
  let c: Collector;

  beforeAll(async () => {
    const spool = new DiskSpool({ dir: join(tmp.dir, 'spool'), maxBytes: 64 * 1024 * 1024, memoryMax: 100 });
    const t0 = Date.now() - 3_600_000;
    for (let i = 1; i <= BACKLOG; i++) spool.append({ ...snapshot('replay', i, OLD_BOOT), ts: t0 + i * 1000 } as unknown as Snapshot);
    spool.close();
    c = await startCollector(tmp.dir);
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('stores live snapshots while the backlog drains at its capped rate', async () => {
    const a = startAgent(c, tmp.dir, ['--host-id', 'replay', '--spool-dir', join(tmp.dir, 'spool')]);
    const oldRows = (): { n: number; first: number | null; last: number | null } =>
      query<{ n: number; first: number | null; last: number | null }>(
        c.db,
        `SELECT count(*) AS n, min(s.recv_ts) AS first, max(s.recv_ts) AS last FROM snapshots s JOIN boots b ON b.id = s.boot_id WHERE b.boot = ?`,
        OLD_BOOT,
      )[0]!;
    await waitFor(() => oldRows().n === BACKLOG, 'backlog drained', 60_000).catch((e: unknown) => {
      console.log(JSON.stringify(oldRows()), a.stderr().slice(0, 3000), c.stderr().slice(-3000));
      throw e;
    });
    const live = query<{ first: number }>(
      c.db,
      `SELECT min(s.recv_ts) AS first FROM snapshots s JOIN hosts h ON h.id = s.host_id JOIN boots b ON b.id = s.boot_id WHERE h.name = 'replay' AND b.boot <> ?`,
      OLD_BOOT,
    )[0]!;
    const o = oldRows();
    const drainMs = (o.last ?? 0) - (o.first ?? 0);
    await stopProc(a);
    await stopProc(c);
    const holes = seqHoles(c.db, 'replay');
    report('replay rate', {
      backlog: BACKLOG,
      drain_ms: drainMs,
      rate_per_s: Math.round((BACKLOG / Math.max(1, drainMs)) * 1000),
      first_live_before_backlog_end_ms: (o.last ?? 0) - live.first,
      integrity: integrity(c.db),
    });
    // The first live snapshot was stored before the backlog finished.
    expect(live.first).toBeLessThan(o.last ?? 0);
    // No faster than 500/s (plus the first bucket of 500): 2,000 take at least about 3 s.
    expect(drainMs).toBeGreaterThanOrEqual(2500);
    expect(holes.find((b) => b.boot === OLD_BOOT)?.holes).toEqual([]);
    expect(integrity(c.db)).toBe('ok');
  });
});
