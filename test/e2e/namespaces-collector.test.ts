/**
 * Per-namespace counts through a real collector (issue 10 item 4, the wire): real agents with
 * --namespaces, one sending bin1 frames, one sending JSON (through a loopback relay that takes
 * "bin1" out of the collector's welcome, as an agent of a JSON-only collector sees it), next to
 * three network namespaces this test makes, each held by a process with loopback connections.
 * The collector's latest view of each host (GET /api/v1/hosts/:id, `tcpfleet hosts --json`)
 * has those namespaces with the states `tcpfleet-agent --once --json --namespaces` printed.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { agentOnce, cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { addNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import type { ConnsReady } from '../helpers/netns.js';
import { getJson } from '../helpers/http.js';

type HostView = Snapshot & { stale: boolean };

type Relay = { url: string; close: () => Promise<void> };

/** A WebSocket relay on loopback to the collector that removes `drop` from its welcome: `encodings` (the agent sends JSON), `features` (an older collector). */
async function relayWithout(target: string, drop: 'encodings' | 'features'): Promise<Relay> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (client, req) => {
    const up = new WebSocket(target, { headers: { authorization: req.headers.authorization ?? '' } });
    const early: [RawData, boolean][] = [];
    client.on('message', (d, isBinary) => (up.readyState === WebSocket.OPEN ? up.send(d, { binary: isBinary }) : early.push([d, isBinary])));
    up.on('open', () => {
      for (const [d, b] of early.splice(0)) up.send(d, { binary: b });
    });
    up.on('message', (d, isBinary) => {
      let out: RawData | string = d;
      if (!isBinary) {
        const m = JSON.parse(d.toString()) as { type: string; encodings?: string[]; features?: string[] };
        if (m.type === 'welcome') {
          if (drop === 'encodings') delete m.encodings;
          else delete m.features;
          out = JSON.stringify(m);
        }
      }
      client.send(out, { binary: isBinary });
    });
    const closeBoth = (): void => {
      client.terminate();
      up.terminate();
    };
    client.on('close', closeBoth);
    up.on('close', closeBoth);
    client.on('error', closeBoth);
    up.on('error', closeBoth);
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

/** The parts of an entry that do not move while its sockets are held (the host-wide sockstat and summary figures do). */
const steady = (e: NamespaceEntry): unknown => ({
  netns: e.netns,
  pid: e.pid,
  container: e.container,
  states: e.states,
  ipv4: e.ipv4,
  ipv6: e.ipv6,
  inuse: [e.sockstat.tcp_inuse, e.sockstat.tcp6_inuse, e.sockstat.tcp_tw],
  estab: e.summary.estab,
  curr: e.snmp['CurrEstab'],
});

describe('namespaces through a real collector, over bin1 and over JSON', () => {
  const tmp = tempDir('netns-wire');
  let col: Collector;
  const agents: Proc[] = [];
  const relays: Relay[] = [];
  const mine: { name: string; ino: number; ready: ConnsReady }[] = [];

  beforeAll(async () => {
    col = await startCollector(tmp.dir);
    const mixes = [
      { listen: 1, estab: 3 },
      { listen: 2, estab: 1, closewait: 2 },
      { listen: 2, estab: 2, estab6: 2 },
    ];
    for (const [i, mix] of mixes.entries()) {
      const name = addNetns(`wire${i}`);
      const { ready } = await startConns(name, { ...mix, port: 20_000 + 10 * i });
      mine.push({ name, ino: statSync(`/run/netns/${name}`).ino, ready });
    }
  });

  afterAll(async () => {
    for (const r of relays) await r.close();
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it("each host's latest view carries the namespaces the agent printed, whichever encoding brought them", async () => {
    const once = agentOnce(['--once', '--json', '--namespaces']);
    expect(once.code, once.stderr).toBe(0);
    const printed = JSON.parse(once.stdout) as Snapshot;
    const want = mine.map((m) => printed.namespaces?.find((e) => e.netns === m.ino));
    for (const [i, e] of want.entries()) {
      expect(e, `namespace ${mine[i]!.name} printed`).toBeDefined();
      // The mix this test made is what the agent counted.
      expect(e!.states.listen).toBe(mine[i]!.ready.listen);
      expect(e!.states.established).toBe(mine[i]!.ready.established);
      expect(e!.states.close_wait).toBe(mine[i]!.ready.close_wait);
    }
    expect(want[2]!.ipv6.established).toBeGreaterThan(0);

    const relay = await relayWithout(col.wsUrl, 'encodings');
    relays.push(relay);
    agents.push(startAgent(col, tmp.dir, ['--host-id', 'ns-bin1', '--namespaces']));
    agents.push(startAgent({ wsUrl: relay.url, token: col.token }, tmp.dir, ['--host-id', 'ns-json', '--namespaces']));

    const latest = async (host: string): Promise<HostView | null> => {
      try {
        return await getJson<HostView>(`${col.url}/api/v1/hosts/${host}`);
      } catch {
        return null;
      }
    };
    const matches = (h: HostView | null): boolean => want.every((w) => h?.namespaces?.some((e) => JSON.stringify(steady(e)) === JSON.stringify(steady(w!))) === true);
    for (const host of ['ns-bin1', 'ns-json']) {
      await waitFor(async () => matches(await latest(host)), `${host}'s latest with the test's namespaces`, 30_000, 200);
      const h = (await latest(host))!;
      expect(h.stale).toBe(false);
      for (const w of want) expect(steady(h.namespaces!.find((e) => e.netns === w!.netns)!)).toEqual(steady(w!));
      expect(h.collect.namespaces).toMatchObject({ overflow: 0, errors: [] });
      expect(h.collect.namespaces!.reported).toBe(h.namespaces!.length);
      // Every entry is whole: the JSON shape of the agent's own output.
      for (const e of h.namespaces!) expect(Object.keys(e)).toEqual(Object.keys(want[0]!));
      // The hosts list (tcpfleet hosts --json) leaves the entries out (GET /api/v1/hosts/ID and
      // containers have them) but keeps what the agent found.
      const listed = JSON.parse(cli(['hosts', '--json', '--url', col.url]).stdout) as HostView[];
      const row = listed.find((x) => x.host === host)!;
      expect(row).not.toHaveProperty('namespaces');
      // (A newer snapshot may have come in since h was read: compare what does not move.)
      expect(row.collect.namespaces).toMatchObject({ found: h.collect.namespaces!.found, reported: h.collect.namespaces!.reported, overflow: 0, errors: [] });
    }
    // One agent sent bin1 frames, the other JSON: the collector counted both kinds.
    const health = (await (await fetch(`${col.url}/healthz`)).json()) as { batch_frames: { json: number; bin1: number } };
    expect(health.batch_frames.bin1).toBeGreaterThan(0);
    expect(health.batch_frames.json).toBeGreaterThan(0);
    for (const a of agents) {
      expect(a.logs().filter((l) => l['msg'] === 'connected to collector')).toHaveLength(1);
      expect(a.logs().filter((l) => l['level'] === 50)).toEqual([]);
    }
    for (const a of agents.splice(0)) await stopProc(a);
  });

  it('to a collector whose welcome lacks the feature ns1, the agent sends its snapshots without namespaces and says so once', async () => {
    const old = await relayWithout(col.wsUrl, 'features');
    relays.push(old);
    const agent = startAgent({ wsUrl: old.url, token: col.token }, tmp.dir, ['--host-id', 'ns-old', '--namespaces']);
    agents.push(agent);
    const latest = async (): Promise<HostView | null> => getJson<HostView>(`${col.url}/api/v1/hosts/ns-old`).catch(() => null);
    await waitFor(async () => ((await latest())?.seq ?? 0) >= 3, 'three snapshots of ns-old', 30_000, 200);
    const h = (await latest())!;
    expect(h).not.toHaveProperty('namespaces');
    expect(h.collect).not.toHaveProperty('namespaces');
    expect(h.stale).toBe(false);
    const warned = agent.logs().filter((l) => typeof l['msg'] === 'string' && l['msg'].includes('does not accept per-namespace counts'));
    expect(warned).toHaveLength(1);
    expect(agent.logs().filter((l) => l['msg'] === 'connected to collector')).toHaveLength(1);
    await stopProc(agent);
  });
});
