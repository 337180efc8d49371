/**
 * Issue 14, findings 4 and 5, with a real collector and real agents. Rotating a host's token
 * (`token create` on a host that has one, or `token revoke && token create` inside the old 2 s
 * poll) stops the old token's session at once: nothing more of it is stored after the command
 * returns, and it is closed with 4002. The fleet token cannot open a session for a host that has
 * its own token (4007, the real agent is not replaced, its labels stay), and a fleet-token
 * session stops storing the moment its host gets a token of its own; the fleet token keeps
 * working for hosts without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { hello, snapshot, wsSession } from '../helpers/wire.js';
import { query, report } from '../helpers/checker.js';

describe('token rotation and fleet-token limits', () => {
  const tmp = tempDir('rotation');
  let c: Collector;
  const figures: Record<string, unknown> = {};
  const maxSeq = (host: string): number => query<{ m: number | null }>(c.db, 'SELECT max(s.seq) AS m FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0]?.m ?? 0;
  const boots = (host: string): number => query<{ n: number }>(c.db, 'SELECT count(DISTINCT s.boot_id) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0]?.n ?? 0;
  const token = (action: 'create' | 'revoke', host: string): string => {
    const r = cli(['token', action, host, '--db', c.db]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const closedWith = (a: Proc, code: number): boolean => a.logs().some((l) => l['code'] === code);
  const ownAgent = async (host: string): Promise<Proc> => {
    const a = startAgent({ wsUrl: c.wsUrl, token: token('create', host) }, tmp.dir, ['--host-id', host]);
    await waitFor(() => maxSeq(host) >= 3, `${host} stored`);
    return a;
  };

  beforeAll(async () => {
    c = await startCollector(tmp.dir, ['--heartbeat', '1s']);
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  /** After the rotation returned: the old session is closed with `code`, refused on reconnect, and stored nothing more. */
  async function expectStopped(a: Proc, host: string, seqAtReturn: number, code: number, tag: string): Promise<void> {
    await waitFor(() => closedWith(a, code), `${tag}: old session closed with ${code}`, 10_000);
    // Reconnects are refused (401 for a dead token, or 429 once the address failed often enough;
    // the close code again for the fleet token).
    const closes = (): number => a.logs().filter((l) => l['code'] === code || l['msg'] === 'collector refused the token' || l['msg'] === 'collector refused the connection').length;
    const n = closes();
    await waitFor(() => closes() > n, `${tag}: the agent's next attempt refused`, 10_000);
    figures[tag] = { seq_at_return: seqAtReturn, seq_after: maxSeq(host) };
    expect(maxSeq(host)).toBe(seqAtReturn);
    await stopProc(a);
  }

  it('token create on a host that has a token: the old token stores nothing more and is closed (4002)', async () => {
    const a = await ownAgent('rot-a');
    const fresh = token('create', 'rot-a');
    const seq = maxSeq('rot-a');
    await expectStopped(a, 'rot-a', seq, 4002, 'create over a live token');
    // The new token works.
    const b = startAgent({ wsUrl: c.wsUrl, token: fresh }, tmp.dir, ['--host-id', 'rot-a']);
    await waitFor(() => boots('rot-a') === 2 && b.logs().some((l) => l['msg'] === 'connected to collector'), 'the new token writes');
  });

  it('token revoke && token create within one old poll period: the old token stores nothing after the revoke returned', async () => {
    const a = await ownAgent('rot-b');
    token('revoke', 'rot-b');
    const seq = maxSeq('rot-b');
    token('create', 'rot-b');
    await expectStopped(a, 'rot-b', seq, 4002, 'revoke then create');
  });

  it('the fleet token cannot open a session as a host that has its own token: 4007, the real agent stays, nothing stored', async () => {
    const own = await ownAgent('own-host');
    const labelsBefore = query<{ labels: string }>(c.db, "SELECT labels FROM hosts WHERE name = 'own-host'")[0]?.labels;
    const evilBoot = '00000000-0000-4000-8000-0000000e0111';
    const got: string[] = [];
    const o = await wsSession(c.wsUrl, c.token, (ws) => {
      ws.send(JSON.stringify({ ...(JSON.parse(hello('own-host', evilBoot)) as object), labels: { evil: 'yes' } }));
      ws.on('message', (m) => {
        got.push(m.toString());
        const msg = JSON.parse(m.toString()) as { type: string };
        if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [snapshot('own-host', 1, evilBoot)] }));
        else ws.close(1000);
      });
    });
    figures['fleet token as own-host'] = { code: o.code, reason: o.reason, messages: got.length };
    expect(o.code).toBe(4007);
    expect(got).toEqual([]);
    const seq = maxSeq('own-host');
    await waitFor(() => maxSeq('own-host') > seq + 1, 'the real agent keeps storing');
    expect(own.logs().filter((l) => l['code'] === 4003 || l['msg'] === 'disconnected from collector')).toEqual([]);
    expect(query<{ labels: string }>(c.db, "SELECT labels FROM hosts WHERE name = 'own-host'")[0]?.labels).toBe(labelsBefore);
    expect(query(c.db, 'SELECT * FROM boots WHERE boot = ?', evilBoot)).toEqual([]);
  });

  it('the fleet token works for a host without a token, and stops storing the moment the host gets one (4007)', async () => {
    const a = startAgent(c, tmp.dir, ['--host-id', 'fleet-y']);
    await waitFor(() => maxSeq('fleet-y') >= 3, 'fleet-y stored with the fleet token');
    token('create', 'fleet-y');
    const seq = maxSeq('fleet-y');
    await expectStopped(a, 'fleet-y', seq, 4007, 'host given its own token');
    report('issue 14 token rotation', figures);
  });
});
