/**
 * --namespaces against today's collector (before the wire encodings carry namespaces): a daemon
 * agent with --namespaces keeps reporting its host as before, on one connection, and sends no
 * `namespaces` (packages/agent/src/namespaces/outbound.ts); a JSON batch that does carry the
 * field is accepted by the collector, which drops it (its schema strips unknown keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { Snapshot } from '@tcpfleet/common';
import { agentOnce, cli, killAll, startAgent, startCollector, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { hello, wsSession } from '../helpers/wire.js';
import { addNetns, canNetns, removeAllNetns, startConns } from '../helpers/netns.js';

describe('--namespaces with a collector that does not know namespaces yet', () => {
  const tmp = tempDir('netns-col');
  let col: Collector;
  let agent: Proc;

  beforeAll(async () => {
    col = await startCollector(tmp.dir);
    agent = startAgent(col, tmp.dir, ['--host-id', 'ns-daemon', '--namespaces', '--log-level', 'debug']);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  const host = (name: string): (Snapshot & { stale: boolean }) | undefined => {
    const r = cli(['hosts', '--json', '--url', col.url]);
    return r.code === 0 ? (JSON.parse(r.stdout) as (Snapshot & { stale: boolean })[]).find((h) => h.host === name) : undefined;
  };

  it('a daemon agent with --namespaces reports its host as before, on one connection, without namespaces', async () => {
    await waitFor(() => (host('ns-daemon')?.seq ?? 0) >= 4, 'four snapshots of ns-daemon stored');
    const h = host('ns-daemon');
    expect(h?.stale).toBe(false);
    expect(h).not.toHaveProperty('namespaces');
    expect(h?.collect).not.toHaveProperty('namespaces');
    const logs = agent.logs();
    expect(logs.filter((l) => l['msg'] === 'connected to collector')).toHaveLength(1);
    expect(logs.filter((l) => l['msg'] === 'disconnected from collector')).toHaveLength(0);
    expect(logs.some((l) => l['msg'] === 'per-namespace counts are taken but not sent yet: the wire encodings do not carry them (docs/namespaces.md)')).toBe(true);
    // The namespaces were sampled every interval all the same.
    const sampled = logs.filter((l) => l['msg'] === 'namespaces sampled');
    expect(sampled.length).toBeGreaterThanOrEqual(3);
    expect(sampled.at(-1)?.['namespaces']).toMatchObject({ overflow: 0 });
  });

  it('a JSON batch carrying namespaces is acknowledged and stored without them', async () => {
    let proc: { kill: (s: NodeJS.Signals) => boolean } | null = null;
    if (canNetns()) proc = (await startConns(addNetns('col'), { listen: 1, estab: 1 })).proc;
    const r = agentOnce(['--once', '--json', '--namespaces']);
    proc?.kill('SIGKILL');
    expect(r.code, r.stderr).toBe(0);
    const snap = { ...(JSON.parse(r.stdout) as Snapshot), host: 'json-ns', seq: 1, ts: Date.now() };
    expect(snap.namespaces?.length ?? 0).toBeGreaterThanOrEqual(canNetns() ? 1 : 0);
    let reply = '';
    const o = await wsSession(col.wsUrl, col.token, (ws: WebSocket) => {
      ws.send(hello('json-ns', snap.boot));
      ws.once('message', () => {
        ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [snap] }));
        ws.once('message', (m) => {
          reply = m.toString();
          ws.close(1000);
        });
      });
    });
    expect(o.code).toBe(1000);
    expect(JSON.parse(reply)).toMatchObject({ type: 'ack', id: 1 });
    await waitFor(() => host('json-ns') !== undefined, 'json-ns stored');
    const h = host('json-ns');
    expect(h?.states).toEqual(snap.states);
    expect(h).not.toHaveProperty('namespaces');
  });
});
