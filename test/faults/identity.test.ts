/**
 * S1-S5, S13-S16, S18: who may write, and injection. No token, a wrong token, a revoked token
 * (the live session is closed), a token bound to one host used to write as another, a captured
 * batch replayed under its own and under another token, SQL and terminal escapes through host
 * names, labels and CLI arguments, token-file permissions, and no token anywhere in logs, argv,
 * CLI output or the database. Brute force (429) last, as it locks out 127.0.0.1 for a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { hello, snapshot, wsSession } from '../helpers/wire.js';
import { integrity, query, report } from '../helpers/checker.js';

describe('S1-S5, S13-S16, S18 identity and injection', () => {
  const tmp = tempDir('ident');
  let c: Collector;
  const tokens: Record<string, string> = {};
  const agents: Proc[] = [];
  const cliOutputs: string[] = [];
  const figures: Record<string, unknown> = {};
  const schemaHash = (): string =>
    createHash('sha256')
      .update(JSON.stringify(query(c.db, 'SELECT type, name, sql FROM sqlite_schema ORDER BY name')))
      .digest('hex');
  const rowsOf = (host: string): number => query<{ n: number }>(c.db, 'SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0]?.n ?? 0;
  const run = (args: string[]): ReturnType<typeof cli> => {
    const r = cli(args);
    cliOutputs.push(r.stdout, r.stderr);
    return r;
  };
  let schemaBefore = '';

  beforeAll(async () => {
    c = await startCollector(tmp.dir, ['--heartbeat', '1s']);
    for (const host of ['alice', 'carol', 'revokee']) {
      const r = cli(['token', 'create', host, '--db', c.db]);
      expect(r.code, r.stderr).toBe(0);
      tokens[host] = r.stdout.trim();
      cliOutputs.push(r.stderr);
    }
    // bob writes with the fleet token.
    agents.push(startAgent(c, tmp.dir, ['--host-id', 'bob']));
    await waitFor(() => rowsOf('bob') >= 3, 'bob stored');
    schemaBefore = schemaHash();
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('no token and a wrong token get 401 before the upgrade, and nothing is stored', async () => {
    const none = await wsSession(c.wsUrl, null, (ws) => ws.send(hello('mallory')));
    const wrong = await wsSession(c.wsUrl, 'not-a-token-0000000000000000', (ws) => ws.send(hello('mallory')));
    const origin = await wsSession(c.wsUrl, c.token, () => {}, { origin: 'https://evil.example' });
    figures['no token'] = none.status;
    figures['wrong token'] = wrong.status;
    figures['with Origin'] = origin.status;
    expect(none.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(origin.status).toBe(403);
    expect(query(c.db, "SELECT * FROM hosts WHERE name = 'mallory'")).toEqual([]);
  });

  it('a token bound to alice writes only as alice: a hello naming bob is bound to alice, snapshots naming bob are refused for good', async () => {
    const bobBefore = rowsOf('bob');
    const msgs: Record<string, unknown>[] = [];
    const o = await wsSession(c.wsUrl, tokens['alice'] ?? '', (ws) => {
      ws.send(hello('bob'));
      ws.once('message', (welcome) => {
        msgs.push(JSON.parse(welcome.toString()) as Record<string, unknown>);
        ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [1, 2, 3].map((s) => snapshot('bob', s)) }));
        ws.once('message', (nack) => {
          msgs.push(JSON.parse(nack.toString()) as Record<string, unknown>);
          ws.send(JSON.stringify({ type: 'batch', id: 2, snapshots: [1, 2, 3].map((s) => snapshot('alice', s)) }));
          ws.once('message', (ack) => {
            msgs.push(JSON.parse(ack.toString()) as Record<string, unknown>);
            ws.close(1000);
          });
        });
      });
    });
    expect(o.code).toBe(1000);
    expect(msgs[0]).toMatchObject({ type: 'welcome', host: 'alice' });
    expect(msgs[1]).toMatchObject({ type: 'nack', id: 1, code: 'HOST_MISMATCH', retryable: false });
    expect(msgs[2]).toMatchObject({ type: 'ack', id: 2, stored: 3, duplicates: 0 });
    expect(rowsOf('alice')).toBe(3);
    // bob's rows grew only by bob's own agent, never with the impersonator's boot.
    expect(
      query(c.db, "SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id JOIN boots b ON b.id = s.boot_id WHERE h.name = 'bob' AND b.boot = '00000000-0000-4000-8000-00000000beef'"),
    ).toEqual([{ n: 0 }]);
    expect(rowsOf('bob')).toBeGreaterThanOrEqual(bobBefore);
    figures['rows attributed to bob by alice'] = 0;
  });

  it('a captured batch replayed: under the same token stores nothing new, under another token is refused for good', async () => {
    const batch = JSON.stringify({ type: 'batch', id: 7, snapshots: [1, 2, 3].map((s) => snapshot('alice', s)) });
    const answers: string[] = [];
    const send =
      (host: string) =>
      (ws: import('ws').WebSocket): void => {
        ws.send(hello(host));
        ws.once('message', () => {
          ws.send(batch);
          ws.once('message', (m) => {
            answers.push(m.toString());
            ws.close(1000);
          });
        });
      };
    await wsSession(c.wsUrl, tokens['alice'] ?? '', send('alice'));
    await wsSession(c.wsUrl, tokens['carol'] ?? '', send('carol'));
    figures['replay same identity'] = answers[0];
    figures['replay other identity'] = answers[1];
    expect(JSON.parse(answers[0] ?? '{}')).toMatchObject({ type: 'ack', stored: 0, duplicates: 3 });
    expect(JSON.parse(answers[1] ?? '{}')).toMatchObject({ type: 'nack', code: 'HOST_MISMATCH', retryable: false });
    expect(rowsOf('alice')).toBe(3);
    expect(rowsOf('carol')).toBe(0);
  });

  it('revoking a token closes the live session (4002) within one poll, and the agent is refused afterwards', async () => {
    const tf = join(tmp.dir, 'revokee.token');
    writeFileSync(tf, `${tokens['revokee'] ?? ''}\n`, { mode: 0o600 });
    const a = startAgent({ wsUrl: c.wsUrl, token: tokens['revokee'] ?? '' }, tmp.dir, ['--host-id', 'revokee']);
    agents.push(a);
    await waitFor(() => rowsOf('revokee') >= 3, 'revokee stored');
    const t0 = Date.now();
    const r = run(['token', 'revoke', 'revokee', '--db', c.db]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => a.logs().some((l) => l['code'] === 4002), 'session closed with 4002', 10_000);
    const closedAt = Number(a.logs().find((l) => l['code'] === 4002)?.['time']);
    figures['revoke to close ms'] = closedAt - t0;
    expect(closedAt - t0).toBeLessThan(4000);
    await waitFor(() => a.logs().some((l) => l['msg'] === 'collector refused the token'), 'reconnect refused with 401', 40_000);
  });

  it('SQL and terminal escapes: host names refused, labels stored literally, CLI arguments inert, output escaped', async () => {
    const sqlHost = await wsSession(c.wsUrl, c.token, (ws) => ws.send(hello("x'); DROP TABLE snapshots;--")));
    const escLabel = await wsSession(c.wsUrl, c.token, (ws) => ws.send(JSON.stringify({ ...JSON.parse(hello('esc-host')), labels: { t: '\u001b]0;pwned\u0007' } })));
    const sqlLabel = await wsSession(c.wsUrl, c.token, (ws) => {
      ws.send(JSON.stringify({ ...JSON.parse(hello('label-host')), labels: { note: "'); DROP TABLE snapshots;-- %_" } }));
      ws.once('message', () => {
        ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [snapshot('label-host', 1)] }));
        ws.once('message', () => ws.close(1000));
      });
    });
    expect(sqlHost.code).toBe(4000);
    expect(escLabel.code).toBe(4000);
    expect(sqlLabel.code).toBe(1000);
    expect(query<{ labels: string }>(c.db, "SELECT labels FROM hosts WHERE name = 'label-host'")[0]?.labels).toBe(JSON.stringify({ note: "'); DROP TABLE snapshots;-- %_" }));
    const injected = [
      ['host', "x' OR 1=1 --"],
      ['host', '%'],
      ['history', '_'],
      ['host', '\u001b]0;pwned\u0007\u001b[31mred'],
      ['token', 'create', '\u001b[2Jx\nforged log line'],
      ['top', '--by', 'host; DROP TABLE snapshots'],
      ['top', '--state', "established' OR '1'='1"],
    ];
    for (const args of injected) {
      const r = run([...args, ...(args[0] === 'token' ? ['--db', c.db] : ['--url', c.url])]);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).not.toBe(0);
      expect(r.stdout + r.stderr, args.join(' ')).not.toMatch(/\u001b/); // eslint-disable-line no-control-regex -- asserts that no terminal escape (ESC) reaches the output
      expect(r.stderr.trim().split('\n').length, args.join(' ')).toBe(1);
    }
    const hosts = run(['hosts', '--url', c.url]);
    expect(hosts.code).toBe(0);
    expect(hosts.stdout).not.toMatch(/\u001b/); // eslint-disable-line no-control-regex -- asserts that no terminal escape (ESC) reaches the output
    expect(schemaHash()).toBe(schemaBefore);
    expect(integrity(c.db)).toBe('ok');
  });

  it('warns about a token file others can read, without printing the token', async () => {
    const tf = join(tmp.dir, 'wide.token');
    writeFileSync(tf, c.token + '\n', { mode: 0o644 });
    const { startProc, AGENT_BIN } = await import('../helpers/procs.js');
    const a = startProc(process.execPath, [AGENT_BIN, '--collector', c.wsUrl, '--token-file', tf, '--host-id', 'wide', '--interval', '0.5']);
    agents.push(a);
    await waitFor(() => a.stderr().includes('others can read it'), 'permission warning');
    expect(a.stderr()).not.toContain(c.token);
    // The collector's fleet token file too.
    const tf2 = join(tmp.dir, 'fleet-wide.token');
    writeFileSync(tf2, c.token + '\n', { mode: 0o640 });
    const { COLLECTOR_BIN } = await import('../helpers/procs.js');
    const wide = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, 'wide.db'), '--token-file', tf2]);
    await waitFor(() => wide.logs().some((l) => l['msg'] === 'collector started'), 'second collector');
    await stopProc(wide);
    expect(wide.stderr()).toContain('others can read it');
    expect(wide.stderr()).not.toContain(c.token);
  });

  it('brute force from one address: 401s, then 429 without checking', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const c2 = await wsSession(`ws://127.0.0.1:${c.port}`, `guess-${i}-000000000000000000000`, () => {});
      statuses.push(c2.status ?? 0);
    }
    figures['brute force'] = statuses;
    expect(statuses.filter((s) => s === 200 || s === 101)).toEqual([]);
    // Earlier failures from 127.0.0.1 (no token, wrong token, the revoked agent) count too.
    const first429 = statuses.indexOf(429);
    expect(statuses.slice(0, Math.max(0, first429)).every((s) => s === 401)).toBe(true);
    expect(first429).toBeGreaterThanOrEqual(0);
    expect(statuses.slice(first429).every((s) => s === 429)).toBe(true);
  });

  it('no token value in any log, CLI output, argv or database file', async () => {
    for (const a of agents) await stopProc(a);
    await stopProc(c);
    const secrets = [c.token, ...Object.values(tokens)];
    const haystacks: [string, string][] = [
      ['collector log', c.stderr() + c.stdout()],
      ...agents.map((a, i): [string, string] => [`agent ${i} log`, a.stderr() + a.stdout()]),
      ['cli output', cliOutputs.join('\n')],
      ['agent argv', agents.map((a) => a.proc.spawnargs.join(' ')).join('\n')],
      ['database', readFileSync(c.db).toString('latin1')],
    ];
    const hits = haystacks.flatMap(([where, text]) => secrets.filter((s) => text.includes(s)).map(() => where));
    report('S1-S5/S13-S16/S18 identity', { ...figures, token_hits: hits.length, schema_unchanged: schemaHash() === schemaBefore });
    expect(hits).toEqual([]);
  });
});
