/**
 * The collector as a process: authentication before the upgrade, bad frames closing only the
 * sender, history surviving a restart, and the CLI's one-line errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { Bin1Encoder, CLOSE_CODES, encodeMessage } from '@tcpfleet/common';
import { FIXTURES } from '../helpers/fixtures.js';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';
import { FIXTURE_PROC, fixtureSnapshot } from '../helpers/snapshots.js';

/** A bin1 batch frame of one real snapshot (with its layout declaration). */
const binFrame = (seq = 1): Buffer => new Bin1Encoder().encode(1, [{ ...fixtureSnapshot({ seq }), ts: Date.now() }])!;

const tmp = tempDir('collector');
let col: Collector;

function rows(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n;
  } finally {
    d.close();
  }
}

/** Opens a raw WebSocket; resolves with the HTTP status of a refused upgrade, or the open socket. */
function rawConnect(url: string, headers: Record<string, string>): Promise<{ status: number } | { ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('open', () => resolve({ ws }));
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

const hello = { type: 'hello', v: 1, host: 'raw-agent', boot: '0123456789abcdef', agent: 'test', interval_ms: 1000, labels: {} } as const;

beforeAll(async () => {
  col = await startCollector(tmp.dir);
});
afterAll(() => {
  killAll();
  tmp.cleanup();
});

describe('authentication', () => {
  it.each([
    { name: 'no Authorization header', headers: {} },
    { name: 'a wrong token', headers: { Authorization: 'Bearer wrong-token' } },
    { name: 'a non-bearer scheme', headers: { Authorization: 'Basic dGVzdDp0ZXN0' } },
  ])('refuses $name with HTTP 401 before the upgrade', async ({ headers }) => {
    const r = await rawConnect(col.wsUrl, headers);
    expect(r).toEqual({ status: 401 });
  });

  it('stores nothing from an agent with a wrong token, and says so in its log', async () => {
    const agent = startAgent({ wsUrl: col.wsUrl, token: 'not-the-fleet-token' }, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'intruder', '--log-level', 'info']);
    await waitFor(() => agent.logs().some((l) => l['msg'] === 'collector refused the token'), 'the agent to be refused');
    await stopProc(agent);
    expect(rows(col.db)).toBe(0);
    expect(cli(['host', 'intruder', '--url', col.url]).code).toBe(1);
  });

  it('an agent with a per-host token reports as the host bound to the token, whatever its --host-id', async () => {
    const made = cli(['token', 'create', 'bound-host', '--db', col.db]);
    expect(made.code, made.stderr).toBe(0);
    const agent = startAgent({ wsUrl: col.wsUrl, token: made.stdout.trim() }, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'configured-name']);
    try {
      await waitFor(() => cli(['host', 'bound-host', '--url', col.url]).code === 0, 'the agent to report as bound-host');
      // The agent's stderr reaches this process through a pipe: wait for the line, do not race it.
      await waitFor(() => agent.logs().some((l) => l['msg'] === "the collector binds this agent's token to another host id; reporting as that host"), 'the agent to log the binding');
      expect(cli(['host', 'configured-name', '--url', col.url]).code).toBe(1);
    } finally {
      await stopProc(agent);
    }
  });

  it('refuses an upgrade carrying an Origin header (cross-site WebSocket hijacking)', async () => {
    expect(await rawConnect(col.wsUrl, { Authorization: `Bearer ${col.token}`, Origin: 'http://evil.example' })).toEqual({ status: 403 });
  });
});

