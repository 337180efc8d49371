/**
 * A real collector on a real PostgreSQL 15 (throwaway server, test/helpers/postgres.ts) with a real
 * agent: snapshots stored through `serve --db postgres://...`; a PostgreSQL restart mid-ingest
 * loses nothing (every snapshot the agent took is stored once, no hole); an unreachable database at
 * start is one line and a non-zero exit; the password is in no log line, error or process title;
 * namespace entries a wire client sent come back from `containers --json` and `history --netns`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_BIN, cli, killAll, startAgent, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { freePort, getJson } from '../helpers/http.js';
import { hello, snapshot, wsSession } from '../helpers/wire.js';
import { synthNamespace } from '../helpers/snapshots.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PgServer } from '../helpers/postgres.js';
import { startPgCollector as startPg } from '../helpers/pg-collector.js';
import type { PgCollector } from '../helpers/pg-collector.js';

const PASSWORD = 'pw-Zq81-secret';
const TOKEN = 'test-fleet-token-0123456789';

function startPgCollector(dir: string, db: string, env: NodeJS.ProcessEnv = {}): Promise<PgCollector> {
  return startPg(dir, db, TOKEN, { env });
}

describe('collector on PostgreSQL', () => {
  const tmp = tempDir('pg-serve');
  let pgs: PgServer | null = null;
  const procs: Proc[] = [];

  beforeAll(async () => {
    pgs = await startPostgres({ password: PASSWORD });
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) await stopProc(p);
    killAll();
    await pgs?.stop();
    tmp.cleanup();
  });

  it('stores a real agent snapshots; a PostgreSQL restart mid-ingest loses nothing and stores nothing twice', async () => {
    const server = pgs!;
    // The password in PGPASSWORD, not in the URL.
    const col = await startPgCollector(tmp.dir, server.urlNoPassword, { PGPASSWORD: PASSWORD });
    procs.push(col);
    const spool = join(tmp.dir, 'spool');
    const args = ['--host-id', 'pg-agent', '--spool-dir', spool];
    let agent = startAgent(col, tmp.dir, args);
    procs.push(agent);
    const stored = async (): Promise<number> => Number((await server.sql<{ n: string }>("SELECT count(*) AS n FROM snapshots WHERE host = 'pg-agent'"))[0]?.n ?? 0);
    await waitFor(async () => (await stored()) >= 10, 'snapshots in PostgreSQL', 30_000);
    const hosts = await getJson<{ hosts?: { host: string }[] } | { host: string }[]>(`${col.url}/api/v1/hosts`);
    expect(JSON.stringify(hosts)).toContain('pg-agent');
    // The fleet sync's state: passes every second, none deferred (one agent: ingest never behind).
    const sync = (await getJson<{ fleet_sync?: { last_pass_ms_ago: number; deferred: number } }>(`${col.url}/healthz`)).fleet_sync;
    expect(sync?.deferred).toBe(0);
    expect(sync?.last_pass_ms_ago).toBeLessThan(5000);

    // Restart PostgreSQL while the agent sends (a snapshot every 200 ms).
    const reachable = async (): Promise<boolean> => (await getJson<{ database: { driver: string; reachable: boolean } }>(`${col.url}/healthz`)).database.reachable;
    expect(await reachable()).toBe(true);
    await server.halt();
    // /healthz says so while it is away (the agent's next batch finds out).
    await waitFor(async () => !(await reachable()), '/healthz to report the database unreachable', 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    await server.resume();
    const before = await stored();
    await waitFor(async () => (await stored()) >= before + 10, 'ingest to go on after the restart', 60_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\ncollector: ${col.stderr().slice(-3000)}\nagent: ${agent.stderr().slice(-3000)}`);
    });
    expect(col.logs().some((l) => l['msg'] === 'database unreachable; batches are refused as retryable until it is back')).toBe(true);
    expect(col.logs().some((l) => l['msg'] === 'database reachable again')).toBe(true);
    expect(await reachable()).toBe(true);
    // The agent was told to send again (retryable nacks), and dropped nothing.
    expect(agent.logs().some((l) => l['msg'] === 'batch refused for now; will resend')).toBe(true);
    expect(agent.logs().some((l) => l['msg'] === 'batch rejected; dropped')).toBe(false);

    // Stop the agent; a second start delivers what its spool still holds.
    await stopProc(agent);
    const stop = agent.logs().find((l) => l['msg'] === 'agent stopped') ?? {};
    const boot = String(stop['boot']);
    const lastSeq = Number(stop['lastSeq']);
    expect(lastSeq).toBeGreaterThanOrEqual(20);
    agent = startAgent(col, tmp.dir, args);
    procs.push(agent);
    const ofBoot = async (): Promise<{ n: number; distinct: number; lo: number; hi: number }> => {
      const r = await server.sql<{ n: string; d: string; lo: string; hi: string }>(
        `SELECT count(*) AS n, count(DISTINCT s.seq) AS d, min(s.seq) AS lo, max(s.seq) AS hi FROM snapshots s JOIN boots b ON b.host = s.host AND b.id = s.boot_id
         WHERE s.host = 'pg-agent' AND b.boot = $1`,
        [boot],
      );
      return { n: Number(r[0]?.n), distinct: Number(r[0]?.d), lo: Number(r[0]?.lo), hi: Number(r[0]?.hi) };
    };
    await waitFor(async () => (await ofBoot()).hi >= lastSeq, 'every snapshot of the first boot stored', 30_000);
    const b = await ofBoot();
    expect(b).toEqual({ n: lastSeq, distinct: lastSeq, lo: 1, hi: lastSeq });
    const gaps = await server.sql<{ n: string }>("SELECT count(*) AS n FROM gaps WHERE host = 'pg-agent'");
    expect(Number(gaps[0]?.n)).toBe(0);

    // Nothing any process printed holds the password.
    const cmdline = readFileSync(`/proc/${col.pid}/cmdline`, 'utf8');
    for (const text of [col.stderr(), col.stdout(), agent.stderr(), cmdline]) expect(text).not.toContain(PASSWORD);
  }, 180_000);

  it('an unreachable database at start: one line, non-zero exit, no password in it or in the process title', async () => {
    const port = await freePort();
    const url = `postgres://tcpfleet:${PASSWORD}@127.0.0.1:${port}/nothing`;
    const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--listen', '127.0.0.1:0', '--db', url, '--token-file', join(tmp.dir, 'fleet.token')]);
    const code = await p.exited;
    expect(code).not.toBe(0);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot connect to PostgreSQL at postgres:\/\/tcpfleet:\*\*\*@127\.0\.0\.1:\d+\/nothing.*ECONNREFUSED/);
    expect(p.stderr() + p.stdout()).not.toContain(PASSWORD);
  });

  it('a wrong password: one line naming the database without the password; the URL password is hidden from the process list', async () => {
    const server = pgs!;
    const wrong = server.url.replace(encodeURIComponent(PASSWORD), 'not-the-pw-77');
    const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--listen', '127.0.0.1:0', '--db', wrong, '--token-file', join(tmp.dir, 'fleet.token')]);
    expect(await p.exited).not.toBe(0);
    expect(p.stderr()).toMatch(/password authentication failed/);
    expect(p.stderr()).not.toContain('not-the-pw-77');
    // The right password in the URL: it works, and ps does not show it.
    const col = await startPgCollector(tmp.dir, server.url);
    procs.push(col);
    expect(readFileSync(`/proc/${col.pid}/cmdline`, 'utf8')).not.toContain(PASSWORD);
    expect(col.stderr()).not.toContain(PASSWORD);
    await stopProc(col);
  });

  it('token, host rm and db stats take the same URL (password from TCPFLEET_DB_PASSWORD_FILE)', async () => {
    const server = pgs!;
    const url = (await server.createDatabase('cli_db')).replace(`:${encodeURIComponent(PASSWORD)}@`, '@');
    const pwFile = join(tmp.dir, 'db.password');
    writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    const env = { TCPFLEET_DB_PASSWORD_FILE: pwFile, PGPASSWORD: '' };
    const created = cli(['token', 'create', 'web-7', '--db', url], env);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^\S{20,}$/);
    const list = cli(['token', 'list', '--json', '--db', url], env);
    expect(JSON.parse(list.stdout)).toMatchObject([{ host: 'web-7', revoked: null }]);
    expect(cli(['token', 'create', '--read', 'ann', '--db', url], env).code).toBe(0);
    expect(JSON.parse(cli(['token', 'list', '--read', '--json', '--db', url], env).stdout)).toMatchObject([{ name: 'ann', revoked: null }]);
    expect(cli(['token', 'revoke', 'web-7', '--db', url], env).code).toBe(0);
    const stats = JSON.parse(cli(['db', 'stats', '--json', '--db', url], env).stdout) as { path: string; hosts: number; resolutions: { resolution: string; rows: number }[] };
    expect(stats.path).toBe(url);
    expect(stats.hosts).toBe(0);
    expect(stats.resolutions.map((r) => r.resolution)).toEqual(['raw', '1m', '1h', 'fleet_1m', 'ns_raw', 'ns_1m', 'ns_1h']);
    const rm = cli(['host', 'rm', 'nobody', '--db', url], env);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain('no host nobody');
    // Without the password file the server refuses, in one line without any password.
    const refused = cli(['token', 'list', '--db', url], { PGPASSWORD: '' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/password/);
  });
  it('namespaces over the wire: containers --json answers the entries a client sent, history --netns their series', async () => {
    const server = pgs!;
    const db = (await server.createDatabase('ns_wire')).replace(`:${encodeURIComponent(PASSWORD)}@`, '@');
    const col = await startPgCollector(tmp.dir, db, { PGPASSWORD: PASSWORD });
    procs.push(col);
    const boot = '00000000-0000-4000-8000-0000000e5001';
    const DOCKER = { runtime: 'docker' as const, id: 'ef'.repeat(32), name: 'redis' };
    const POD = { runtime: 'containerd' as const, id: 'ab'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'shop-1', namespace: 'shop', name: 'nginx', other_ids: ['cd'.repeat(32)] };
    const first = [synthNamespace(4026532001, 5, POD), synthNamespace(4026532002, 9, DOCKER)];
    const entries = [synthNamespace(4026532001, 6, POD), synthNamespace(4026532003, 13, null)];
    // A long interval: the host stays live while the test asks.
    const snaps = [first, entries].map((ns, i) => snapshot('ns-wire', i + 1, boot, { interval_ms: 600_000, ts: Date.now() - (2 - i) * 1000, namespaces: ns }));
    const acks: unknown[] = [];
    const o = await wsSession(col.wsUrl, col.token, (ws) => {
      ws.send(JSON.stringify({ ...(JSON.parse(hello('ns-wire', boot)) as object), interval_ms: 600_000 }));
      ws.on('message', (m) => {
        const msg = JSON.parse(m.toString()) as { type: string };
        if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: snaps }));
        else {
          acks.push(msg);
          ws.close(1000);
        }
      });
    });
    expect(o.code).toBe(1000);
    expect(acks).toMatchObject([{ type: 'ack', id: 1 }]);
    const env = { PGPASSWORD: PASSWORD };
    const containers = cli(['containers', '--json', '--url', col.url], env);
    expect(containers.code, containers.stderr).toBe(0);
    expect(JSON.parse(containers.stdout)).toEqual(entries.map((e) => ({ host: 'ns-wire', ...e })));
    const hist = cli(['history', 'ns-wire', '--netns', '4026532001', '--since', '1h', '--json', '--url', col.url], env);
    expect(hist.code, hist.stderr).toBe(0);
    const rows = JSON.parse(hist.stdout) as { seq: number; netns: number; states: unknown }[];
    expect(rows.map((r) => [r.seq, r.netns])).toEqual([
      [1, 4026532001],
      [2, 4026532001],
    ]);
    expect(rows[1]!.states).toEqual(entries[0]!.states);
    const stats = JSON.parse(cli(['db', 'stats', '--json', '--db', db], env).stdout) as { resolutions: { resolution: string; rows: number }[] };
    expect(stats.resolutions.find((r) => r.resolution === 'ns_raw')?.rows).toBe(4);
    await stopProc(col);
  });
});
