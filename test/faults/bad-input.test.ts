/**
 * S6-S11: bad input from the network. Malformed JSON, invalid UTF-8, binary frames, deep
 * nesting, schema violations, oversized and fragmented messages, a deflate offer, 2,000
 * headers, slowloris and idle sockets before the upgrade, sessions that never say hello or never
 * answer pings. Each gets its close code or HTTP status; nothing is stored for them; the
 * collector stays up under its memory ceiling; a real agent connected throughout is unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { hello, rawExchange, slowloris, snapshot, wsSession } from '../helpers/wire.js';
import { integrity, memKb, query, report, seqHoles } from '../helpers/checker.js';

const COLLECTOR_CEILING_KB = 300 * 1024;

/** Both ends of the loopback connection with this client port, as `ss` shows them (state, timers, queues). */
function ssOf(port: number): string {
  try {
    return execFileSync('ss', ['-tnoi', 'state', 'all', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8', timeout: 5_000 })
      .replace(/\s+/g, ' ')
      .trim();
  } catch (err) {
    return `ss failed: ${(err as Error).message}`;
  }
}

describe('S6-S11 bad input', () => {
  const tmp = tempDir('badin');
  let c: Collector;
  let agent: Proc;
  const outcomes: Record<string, unknown> = {};
  const rows = (): number => query<{ n: number }>(c.db, 'SELECT count(*) AS n FROM snapshots')[0]?.n ?? 0;

  beforeAll(async () => {
    // The default heartbeat (15 s): a 1 s one could end a flooding session for its late pong before
    // its flood is refused. The pong test below has a collector of its own with a 1 s heartbeat.
    c = await startCollector(tmp.dir);
    agent = startAgent(c, tmp.dir, ['--host-id', 'good']);
    await waitFor(() => rows() >= 5, 'the good agent stored');
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  const afterHello =
    (send: (ws: import('ws').WebSocket) => void) =>
    (ws: import('ws').WebSocket): void => {
      ws.send(hello('bad-host'));
      ws.once('message', () => send(ws));
    };

  it.each([
    ['truncated JSON', (ws: import('ws').WebSocket) => ws.send('{"type":"batch","id":1,"snapshots":[{'), 4000],
    ['invalid UTF-8 in a text frame', (ws: import('ws').WebSocket) => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), 1007],
    ['a binary frame before hello', (ws: import('ws').WebSocket) => ws.send(Buffer.from('{"type":"hello"}'), { binary: true }), 4004],
    [
      'JSON text in a binary frame after hello',
      (ws: import('ws').WebSocket) => {
        ws.send(hello('bad-host'));
        ws.send(Buffer.from('{"type":"batch","id":1,"snapshots":[]}'), { binary: true });
      },
      4000,
    ],
    [
      'a bin1 batch with a varint that never ends',
      (ws: import('ws').WebSocket) => {
        ws.send(hello('bad-host'));
        ws.send(Buffer.from([0xb1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), { binary: true });
      },
      4000,
    ],
    ['NaN and 1e400', (ws: import('ws').WebSocket) => ws.send('{"type":"batch","id":NaN,"snapshots":[1e400]}'), 4000],
    ['200,000-deep nesting', (ws: import('ws').WebSocket) => ws.send('['.repeat(200_000) + ']'.repeat(200_000)), 4000],
    ['a batch before hello', (ws: import('ws').WebSocket) => ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [snapshot('bad-host', 1)] })), 4004],
  ])('%s: closed with the right code, nothing stored', async (name, act, code) => {
    const before = rows();
    const o = await wsSession(c.wsUrl, c.token, act);
    outcomes[name] = o.code;
    expect(o.code).toBe(code);
    expect(query(c.db, "SELECT * FROM hosts WHERE name = 'bad-host'")).toEqual([]);
    expect(rows()).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ['a missing field', { states: undefined }],
    ['a negative count', { states: { established: -1 } }],
    ['a port above 65535', { breakdown: { inbound: [{ port: 70000, states: {} }], outbound: [], other: { inbound: {}, outbound: {} } } }],
    ['a state outside the enum', { states: { established: 1, bogus: 2 } }],
    ['a 1 MB host name', { host: 'h'.repeat(1_000_000) }],
    ['10,000 breakdown entries', { breakdown: { inbound: Array.from({ length: 10_000 }, (_, i) => ({ port: i, states: {} })), outbound: [], other: { inbound: {}, outbound: {} } } }],
  ])('wrong schema (%s): refused, nothing half-stored', async (name, over) => {
    const o = await wsSession(
      c.wsUrl,
      c.token,
      afterHello((ws) => ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [snapshot('bad-host', 1, undefined, over), snapshot('bad-host', 2)] }))),
    );
    outcomes[`schema: ${name}`] = o.code;
    expect([4000, 1009]).toContain(o.code);
    expect(query(c.db, "SELECT * FROM hosts WHERE name = 'bad-host'")).toEqual([]);
  });

  it('a snapshot 10 min ahead of the collector clock: permanent nack CLOCK_SKEW, nothing stored', async () => {
    let reply = '';
    const o = await wsSession(
      c.wsUrl,
      c.token,
      afterHello((ws) => {
        ws.send(JSON.stringify({ type: 'batch', id: 3, snapshots: [snapshot('bad-host', 1, undefined, { ts: Date.now() + 600_000 })] }));
        ws.once('message', (m) => {
          reply = m.toString();
          ws.close(1000);
        });
      }),
    );
    outcomes['clock 10 min ahead'] = reply;
    expect(o.code).toBe(1000);
    expect(JSON.parse(reply)).toMatchObject({ type: 'nack', id: 3, code: 'CLOCK_SKEW', retryable: false });
    expect(query(c.db, "SELECT * FROM hosts WHERE name = 'bad-host'")).toEqual([]);
  });

  it('oversized message: 1009; too many fragments: 1008; a deflate offer is declined', async () => {
    const big = await wsSession(
      c.wsUrl,
      c.token,
      afterHello((ws) => ws.send('x'.repeat(1024 * 1024 + 1))),
    );
    const frags = await wsSession(
      c.wsUrl,
      c.token,
      afterHello((ws) => {
        for (let i = 0; i < 5000; i++) ws.send('', { fin: false });
        ws.send(' ', { fin: true });
      }),
    );
    const deflate = await wsSession(c.wsUrl, c.token, (ws) => ws.close(1000), { perMessageDeflate: true });
    outcomes['oversized'] = big.code;
    outcomes['5000 fragments'] = frags.code;
    expect(big.code).toBe(1009);
    expect(frags.code).toBe(1008);
    expect(deflate.extensions).toBeUndefined();
    expect(deflate.code).toBe(1000);
  });

  it('2,000 headers: refused with 431, collector up', async () => {
    const headers = Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    const r = await rawExchange(c.port, `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n\r\n`);
    outcomes['2000 headers'] = r.response.split('\r\n')[0];
    expect(r.response).toMatch(/^HTTP\/1\.1 431/);
    expect(c.proc.exitCode).toBeNull();
  });

  it('slowloris and idle sockets before the upgrade are closed by the header timeout while agents keep working', async () => {
    const before = rows();
    const slow = Array.from({ length: 200 }, () => slowloris(c.port, 1000, 60_000));
    // Idle sockets: timed from their connect (not from connect()), and any still open 20 s after it
    // is described as the kernel sees both of its ends, so a failure says which side held it.
    const late: string[] = [];
    const idle = Array.from({ length: 200 }, () => {
      const t0 = Date.now();
      let connectedAt = 0;
      const s = connect(c.port, '127.0.0.1');
      s.on('error', () => {});
      // Read what the collector sends (a 408 when its header timer fires first): a paused socket
      // with unread bytes never emits 'end', so it would look open here after the collector closed it.
      s.resume();
      s.once('connect', () => (connectedAt = Date.now()));
      const look = setTimeout(() => {
        const port = s.localPort;
        const seen = port === undefined ? 'never connected' : ssOf(port);
        late.push(`local port ${port ?? '?'}, connected after ${connectedAt === 0 ? 'never' : `${connectedAt - t0} ms`}: ${seen}`);
      }, 22_000);
      const guard = setTimeout(() => s.destroy(), 60_000);
      return new Promise<number>((resolve) =>
        s.on('close', () => {
          clearTimeout(look);
          clearTimeout(guard);
          resolve(Date.now() - (connectedAt === 0 ? t0 : connectedAt));
        }),
      );
    });
    // A fresh agent session during the attack works.
    await new Promise((r) => setTimeout(r, 2000));
    const fresh = await wsSession(c.wsUrl, c.token, (ws) => {
      ws.send(hello('fresh-during-attack'));
      ws.once('message', (m) => {
        const msg = JSON.parse(m.toString()) as { type: string };
        ws.close(msg.type === 'welcome' ? 1000 : 1011);
      });
    });
    const slowMs = await Promise.all(slow.map((s) => s.closed));
    const idleMs = await Promise.all(idle);
    outcomes['slowloris close ms max'] = Math.max(...slowMs);
    outcomes['idle pre-upgrade close ms max'] = Math.max(...idleMs);
    expect(fresh.code).toBe(1000);
    expect(Math.max(...slowMs)).toBeLessThan(20_000);
    expect(Math.max(...idleMs), late.join('\n')).toBeLessThan(20_000);
    expect(rows()).toBeGreaterThan(before + 10);
  });

  it('a session that never says hello is closed (4004); one that never answers pings is terminated', async () => {
    const hbDir = tempDir('badin-hb');
    const hb = await startCollector(hbDir.dir, ['--heartbeat', '1s']);
    const [noHello, noPong] = await Promise.all([
      wsSession(c.wsUrl, c.token, () => {}, {}, 30_000),
      wsSession(hb.wsUrl, hb.token, (ws) => ws.send(hello('no-pong')), { autoPong: false }, 30_000),
    ]).finally(async () => {
      await stopProc(hb);
      hbDir.cleanup();
    });
    outcomes['no hello'] = `${noHello.code} after ${noHello.ms} ms`;
    outcomes['no pong'] = `${noPong.code} after ${noPong.ms} ms`;
    expect(noHello.code).toBe(4004);
    expect(noHello.ms).toBeLessThan(15_000);
    expect(noPong.code).toBe(1006);
    expect(noPong.ms).toBeLessThan(5_000);
  });

  it('afterwards: collector up under its ceiling, the good agent never disconnected and has no holes, integrity ok', async () => {
    const hwm = memKb(c.pid);
    expect(c.proc.exitCode).toBeNull();
    await stopProc(agent);
    await stopProc(c);
    const hosts = query<{ name: string }>(c.db, 'SELECT name FROM hosts ORDER BY name').map((h) => h.name);
    report('S6-S11 bad input', {
      outcomes,
      collector_hwm_kb: hwm,
      hosts,
      good_agent_disconnects: agent.logs().filter((l) => l['msg'] === 'disconnected from collector').length,
      integrity: integrity(c.db),
    });
    expect(hosts).toEqual(['good']);
    expect(hwm).toBeLessThan(COLLECTOR_CEILING_KB);
    expect(agent.logs().filter((l) => l['msg'] === 'disconnected from collector')).toEqual([]);
    expect(seqHoles(c.db, 'good').every((b) => b.holes.length === 0)).toBe(true);
    expect(integrity(c.db)).toBe('ok');
  });
});