describe('bad frames close only the sender', () => {
  it.each([
    { name: 'malformed JSON', frame: '{"type":"hello",', code: CLOSE_CODES.BAD_MESSAGE, reason: /not valid JSON/ },
    { name: 'a schema violation', frame: JSON.stringify({ ...hello, host: 'bad host' }), code: CLOSE_CODES.BAD_MESSAGE, reason: /schema violation at host/ },
    { name: 'a batch before hello', frame: readFileSync(`${FIXTURES}protocol/valid/batch.json`, 'utf8'), code: CLOSE_CODES.HELLO_EXPECTED, reason: /hello expected/ },
    { name: 'a binary frame before hello', frame: Buffer.from([1, 2, 3]), code: CLOSE_CODES.HELLO_EXPECTED, reason: /hello expected/ },
    { name: 'a binary frame of an unknown type', frame: [encodeMessage(hello), Buffer.from([1, 2, 3])], code: CLOSE_CODES.BAD_MESSAGE, reason: /^binary batch: unknown frame type 1$/ },
    { name: 'a bin1 batch cut short', frame: [encodeMessage(hello), binFrame().subarray(0, 200)], code: CLOSE_CODES.BAD_MESSAGE, reason: /^binary batch: .*ends inside/ },
    {
      name: 'a bin1 batch naming an undeclared layout',
      frame: [
        encodeMessage(hello),
        (() => {
          const e = new Bin1Encoder();
          e.encode(1, [fixtureSnapshot({ seq: 1 })]);
          return e.encode(2, [fixtureSnapshot({ seq: 2 })])!;
        })(),
      ],
      code: CLOSE_CODES.BAD_MESSAGE,
      reason: /^binary batch: snapshot 1: layout 1 was not declared in this session$/,
    },
    { name: 'an unsupported protocol version', frame: JSON.stringify({ ...hello, v: 99 }), code: CLOSE_CODES.UNSUPPORTED_VERSION, reason: /version 99/ },
    { name: 'an oversized frame', frame: 'x'.repeat(2 * 1024 * 1024), code: CLOSE_CODES.TOO_BIG, reason: /./ },
  ])('$name', async ({ frame, code, reason }) => {
    const good = startAgent(col, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'bystander']);
    try {
      await waitFor(() => cli(['hosts', '--json', '--url', col.url]).stdout.includes('"bystander"'), 'the bystander to report');
      const before = rows(col.db);
      const r = await rawConnect(col.wsUrl, { Authorization: `Bearer ${col.token}` });
      if (!('ws' in r)) throw new Error(`refused: ${r.status}`);
      const closed = closeOf(r.ws);
      for (const f of Array.isArray(frame) ? frame : [frame]) r.ws.send(f);
      const c = await closed;
      expect(c.code).toBe(code);
      if (code !== CLOSE_CODES.TOO_BIG) expect(c.reason).toMatch(reason);
      // The bystander keeps reporting: its row count keeps growing.
      await waitFor(() => rows(col.db) > before + 1, 'the bystander to keep storing');
      expect(JSON.stringify(JSON.parse(cli(['hosts', '--json', '--url', col.url]).stdout))).not.toContain('raw-agent');
    } finally {
      await stopProc(good);
    }
  });

  it('a valid hello and batch are stored and acknowledged', async () => {
    const r = await rawConnect(col.wsUrl, { Authorization: `Bearer ${col.token}` });
    if (!('ws' in r)) throw new Error(`refused: ${r.status}`);
    const msgs: Record<string, unknown>[] = [];
    r.ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    r.ws.send(encodeMessage(hello));
    const batch = JSON.parse(readFileSync(`${FIXTURES}protocol/valid/batch.json`, 'utf8')) as { id: number; snapshots: { ts: number; host: string }[] };
    // First as captured from web-7: refused for good, this session writes as raw-agent.
    for (const s of batch.snapshots) s.ts = Date.now();
    r.ws.send(JSON.stringify({ ...batch, id: 100 }));
    await waitFor(() => msgs.some((m) => m['type'] === 'nack'), 'the refusal');
    expect(msgs.find((m) => m['type'] === 'nack')).toMatchObject({ id: 100, code: 'HOST_MISMATCH', retryable: false });
    for (const s of batch.snapshots) s.host = 'raw-agent';
    r.ws.send(JSON.stringify(batch));
    await waitFor(() => msgs.some((m) => m['type'] === 'ack'), 'the ack');
    expect(msgs[0]).toMatchObject({ type: 'welcome', host: 'raw-agent' });
    expect(msgs.find((m) => m['type'] === 'ack')).toEqual({ type: 'ack', id: 1, stored: 1, duplicates: 0 });
    // The same batch again is acknowledged and stored nothing.
    r.ws.send(JSON.stringify(batch));
    await waitFor(() => msgs.filter((m) => m['type'] === 'ack').length === 2, 'the second ack');
    expect(msgs.filter((m) => m['type'] === 'ack')[1]).toEqual({ type: 'ack', id: 1, stored: 0, duplicates: 1 });
    // Stored under the session's host; nothing of web-7.
    const h = JSON.parse(cli(['host', 'raw-agent', '--json', '--url', col.url]).stdout) as { host: string; seq: number };
    expect(h.host).toBe('raw-agent');
    expect(cli(['host', 'web-7', '--url', col.url]).code).toBe(1);
    r.ws.close();
  });

  it('stores a bin1 batch under the session host, acknowledged as JSON, with the same numbers as sent', async () => {
    const r = await rawConnect(col.wsUrl, { Authorization: `Bearer ${col.token}` });
    if (!('ws' in r)) throw new Error(`refused: ${r.status}`);
    const msgs: Record<string, unknown>[] = [];
    r.ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    r.ws.send(encodeMessage({ ...hello, host: 'raw-bin' }));
    await waitFor(() => msgs.some((m) => m['type'] === 'welcome'), 'the welcome');
    expect(msgs[0]).toMatchObject({ type: 'welcome', host: 'raw-bin', encodings: ['json', 'bin1'] });
    const sent = { ...fixtureSnapshot({ seq: 5 }), ts: Date.now() };
    const enc = new Bin1Encoder();
    r.ws.send(enc.encode(9, [sent])!);
    await waitFor(() => msgs.some((m) => m['type'] === 'ack'), 'the ack');
    expect(msgs.find((m) => m['type'] === 'ack')).toEqual({ type: 'ack', id: 9, stored: 1, duplicates: 0 });
    // Again, layout already declared: a duplicate, stored once.
    r.ws.send(enc.encode(10, [sent])!);
    await waitFor(() => msgs.filter((m) => m['type'] === 'ack').length === 2, 'the second ack');
    expect(msgs.filter((m) => m['type'] === 'ack')[1]).toEqual({ type: 'ack', id: 10, stored: 0, duplicates: 1 });
    // Live view (packed in memory) and stored history (read back from SQLite) both equal what was sent.
    const live = JSON.parse(cli(['host', 'raw-bin', '--json', '--url', col.url]).stdout) as Record<string, unknown>;
    const stored = JSON.parse(cli(['history', 'raw-bin', '--since', '1h', '--json', '--url', col.url]).stdout) as Record<string, unknown>[];
    const labels = hello.labels;
    for (const got of [live, stored[0]!]) {
      expect(got).toMatchObject({
        host: 'raw-bin',
        labels,
        seq: 5,
        ts: sent.ts,
        boot: sent.boot,
        states: sent.states,
        ipv4: sent.ipv4,
        ipv6: sent.ipv6,
        summary: sent.summary,
        sockstat: sent.sockstat,
        snmp: sent.snmp,
        netstat: sent.netstat,
      });
    }
    expect(live['breakdown']).toEqual(sent.breakdown);
    const health = (await (await fetch(`${col.url}/healthz`)).json()) as { batch_frames: { bin1: number } };
    expect(health.batch_frames.bin1).toBeGreaterThanOrEqual(2);
    r.ws.close();
  });

  it('refuses snapshots stamped more than five minutes ahead, for good', async () => {
    const r = await rawConnect(col.wsUrl, { Authorization: `Bearer ${col.token}` });
    if (!('ws' in r)) throw new Error(`refused: ${r.status}`);
    const msgs: Record<string, unknown>[] = [];
    r.ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    r.ws.send(encodeMessage({ ...hello, host: 'skewed' }));
    const batch = JSON.parse(readFileSync(`${FIXTURES}protocol/valid/batch.json`, 'utf8')) as { snapshots: { ts: number }[] };
    for (const s of batch.snapshots) s.ts = Date.now() + 3_600_000;
    r.ws.send(JSON.stringify(batch));
    await waitFor(() => msgs.some((m) => m['type'] === 'nack'), 'the refusal');
    expect(msgs.find((m) => m['type'] === 'nack')).toMatchObject({ code: 'CLOCK_SKEW', retryable: false });
    expect(cli(['host', 'skewed', '--url', col.url]).code).toBe(1);
    r.ws.close();
  });
});

