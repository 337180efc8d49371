/**
 * Issue 14, finding 3: fair lockouts. A prober on 127.0.0.1 sends a bad token every 50-100 ms
 * while real agents on the same address (one with its own token, one with the fleet token) start
 * and restart: every valid token is let in and its snapshots keep being stored, while the prober
 * gets 401 and then 429.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { wsSession } from '../helpers/wire.js';
import { query, report } from '../helpers/checker.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("fair lockouts: a prober on an agent's address cannot keep the agent out", () => {
  const tmp = tempDir('lockout');
  let c: Collector;
  let ownToken = '';
  const rowsOf = (host: string): number => query<{ n: number }>(c.db, 'SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0]?.n ?? 0;

  beforeAll(async () => {
    c = await startCollector(tmp.dir, ['--heartbeat', '1s']);
    const r = cli(['token', 'create', 'lock-own', '--db', c.db]);
    expect(r.code, r.stderr).toBe(0);
    ownToken = r.stdout.trim();
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('valid tokens from 127.0.0.1 always get in while bad ones from 127.0.0.1 get 429', async () => {
    const statuses: number[] = [];
    let probing = true;
    const prober = (async () => {
      for (let i = 0; i < 2000 && probing; i++) {
        const o = await wsSession(c.wsUrl, `bad-probe-${i}-${Math.random().toString(36).slice(2)}`, () => {}, {}, 5000);
        statuses.push(o.status ?? o.code ?? 0);
        await sleep(50 + Math.random() * 50);
      }
    })();
    // Let the prober pass the limit before any agent connects.
    await waitFor(() => statuses.includes(429), 'the prober to be limited', 20_000);

    const agents: { host: string; token: string; procs: Proc[] }[] = [
      { host: 'lock-own', token: ownToken, procs: [] },
      { host: 'lock-fleet', token: c.token, procs: [] },
    ];
    const refusals = (): string[] =>
      agents.flatMap((a) =>
        a.procs.flatMap((p) =>
          p
            .logs()
            .filter((l) => l['msg'] === 'collector refused the connection' || l['msg'] === 'collector refused the token')
            .map((l) => `${a.host}: ${String(l['status'])}`),
        ),
      );
    const stored: Record<string, number[]> = {};
    // Three starts of each agent while the prober runs: each connects and stores, none is refused.
    for (let round = 0; round < 3; round++) {
      for (const a of agents) a.procs.push(startAgent({ wsUrl: c.wsUrl, token: a.token }, tmp.dir, ['--host-id', a.host]));
      for (const a of agents) {
        const before = rowsOf(a.host);
        const p = a.procs.at(-1)!;
        await waitFor(() => p.logs().some((l) => l['msg'] === 'connected to collector') || refusals().length > 0, `${a.host} round ${round} to connect`, 15_000);
        expect(refusals()).toEqual([]);
        await waitFor(() => rowsOf(a.host) >= before + 2 || refusals().length > 0, `${a.host} round ${round} to store`, 15_000);
        (stored[a.host] ??= []).push(rowsOf(a.host));
      }
      for (const a of agents) await stopProc(a.procs.at(-1)!);
    }
    probing = false;
    await prober;
    const count = (s: number): number => statuses.filter((x) => x === s).length;
    report('issue 14 fair lockouts', { probes: statuses.length, probe_401: count(401), probe_429: count(429), agent_refusals: refusals().length, stored });
    expect(refusals()).toEqual([]);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(count(429)).toBeGreaterThan(10);
    // The first failures are answered 401 (counted), the rest 429.
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(query(c.db, "SELECT name FROM hosts WHERE name LIKE 'bad%'")).toEqual([]);
  });
});
