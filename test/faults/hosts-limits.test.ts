/**
 * Issue 14, finding 6, with a real collector and real agents: `serve --max-hosts` refuses new
 * hosts beyond it (4008, nothing stored) while known hosts keep reconnecting; `tcpfleet host rm`
 * removes a host's latest row (history kept) or with --purge everything about it, and the running
 * collector forgets it within one poll (which frees its place under --max-hosts); a purged host
 * whose agent still runs comes back without a failed commit; `serve --forget-after` forgets hosts
 * silent for longer, keeping their history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { hello, wsSession } from '../helpers/wire.js';
import { getJson } from '../helpers/http.js';
import { query, report } from '../helpers/checker.js';

const count = (db: string, sql: string, ...params: unknown[]): number => query<{ n: number }>(db, sql, ...params)[0]?.n ?? 0;
const rowsOf = (db: string, host: string): number => count(db, 'SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host);
const latestOf = (db: string, host: string): number => count(db, 'SELECT count(*) AS n FROM latest l JOIN hosts h ON h.id = l.host_id WHERE h.name = ?', host);
const listed = async (c: Collector): Promise<string[]> => (await getJson<{ host: string }[]>(`${c.url}/api/v1/hosts`)).map((h) => h.host);

describe('--max-hosts and tcpfleet host rm', () => {
  const tmp = tempDir('maxhosts');
  let c: Collector;
  const agents = new Map<string, Proc>();
  const figures: Record<string, unknown> = {};
  const run = (host: string): Proc => {
    const a = startAgent(c, tmp.dir, ['--host-id', host]);
    agents.set(host, a);
    return a;
  };

  beforeAll(async () => {
    c = await startCollector(tmp.dir, ['--heartbeat', '1s', '--max-hosts', '3']);
    for (const h of ['m1', 'm2', 'm3']) run(h);
    await waitFor(() => ['m1', 'm2', 'm3'].every((h) => rowsOf(c.db, h) >= 2), 'three hosts stored');
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('a fourth host is refused with 4008 and nothing of it is stored; a known host reconnects', async () => {
    const o = await wsSession(c.wsUrl, c.token, (ws) => ws.send(hello('m4')));
    figures['fourth host'] = { code: o.code, reason: o.reason };
    expect(o.code).toBe(4008);
    const m5 = run('m5');
    await waitFor(() => m5.logs().some((l) => l['code'] === 4008), 'a real agent for a fifth host refused with 4008');
    expect(count(c.db, "SELECT count(*) AS n FROM hosts WHERE name IN ('m4', 'm5')")).toBe(0);
    // A known host is not new: its agent restarts and stores again.
    await stopProc(agents.get('m1')!);
    const before = rowsOf(c.db, 'm1');
    run('m1');
    await waitFor(() => rowsOf(c.db, 'm1') >= before + 2, 'm1 back after a restart');
  });

  it('host rm: latest row gone, history kept, the collector forgets it within a poll, and its place goes to a new host', async () => {
    await stopProc(agents.get('m2')!);
    const history = rowsOf(c.db, 'm2');
    const r = cli(['host', 'rm', 'm2', '--db', c.db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(latestOf(c.db, 'm2')).toBe(0);
    expect(rowsOf(c.db, 'm2')).toBe(history);
    const t0 = Date.now();
    await waitFor(async () => !(await listed(c)).includes('m2'), 'm2 forgotten by the running collector', 10_000);
    figures['rm to forgotten ms'] = Date.now() - t0;
    // m5's agent, retrying, now gets the freed place.
    await waitFor(() => rowsOf(c.db, 'm5') >= 2, 'm5 admitted once m2 left', 20_000);
    expect((await listed(c)).sort()).toEqual(['m1', 'm3', 'm5']);
  });

  it('host rm --purge: everything about a stopped host is deleted; a purged host whose agent still runs comes back without a failed commit', async () => {
    await stopProc(agents.get('m1')!);
    const p = cli(['host', 'rm', 'm1', '--purge', '--json', '--db', c.db]);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ host: 'm1', purged: true, deleted: { latest: 1 } });
    expect(count(c.db, "SELECT count(*) AS n FROM hosts WHERE name = 'm1'")).toBe(0);
    expect(count(c.db, 'SELECT count(*) AS n FROM snapshots s LEFT JOIN hosts h ON h.id = s.host_id WHERE h.id IS NULL')).toBe(0);
    expect(count(c.db, 'SELECT count(*) AS n FROM boots b LEFT JOIN hosts h ON h.id = b.host_id WHERE h.id IS NULL')).toBe(0);
    await waitFor(async () => !(await listed(c)).includes('m1'), 'm1 forgotten', 10_000);

    // m3's agent keeps running through its purge: its old rows go, new ones arrive under a new id.
    const seqAtPurge = query<{ m: number }>(c.db, "SELECT max(s.seq) AS m FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'm3'")[0]?.m ?? 0;
    const q = cli(['host', 'rm', 'm3', '--purge', '--db', c.db]);
    expect(q.code, q.stderr).toBe(0);
    await waitFor(() => count(c.db, "SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'm3' AND s.seq > ?", seqAtPurge) >= 2, 'm3 stores again after its purge');
    expect(count(c.db, "SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'm3' AND s.seq <= ?", seqAtPurge)).toBe(0);
    expect(count(c.db, 'SELECT count(*) AS n FROM snapshots s LEFT JOIN boots b ON b.id = s.boot_id WHERE b.id IS NULL')).toBe(0);
    expect(c.logs().filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('commit failed'))).toEqual([]);
    await waitFor(async () => (await listed(c)).includes('m3'), 'm3 listed again');
  });

  it('host rm of an unknown or invalid host: one line, non-zero exit', () => {
    const none = cli(['host', 'rm', 'nosuch', '--db', c.db]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain('no host nosuch');
    const bad = cli(['host', 'rm', 'a b', '--db', c.db]);
    expect(bad.code).toBe(2);
    report('issue 14 max hosts and host rm', figures);
  });
});

describe('--forget-after', () => {
  const tmp = tempDir('forget');
  let c: Collector;

  beforeAll(async () => {
    c = await startCollector(tmp.dir, ['--heartbeat', '1s', '--forget-after', '3s']);
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('a host silent for longer is forgotten (latest row gone, history kept); a live one stays', async () => {
    const quiet = startAgent(c, tmp.dir, ['--host-id', 'quiet']);
    startAgent(c, tmp.dir, ['--host-id', 'live']);
    await waitFor(() => rowsOf(c.db, 'quiet') >= 2 && rowsOf(c.db, 'live') >= 2, 'both stored');
    await stopProc(quiet);
    const stoppedAt = Date.now();
    const history = rowsOf(c.db, 'quiet');
    await waitFor(async () => !(await listed(c)).includes('quiet'), 'quiet forgotten', 20_000);
    const ms = Date.now() - stoppedAt;
    report('issue 14 forget-after', { forget_after: '3s', forgotten_after_ms: ms });
    expect(ms).toBeGreaterThanOrEqual(2500);
    expect(latestOf(c.db, 'quiet')).toBe(0);
    expect(rowsOf(c.db, 'quiet')).toBe(history);
    expect(await listed(c)).toEqual(['live']);
    expect(latestOf(c.db, 'live')).toBe(1);
  });
});