describe('restart', () => {
  it('keeps all stored history across a collector restart, and the agent carries on', async () => {
    const agent = startAgent(col, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'steady']);
    const historyOf = (): { seq: number; boot: string }[] => {
      const r = cli(['history', 'steady', '--since', '1h', '--json', '--url', col.url]);
      return r.code === 0 ? (JSON.parse(r.stdout) as { seq: number; boot: string }[]) : [];
    };
    await waitFor(() => historyOf().length >= 3, 'three snapshots');
    await stopProc(col);
    const stored = rows(col.db);
    expect(stored).toBeGreaterThanOrEqual(3);
    const seqBefore = new Set(
      (() => {
        const d = new Database(col.db, { readonly: true });
        const r = d.prepare('SELECT seq FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?').all('steady') as { seq: number }[];
        d.close();
        return r.map((x) => x.seq);
      })(),
    );
    col = await startCollector(tmp.dir, [], col.token, `127.0.0.1:${col.port}`);
    const maxBefore = Math.max(...seqBefore);
    const after = new Set<number>();
    await waitFor(() => {
      for (const s of historyOf()) after.add(s.seq);
      return Math.max(...after) > maxBefore + 2;
    }, 'the same agent to reconnect and store new snapshots');
    for (const s of seqBefore) expect(after.has(s)).toBe(true);
    // Nothing the agent generated is missing: its seq numbers are contiguous from 1.
    const all = [...after].sort((a, b) => a - b);
    expect(all[0]).toBe(1);
    expect(all[all.length - 1]! - all[0]! + 1).toBe(all.length);
    await stopProc(agent);
    const d = new Database(col.db, { readonly: true });
    expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
    d.close();
  });
});

