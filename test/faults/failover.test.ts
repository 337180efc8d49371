/**
 * Issue 11 item 4: an agent given two collectors fails over when the one it is on dies. A real
 * agent (`--collector ws://DEAD,ws://A,ws://B`, DEAD a loopback port nobody listens on) and two
 * real collectors on loopback, each with its own SQLite file: the agent passes over DEAD to A;
 * kill -9 of the collector the agent is on (by its PID) moves the agent to the other
 * within a bounded time; the first comes back on its port and the agent stays where it is; kill -9
 * of the second moves it back to the first. Afterwards every seq the agent produced is in the
 * union of the two databases, neither database holds a key twice, and a seq stored in both is a
 * batch the killed collector committed but could not acknowledge (resent to the other).
 *
 * A second case makes that resend happen on purpose: both collectors cut the connection instead
 * of acknowledging every 4th commit (test/helpers/fault-collector.mjs), so the agent bounces
 * between them and resends each unacknowledged batch to the other: those seqs are stored once in
 * each database, and the union still has no hole.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BIN, killAll, startCollector, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import { REPO } from '../helpers/fixtures.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { integrity, query, report } from '../helpers/checker.js';
import { freePort } from '../helpers/webhook.js';

const HOST = 'failover-1';
const TOKEN = 'test-fleet-token-0123456789';

/** The seqs stored for HOST in one database, and its row count against distinct keys. */
function stored(db: string): { boots: Set<string>; seqs: number[]; rows: number; distinct: number } {
  const rows = query<{ boot: string; seq: number }>(db, 'SELECT b.boot, s.seq FROM snapshots s JOIN hosts h ON h.id = s.host_id JOIN boots b ON b.id = s.boot_id WHERE h.name = ?', HOST);
  return { boots: new Set(rows.map((r) => r.boot)), seqs: rows.map((r) => r.seq), rows: rows.length, distinct: new Set(rows.map((r) => `${r.boot} ${r.seq}`)).size };
}
/** A collector (test/helpers/fault-collector.mjs) that cuts the connection instead of acknowledging every n-th commit. */
const startLossyCollector = (dir: string, n: number): Promise<Collector> =>
  startCollector(dir, [], TOKEN, '127.0.0.1:0', [join(REPO, 'test/helpers/fault-collector.mjs'), '--drop-ack-every', String(n), '--']);

/** Starts the agent on a list of collectors. */
function startAgent(collectors: readonly string[], tokenFile: string): Proc {
  return startProc(process.execPath, [
    AGENT_BIN,
    '--collector',
    collectors.join(','),
    '--token-file',
    tokenFile,
    '--host-id',
    HOST,
    '--interval',
    '0.2',
    '--reconnect-min',
    '0.1',
    '--reconnect-max',
    '1',
  ]);
}

/** The seqs 1..last missing from the union of the databases. */
function holesIn(last: number, ...lists: number[][]): number[] {
  const union = new Set(lists.flat());
  const holes: number[] = [];
  for (let s = 1; s <= last; s++) if (!union.has(s)) holes.push(s);
  return holes;
}

const maxSeq = (db: string): number => query<{ m: number | null }>(db, 'SELECT max(s.seq) AS m FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', HOST)[0]?.m ?? 0;

