/**
 * The namespace queries (issue 10) through a real collector process and the real CLI: the
 * collector starts on a database holding snapshots with `namespaces` (stored by the SQLite store,
 * as its ingest stores them), loads them as its fleet, and answers `containers`, `top --by
 * container`, `total` (its `namespaces`) and `history --netns/--container` from them. The wire
 * path (agents sending namespaces) is test/e2e/namespaces-store.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TCP_STATES, emptyStates } from '@tcpfleet/common';
import type { NamespaceEntry, StateCounts } from '@tcpfleet/common';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { cli, killAll, startCollector, tempDir } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';
import { getJson, httpGet } from '../helpers/http.js';
import { synthNamespace, synthSnapshot } from '../helpers/snapshots.js';

const POD = { runtime: 'containerd' as const, id: 'ab'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'shop-1', namespace: 'shop', name: 'nginx', other_ids: ['cd'.repeat(32)] };
const DOCKER = { runtime: 'docker' as const, id: 'abef'.repeat(16), name: 'redis' };

describe('namespace queries through a real collector', () => {
  const tmp = tempDir('ns-queries');
  let col: Collector;
  const now = Date.now();
  // node-1: three namespaces over three snapshots; node-2: one; old-1: stale (left out).
  const n1 = [synthNamespace(4026532001, 5, POD), synthNamespace(4026532002, 9, DOCKER), synthNamespace(4026532003, 13, null)];
  const n2 = [synthNamespace(4026532001, 21, null)];
  const live = { 'node-1': n1, 'node-2': n2 };

  beforeAll(async () => {
    const store = new SqliteStore({ path: join(tmp.dir, 'tcpfleet.db') });
    const snap = (host: string, seq: number, ts: number, ns: NamespaceEntry[]) => ({ ...synthSnapshot(host, ts, seq, seq), interval_ms: 600_000, namespaces: ns });
    await store.ingest(
      [
        {
          host: 'node-1',
          labels: {},
          snapshots: [1, 2, 3].map((seq) =>
            snap(
              'node-1',
              seq,
              now - (4 - seq) * 60_000,
              n1.map((e) => ({ ...e, states: { ...e.states, established: e.states.established + seq }, ipv4: { ...e.ipv4, established: e.ipv4.established + seq } })),
            ),
          ),
        },
      ],
      now - 1000,
    );
    await store.ingest([{ host: 'node-1', labels: {}, snapshots: [snap('node-1', 4, now - 1000, n1)] }], now);
    await store.ingest([{ host: 'node-2', labels: {}, snapshots: [snap('node-2', 1, now - 1000, n2)] }], now);
    await store.ingest([{ host: 'old-1', labels: {}, snapshots: [{ ...synthSnapshot('old-1', now - 3_600_000, 1, 1), namespaces: [synthNamespace(7, 7)] }] }], now - 3_600_000);
    await store.close();
    col = await startCollector(tmp.dir);
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  const json = <T>(args: string[]): T => {
    const r = cli([...args, '--json', '--url', col.url]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  it('containers --json: every entry of live hosts as sent, with host added; --host and --state', () => {
    const rows = json<(NamespaceEntry & { host: string })[]>(['containers']);
    expect(rows).toEqual([...n1.map((e) => ({ host: 'node-1', ...e })), ...n2.map((e) => ({ host: 'node-2', ...e }))]);
    expect(Object.keys(rows[0]!)[0]).toBe('host');
    expect(json<unknown[]>(['containers', '--host', 'node-2'])).toEqual(n2.map((e) => ({ host: 'node-2', ...e })));
    const byTw = json<{ states: StateCounts }[]>(['containers', '--state', 'time_wait']).map((r) => r.states.time_wait);
    expect(byTw).toEqual([...byTw].sort((a, b) => b - a));
    const table = cli(['containers', '--url', col.url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^HOST\s+NETNS\s+RUNTIME\s+CONTAINER\s+ESTAB\s+TIME_WAIT\s+CLOSE_WAIT\s+LISTEN\s+ALL\s+AGE/m);
    expect(table.stdout).toMatch(new RegExp(`^node-1\\s+4026532001\\s+containerd\\s+shop/shop-1/nginx\\s+${n1[0]!.states.established}\\s`, 'm'));
    expect(table.stdout).toMatch(/^node-1\s+4026532002\s+docker\s+redis\s/m);
    expect(table.stdout).toMatch(/^node-1\s+4026532003\s+-\s+-\s/m);
    expect(table.stdout).not.toContain('old-1');
  });

  it('top --by container ranks the entries of live hosts by a state (default established)', () => {
    const all = Object.entries(live).flatMap(([host, es]) => es.map((e) => ({ host, netns: e.netns, container: e.container, value: e.states.close_wait })));
    all.sort((a, b) => b.value - a.value || (a.host < b.host ? -1 : a.host > b.host ? 1 : a.netns - b.netns));
    const top = json<{ host: string; netns: number; value: number }[]>(['top', '--by', 'container', '--state', 'close_wait', '--limit', '3']);
    expect(top.map((t) => ({ host: t.host, netns: t.netns, value: t.value }))).toEqual(all.slice(0, 3).map((t) => ({ host: t.host, netns: t.netns, value: t.value })));
    const est = json<{ value: number }[]>(['top', '--by', 'container']).map((t) => t.value);
    expect(est).toEqual(
      Object.values(live)
        .flatMap((es) => es.map((e) => e.states.established))
        .sort((a, b) => b - a),
    );
    const table = cli(['top', '--by', 'container', '--url', col.url]);
    expect(table.stdout).toMatch(/^RANK\s+HOST\s+NETNS\s+RUNTIME\s+CONTAINER\s+ESTABLISHED/m);
  });

  it("total keeps the hosts' own sums and adds namespaces {count, states, summary} over live hosts' entries", async () => {
    const t = json<{ hosts: number; states: StateCounts; namespaces: { count: number; states: StateCounts; summary: { estab: number; timewait: number } } }>(['total']);
    expect(t.hosts).toBe(2);
    const want = emptyStates();
    let estab = 0;
    let timewait = 0;
    for (const e of [...n1, ...n2]) {
      for (const s of TCP_STATES) want[s] += e.states[s];
      estab += e.summary.estab;
      timewait += e.summary.timewait;
    }
    expect(t.namespaces).toEqual({ count: 4, states: want, summary: { estab, timewait } });
    // The host part is what it was: the hosts' own snapshots.
    const hosts = await getJson<{ host: string; states: StateCounts; stale: boolean }[]>(`${col.url}/api/v1/hosts`);
    expect(t.states.established).toBe(hosts.filter((h) => !h.stale).reduce((a, h) => a + h.states.established, 0));
    const text = cli(['total', '--url', col.url]).stdout;
    expect(text).toMatch(/^STATE\s+HOSTS\s+NAMESPACES\s+ALL/m);
    expect(text).toMatch(new RegExp(`^established\\s+${t.states.established}\\s+${want.established}\\s+${t.states.established + want.established}$`, 'm'));
  });

  it('history --netns and --container (a unique id prefix) walk that namespace series, oldest first', () => {
    const rows = json<(NamespaceEntry & { host: string; ts: number; seq: number })[]>(['history', 'node-1', '--netns', '4026532002', '--since', '10m']);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(rows.map((r) => r.states.established)).toEqual([1, 2, 3, 0].map((k) => n1[1]!.states.established + k));
    expect(rows.every((r) => r.netns === 4026532002 && r.host === 'node-1')).toBe(true);
    expect(rows.at(-1)).toMatchObject({ ...n1[1], host: 'node-1', seq: 4 });
    // By container id: a prefix, the full id, or another container of the pod.
    expect(json<{ netns: number }[]>(['history', 'node-1', '--container', 'abef', '--since', '10m']).map((r) => r.netns)).toEqual([4026532002, 4026532002, 4026532002, 4026532002]);
    expect(json<{ netns: number }[]>(['history', 'node-1', '--container', 'cd'.repeat(32), '--since', '10m'])[0]?.netns).toBe(4026532001);
    // "ab" starts both abab… and abef…: refused, naming both.
    const amb = cli(['history', 'node-1', '--container', 'ab', '--url', col.url]);
    expect(amb.code).not.toBe(0);
    expect(amb.stderr).toMatch(/--container ab matches 2 namespaces of node-1/);
    const none = cli(['history', 'node-1', '--container', 'ffff', '--url', col.url]);
    expect(none.stderr).toMatch(/no namespace of node-1 held by a container ffff/);
    const both = cli(['history', 'node-1', '--container', 'ab', '--netns', '1', '--url', col.url]);
    expect(both.stderr).toMatch(/--netns and --container/);
    const table = cli(['history', 'node-1', '--netns', '4026532003', '--since', '10m', '--url', col.url]);
    expect(table.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('the routes: series list, paged namespace history with a cursor, 404 and 400', async () => {
    const series = await getJson<{ netns: number; container: unknown }[]>(`${col.url}/api/v1/hosts/node-1/netns`);
    expect(series.map((s) => [s.netns, s.container])).toEqual(n1.map((e) => [e.netns, e.container]));
    const p1 = await httpGet(`${col.url}/api/v1/hosts/node-1/netns/4026532001/history?since=${now - 600_000}&limit=3`);
    expect(p1.status).toBe(200);
    expect(p1.headers['x-tcpfleet-resolution']).toBe('raw');
    const cursor = String(p1.headers['x-tcpfleet-next-cursor']);
    const p2 = await httpGet(`${col.url}/api/v1/hosts/node-1/netns/4026532001/history?cursor=${cursor}&limit=3`);
    expect([...(JSON.parse(p1.body) as { seq: number }[]), ...(JSON.parse(p2.body) as { seq: number }[])].map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(p2.headers['x-tcpfleet-next-cursor']).toBeUndefined();
    expect((await httpGet(`${col.url}/api/v1/hosts/nobody/netns/1/history`)).status).toBe(404);
    expect((await httpGet(`${col.url}/api/v1/hosts/node-1/netns/x1/history`)).status).toBe(400);
    expect((await httpGet(`${col.url}/api/v1/top?by=containers`)).status).toBe(400);
  });
});
