/**
 * R11, R13: storage trouble under load. (a) Another process holds the write lock
 * (BEGIN IMMEDIATE through sqlite3) for longer than busy_timeout: batches are refused as
 * retryable (SQLITE_BUSY), never acknowledged falsely, and all arrive once the lock is gone.
 * (b) The database's filesystem (a tmpfs) fills up: SQLITE_FULL is a retryable refusal, the
 * collector stays up, and ingest resumes by itself once space is freed. Afterwards nothing
 * acknowledged is missing and integrity_check is ok.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canNetns, removeAllNetns } from '../helpers/netns.js';
import { killAll, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { addLeaf, makeHub, simStatus, startNsAgent, startNsCollector, startSimulator } from '../helpers/topology.js';
import type { NsCollector } from '../helpers/topology.js';
import { checkAcked, integrity, memKb, report, seqHoles } from '../helpers/checker.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: fault tests cannot be skipped there');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!root)('R11/R13 busy and full database', () => {
  const tmp = tempDir('storage');
  const mnt = join(tmp.dir, 'dbfs');
  let collector: NsCollector;
  let agent: Proc;
  let sim: ReturnType<typeof startSimulator>;

  beforeAll(async () => {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mnt]);
    const hub = makeHub();
    collector = await startNsCollector(hub, mnt, ['--heartbeat', '1s']);
    agent = startNsAgent(addLeaf(hub, 1).ns, tmp.dir, 'store-real', ['--interval', '0.2', '--reconnect-min', '0.2', '--reconnect-max', '1']);
    sim = startSimulator(addLeaf(hub, 10).ns, tmp.dir, 'sim', 50, ['--interval-ms', '200', '--reconnect-min-ms', '200', '--reconnect-max-ms', '2000']);
    await waitFor(() => (simStatus(sim.statusFile)?.acked ?? 0) > 200, 'simulator acked', 30_000);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // not mounted
    }
    tmp.cleanup();
  });

  const nacks = (code: string): number => collector.logs().filter((l) => l['msg'] === 'commit failed; batches refused as retryable' && JSON.stringify(l).includes(code)).length;

  it('(a) a write lock held for 8 s: retryable refusals, then everything arrives', async () => {
    const holder = spawn('sqlite3', [collector.db], { stdio: ['pipe', 'ignore', 'ignore'] });
    holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO layouts (fields) VALUES ('lock-holder');\n");
    await sleep(8000);
    holder.stdin.end('ROLLBACK;\n');
    await new Promise((r) => holder.on('exit', r));
    const busy = nacks('SQLITE_BUSY');
    const before = simStatus(sim.statusFile)?.acked ?? 0;
    await waitFor(() => (simStatus(sim.statusFile)?.acked ?? 0) > before + 200, 'acks after the lock', 30_000);
    const stalls = agent.logs().filter((l) => l['msg'] === 'collector unresponsive; reconnecting').length;
    report('R11 busy', { lock_held_ms: 8000, busy_commit_failures: busy, agent_disconnects: stalls, collector_hwm_kb: memKb(collector.pid) });
    expect(busy).toBeGreaterThan(3);
    // The collector keeps answering pings while the database is locked.
    expect(stalls).toBe(0);
    expect(collector.proc.exitCode).toBeNull();
  });

  it('(b) the database filesystem fills up: retryable refusals, no exit, resumes when space returns', async () => {
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with ENOSPC: the disk is full, as intended
    }
    await waitFor(() => nacks('SQLITE_FULL') > 0, 'SQLITE_FULL refusals', 30_000);
    const fullAt = Date.now();
    // Several more commits fail while the disk stays full; the collector must live through them.
    const fullBefore = nacks('SQLITE_FULL');
    await waitFor(() => nacks('SQLITE_FULL') >= fullBefore + 5 || collector.proc.exitCode !== null, 'five more SQLITE_FULL refusals', 30_000);
    const health = collector.proc.exitCode;
    rmSync(filler);
    const freedAt = Date.now();
    const before = simStatus(sim.statusFile)?.acked ?? 0;
    await waitFor(() => (simStatus(sim.statusFile)?.acked ?? 0) > before + 200, 'acks after space returned', 60_000);
    const recoverMs = Date.now() - freedAt;
    await waitFor(() => simStatus(sim.statusFile)?.ready === 50, 'sessions ready', 30_000);
    await stopProc(sim);
    await stopProc(agent);
    await stopProc(collector);
    const f = checkAcked(sim.sideLog, collector.db);
    const holes = seqHoles(collector.db, 'store-real').reduce((n, b) => n + b.holes.length, 0);
    report('R13 disk full', {
      full_commit_failures: nacks('SQLITE_FULL'),
      full_for_ms: freedAt - fullAt,
      recover_ms: recoverMs,
      collector_exit_while_full: health,
      lost_acked: f.lostAcked,
      dups: f.dups,
      real_agent_holes: holes,
      integrity: integrity(collector.db),
    });
    expect(health).toBeNull();
    expect(f.lostAcked).toBe(0);
    expect(f.dups).toBe(0);
    expect(holes).toBe(0);
    expect(integrity(collector.db)).toBe('ok');
  });
});