describe('agent with two collectors', () => {
  const tmp = tempDir('failover');
  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('moves to the other collector when its collector is killed, stays there, and its history has no hole', async () => {
    const dirA = join(tmp.dir, 'a');
    const dirB = join(tmp.dir, 'b');
    mkdirSync(dirA);
    mkdirSync(dirB);
    let a: Collector = await startCollector(dirA, [], TOKEN);
    const b: Collector = await startCollector(dirB, [], TOKEN);
    const portA = a.port;
    const dead = `ws://127.0.0.1:${await freePort()}`; // bound and released: nobody listens there
    const tokenFile = join(tmp.dir, 'agent.token');
    writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
    const agent = startAgent([dead, a.wsUrl, b.wsUrl], tokenFile);
    /** The collector URL of each 'connected to collector' line from `since` (ms) on. */
    const connects = (since = 0): string[] =>
      agent
        .logs()
        .filter((l) => l['msg'] === 'connected to collector' && Number(l['time']) >= since)
        .map((l) => String(l['collector']));

    // 1. DEAD, the first of the list, refuses: on to A, storing.
    await waitFor(() => connects().length > 0, 'agent connected');
    expect(connects()).toEqual([a.wsUrl]);
    expect(agent.logs().some((l) => l['msg'] === 'cannot reach collector' && l['collector'] === dead && l['next'] === a.wsUrl)).toBe(true);
    await waitFor(() => maxSeq(a.db) >= 20, 'A stored 20 snapshots');

    // 2. kill -9 of A: the agent is on B within a bounded time and B stores what follows.
    const killedA = Date.now();
    a.proc.kill('SIGKILL');
    await a.exited;
    await waitFor(() => connects(killedA).includes(b.wsUrl), 'agent moved to B', 10_000, 20);
    const movedMs = Number(agent.logs().find((l) => l['msg'] === 'connected to collector' && l['collector'] === b.wsUrl)?.['time']) - killedA;
    const lastOnA = maxSeq(a.db);
    await waitFor(() => maxSeq(b.db) >= lastOnA + 20, 'B stored 20 snapshots after the failover');

    // 3. A comes back on its port: the agent stays on B (it goes back to no collector in particular).
    const restartedA = Date.now();
    a = await startCollector(dirA, [], TOKEN, `127.0.0.1:${portA}`);
    const onBWhenARestarted = maxSeq(b.db);
    await waitFor(() => maxSeq(b.db) >= onBWhenARestarted + 10, 'B stored 10 more snapshots with A back');
    expect(connects(restartedA)).toEqual([]);

    // 4. kill -9 of B: round-robin passes over DEAD and brings the agent back to A.
    const killedB = Date.now();
    b.proc.kill('SIGKILL');
    await b.exited;
    await waitFor(() => connects(killedB).includes(a.wsUrl), 'agent moved back to A', 10_000, 20);
    const backMs = Number(agent.logs().find((l) => l['msg'] === 'connected to collector' && Number(l['time']) >= killedB)?.['time']) - killedB;
    const lastOnB = maxSeq(b.db);
    await waitFor(() => maxSeq(a.db) >= lastOnB + 20, 'A stored 20 snapshots after the second failover');

    await stopProc(agent);
    await stopProc(a);
    const stop = agent.logs().find((l) => l['msg'] === 'agent stopped') ?? {};
    const lastSeq = Number(stop['lastSeq']);
    const sa = stored(a.db);
    const sb = stored(b.db);
    const union = new Set([...sa.seqs, ...sb.seqs]);
    const inBoth = sa.seqs.filter((s) => sb.seqs.includes(s));
    const holes = holesIn(lastSeq, sa.seqs, sb.seqs);
    report('failover: agent with two collectors, each killed once', {
      lastSeq,
      storedA: sa.rows,
      storedB: sb.rows,
      inBoth: inBoth.length,
      holes: holes.length,
      failoverMs: movedMs,
      failbackMs: backMs,
      unsent: stop['unsent'],
      dropped: stop['dropped'],
    });
    // One boot, no key stored twice in one database, no hole in the union.
    expect(new Set([...sa.boots, ...sb.boots])).toEqual(new Set([String(stop['boot'])]));
    expect(sa.rows).toBe(sa.distinct);
    expect(sb.rows).toBe(sb.distinct);
    expect(stop['dropped']).toBe(0);
    expect(stop['unsent']).toBe(0);
    expect(lastSeq).toBeGreaterThanOrEqual(60);
    expect(holes).toEqual([]);
    expect(Math.max(...union)).toBe(lastSeq);
    // Only batches in flight at a kill can be in both (the agent keeps at most 4 batches of up to 64 in flight).
    expect(inBoth.length).toBeLessThanOrEqual(2 * 4 * 64);
    expect(movedMs).toBeLessThan(5000);
    expect(backMs).toBeLessThan(5000);
    expect(integrity(a.db)).toBe('ok');
    expect(integrity(b.db)).toBe('ok');
    // The collector's session lines carry the session, the address and the agent (host, boot).
    const welcomed = b.logs().find((l) => l['msg'] === 'agent connected');
    expect(welcomed).toMatchObject({ addr: '127.0.0.1', agent: { host: HOST, boot: String(stop['boot']) } });
    expect(typeof welcomed?.['session']).toBe('number');
    // The agent's log says which collector it left and which it goes to next.
    expect(agent.logs().some((l) => l['msg'] === 'disconnected from collector' && l['collector'] === a.wsUrl && l['next'] === b.wsUrl)).toBe(true);
  });

  it('resends a batch its collector committed but did not acknowledge to the other: stored once in each, no hole', async () => {
    const dirA = join(tmp.dir, 'la');
    const dirB = join(tmp.dir, 'lb');
    mkdirSync(dirA);
    mkdirSync(dirB);
    const a = await startLossyCollector(dirA, 4);
    const b = await startLossyCollector(dirB, 4);
    const tokenFile = join(tmp.dir, 'agent2.token');
    writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
    const agent = startAgent([a.wsUrl, b.wsUrl], tokenFile);
    const cuts = (): number => agent.logs().filter((l) => l['msg'] === 'disconnected from collector').length;
    await waitFor(() => cuts() >= 6 && maxSeq(a.db) > 0 && maxSeq(b.db) > 0, 'six lost acknowledgements, both collectors used', 60_000);
    await stopProc(agent);
    await stopProc(a);
    await stopProc(b);
    const stop = agent.logs().find((l) => l['msg'] === 'agent stopped') ?? {};
    const lastSeq = Number(stop['lastSeq']);
    const sa = stored(a.db);
    const sb = stored(b.db);
    const inBoth = sa.seqs.filter((s) => sb.seqs.includes(s)).length;
    // Stopped while bouncing, the agent may still hold its newest snapshots (perhaps stored, not acknowledged).
    const unsent = Number(stop['unsent']);
    const holes = holesIn(lastSeq - unsent, sa.seqs, sb.seqs);
    report('failover: lost acknowledgements on both collectors', { lastSeq, storedA: sa.rows, storedB: sb.rows, inBoth, holes: holes.length, cuts: cuts(), unsent });
    expect(sa.rows).toBe(sa.distinct);
    expect(sb.rows).toBe(sb.distinct);
    expect(holes).toEqual([]);
    expect(stop['dropped']).toBe(0);
    expect(unsent).toBeLessThanOrEqual(25); // at most 5 s of snapshots (interval 0.2 s)
    // Each cut left a committed batch unacknowledged: the agent resent it to the other collector.
    expect(inBoth).toBeGreaterThan(0);
    expect(Math.max(...sa.seqs, ...sb.seqs)).toBeLessThanOrEqual(lastSeq);
  });
});