describe('CLI errors: one line, non-zero, no stack trace', () => {
  it.each([
    { name: 'unreachable collector', args: ['hosts', '--url', 'http://127.0.0.1:1'], code: 1, line: /^tcpfleet: cannot reach the collector at http:\/\/127\.0\.0\.1:1: ECONNREFUSED$/ },
    { name: 'unknown host', args: ['host', 'no-such-host'], code: 1, line: /^tcpfleet: unknown host "no-such-host"$/ },
    { name: 'unknown flag', args: ['hosts', '--bogus'], code: 2, line: /^tcpfleet: Unknown argument: bogus/ },
    { name: 'unknown state', args: ['total', '--state', 'estab'], code: 2, line: /^tcpfleet: --state "estab" is not a state; use one of established, / },
    { name: 'bad --since', args: ['history', 'x', '--since', 'yesterday-ish'], code: 2, line: /^tcpfleet: --since "yesterday-ish" is neither a duration/ },
    { name: 'bad --url', args: ['hosts', '--url', 'ftp://x'], code: 2, line: /^tcpfleet: flag --url: an http:\/\/ or https:\/\/ URL such as http:\/\/127\.0\.0\.1:7070 \(got "ftp:\/\/x"\)$/ },
    { name: 'no command', args: [], code: 2, line: /^tcpfleet: give a command/ },
    { name: 'escape sequences in an argument are not echoed raw', args: ['total', '--state', '\u001b[2Jx'], code: 2, line: /\\u\{1b\}\[2Jx/ },
  ])('$name', ({ args, code, line }) => {
    const r = cli([...args, ...(args.includes('--url') || args.length === 0 ? [] : ['--url', col.url])]);
    expect(r.code).toBe(code);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve refuses a bad --listen with one line naming the value', () => {
    const r = cli(['serve', '--listen', 'nonsense', '--db', `${tmp.dir}/x.db`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^tcpfleet: flag --listen: HOST:PORT such as 127\.0\.0\.1:7070 or 0\.0\.0\.0:7070 \(got "nonsense"\)$/);
  });
});
