/**
 * Per-namespace storage and queries on the real kernel (issue 10, part 4), end to end: the live
 * topology of test/helpers/ns-topology.ts (namespaces held by processes in cgroups shaped like
 * docker, containerd under Kubernetes with the systemd and the cgroupfs drivers, cri-o and
 * podman, with known mixes of states in IPv4 and IPv6), a real agent with --namespaces and a real
 * collector, both in the test's "host" namespace. `tcpfleet containers --json`, `top --by
 * container` and `total --json`'s `namespaces` must equal `ip netns exec X ss -tan` in each
 * namespace and the agent's own `--once --json --namespaces`; `history --netns/--container`
 * returns that namespace's series. Twice: with the snapshot the agent's `--once --json
 * --namespaces` printed, stored by the collector's store (SqliteStore.ingest, as a session stores
 * a batch) before a real collector starts on that database; and with a real agent sending its
 * snapshots to a real collector (this part needs the wire encodings to carry `namespaces`:
 * issue 10, engineer nswire).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TCP_STATES, emptyStates } from '@tcpfleet/common';
import type { NamespaceEntry, Snapshot, StateCounts } from '@tcpfleet/common';
import { canNetns } from '../helpers/netns.js';
import { AGENT_BIN, COLLECTOR_BIN, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { ssCounts } from '../helpers/ss.js';
import { cgroup2Mount } from '../helpers/cgroups.js';
import { ID, buildNsTopology, teardownNsTopology } from '../helpers/ns-topology.js';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import type { Made } from '../helpers/ns-topology.js';

const root = canNetns();
const mount = cgroup2Mount();
if ((!root || mount === null) && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2 and cgroup v2: the --namespaces live tests cannot be skipped there');

const TOKEN = 'ns-store-e2e-fleet-token-5b1f0c2e';
/** The collectors listen on the loopback of the test's host namespace (nothing else reaches it). */
/** A long interval: the host stays live (three intervals) while the test reads a frozen latest snapshot. */
const INTERVAL_S = 20;

type Row = NamespaceEntry & { host: string };

/** What one way of storing gives the queries: the host's name, the collector's URL, and figures taken when its latest snapshot was frozen. */
interface Case {
  hostId: string;
  url: string;
  rows: Row[];
  /** ss in each namespace, taken right after the latest snapshot was frozen (TIME_WAIT sockets expire 60 s after the topology made them). */
  ssAt: Map<string, { all: StateCounts; v4: StateCounts; v6: StateCounts }>;
  /** The agent's --once --json --namespaces output taken then. */
  once: Snapshot;
  /**
   * What `total`'s own states must be: ss in the host namespace when nothing else ran there
   * between the snapshot and ss; with a live collector and agent there (their connections come
   * and go), the host snapshot as stored.
   */
  hostStates: StateCounts;
}

describe.skipIf(!root || mount === null)('live kernel: namespaces stored by a real collector and queried', () => {
  const tmp = tempDir('ns-store-e2e');
  const procs: ChildProcess[] = [];
  let made: Made[] = [];
  let host = '';
  let withNs: string[] = [];
  let tokenFile = '';
  const started: Proc[] = [];

  /** Runs the CLI in the host namespace (where the collectors listen). */
  const tcpfleet = (url: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, COLLECTOR_BIN, ...args, '--url', url], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const rowOf = (rows: readonly Row[], m: Made): Row => {
    const r = rows.find((x) => x.netns === m.ino);
    if (r === undefined) throw new Error(`no row for ${m.spec.tag} (netns ${m.ino})`);
    return r;
  };
  const inNs = (bin: string, args: readonly string[]): Proc => {
    const p = startProc('ip', ['netns', 'exec', host, process.execPath, bin, ...args]);
    started.push(p);
    return p;
  };
  /** Starts a collector in the host namespace on `port` over `db`; its URL there. */
  const startCollectorInNs = async (port: number, db: string): Promise<string> => {
    const c = inNs(COLLECTOR_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--token-file', tokenFile]);
    await waitFor(
      () => {
        if (c.proc.exitCode !== null) throw new Error(`collector exited: ${c.stderr()}`);
        return c.logs().some((l) => l['msg'] === 'collector started');
      },
      'collector to listen',
      30_000,
    );
    return `http://127.0.0.1:${port}`;
  };
  /** ss in the host and each topology namespace, and the agent's --once output, now. */
  const figures = (): Pick<Case, 'ssAt' | 'once'> => {
    const ssAt: Case['ssAt'] = new Map();
    for (const ns of [host, ...made.map((m) => m.ns)]) ssAt.set(ns, { all: ssCounts(ns), v4: ssCounts(ns, '-4'), v6: ssCounts(ns, '-6') });
    const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, AGENT_BIN, '--once', '--json', '--walk-budget', '0', ...withNs], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`agent --once: ${r.stderr}`);
    return { ssAt, once: JSON.parse(r.stdout) as Snapshot };
  };

  beforeAll(async () => {
    ({ made, host, withNs } = await buildNsTopology(tmp.dir, mount ?? '', procs));
    tokenFile = join(tmp.dir, 'fleet.token');
    writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  }, 180_000);

  afterAll(async () => {
    for (const p of started) await stopProc(p, 'SIGKILL');
    await teardownNsTopology(procs);
    tmp.cleanup();
  });

  /** The query assertions, for a case built by `get`. */
  const queries = (get: () => Case): void => {
    const json = <T>(args: readonly string[]): T => {
      const r = tcpfleet(get().url, [...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as T;
    };
    it('containers --json: each namespace of the topology, states = ss -tan there (IPv4 and IPv6), its container as the agent named it', () => {
      for (const m of made) {
        const r = rowOf(get().rows, m);
        expect(r.host).toBe(get().hostId);
        expect(r.states, m.spec.tag).toEqual(get().ssAt.get(m.ns)?.all);
        expect(r.ipv4, m.spec.tag).toEqual(get().ssAt.get(m.ns)?.v4);
        expect(r.ipv6, m.spec.tag).toEqual(get().ssAt.get(m.ns)?.v6);
        expect(r.container, m.spec.tag).toEqual(m.spec.want);
        expect(r.collect).toMatchObject({ states_age_ms: 0, states_unchanged: true });
      }
      // And equal to the agent's own --once --json --namespaces, run in the same namespace.
      for (const m of made) {
        const e = get().once.namespaces?.find((x) => x.netns === m.ino);
        expect(e?.states, m.spec.tag).toEqual(rowOf(get().rows, m).states);
        expect(e?.container, m.spec.tag).toEqual(rowOf(get().rows, m).container);
      }
      const table = tcpfleet(get().url, ['containers']);
      const ctrd = made.find((m) => m.spec.tag === 'ctrd')!;
      expect(table.stdout).toMatch(new RegExp(`^${get().hostId}\\s+${ctrd.ino}\\s+containerd\\s+shop/shop-7d9f8c6b5-x2k4q/nginx\\s+${rowOf(get().rows, ctrd).states.established}\\s`, 'm'));
    });

    it("total --json: the host's own states (= ss in its namespace); namespaces = the sums of every entry, each topology namespace's share = ss", () => {
      const t = json<{ hosts: number; states: StateCounts; namespaces: { count: number; states: StateCounts; summary: { estab: number; timewait: number } } }>(['total']);
      expect(t.hosts).toBe(1);
      expect(t.states).toEqual(get().hostStates);
      expect(t.states.listen).toBe(get().ssAt.get(host)?.all.listen);
      const sum = emptyStates();
      for (const r of get().rows) for (const s of TCP_STATES) sum[s] += r.states[s];
      expect(t.namespaces.count).toBe(get().rows.length);
      expect(t.namespaces.states).toEqual(sum);
      expect(t.namespaces.summary).toEqual({ estab: get().rows.reduce((a, r) => a + r.summary.estab, 0), timewait: get().rows.reduce((a, r) => a + r.summary.timewait, 0) });
      // The topology's namespaces are in that sum with exactly their ss counts.
      for (const m of made) for (const s of TCP_STATES) expect(t.namespaces.states[s]).toBeGreaterThanOrEqual(get().ssAt.get(m.ns)!.all[s]);
    });

    it('top --by container: the entries ranked by a state, values = ss -tan in each namespace', () => {
      for (const state of ['established', 'close_wait', 'listen'] as const) {
        const top = json<{ host: string; netns: number; value: number; container: unknown }[]>(['top', '--by', 'container', '--state', state, '--limit', '10000']);
        expect(top).toHaveLength(get().rows.length);
        const values = top.map((t) => t.value);
        expect(values).toEqual([...values].sort((a, b) => b - a));
        for (const m of made) {
          const t = top.find((x) => x.netns === m.ino);
          expect(t?.value, `${m.spec.tag} ${state}`).toBe(get().ssAt.get(m.ns)?.all[state]);
          expect(t?.container).toEqual(m.spec.want);
        }
      }
      expect(tcpfleet(get().url, ['top', '--by', 'container']).stdout).toMatch(/^RANK\s+HOST\s+NETNS\s+RUNTIME\s+CONTAINER\s+ESTABLISHED/m);
    });

    it("history --netns and --container (a prefix of the id) return that namespace's series", () => {
      const crio = made.find((m) => m.spec.tag === 'crio')!;
      const byNetns = json<Row[]>(['history', get().hostId, '--netns', String(crio.ino), '--since', '30m']);
      expect(byNetns.length).toBeGreaterThanOrEqual(1);
      expect(byNetns.every((r) => r.netns === crio.ino && r.host === get().hostId)).toBe(true);
      expect(byNetns.at(-1)?.states).toEqual(rowOf(get().rows, crio).states);
      expect(byNetns.at(-1)?.container).toEqual(crio.spec.want);
      const byId = json<Row[]>(['history', get().hostId, '--container', ID.crio.slice(0, 10), '--since', '30m']);
      expect(byId).toEqual(byNetns);
    });
  };

  describe("stored from the agent's own --once output (the store's ingest), queried through a real collector", () => {
    let c: Case | null = null;
    beforeAll(async () => {
      const f = figures();
      // As a session stores a batch; a long interval keeps the host live while the test reads.
      const store = new SqliteStore({ path: join(tmp.dir, 'once.db') });
      await store.ingest([{ host: 'node-once', labels: {}, snapshots: [{ ...f.once, host: 'node-once', seq: 1, ts: Date.now(), interval_ms: 600_000 }] }], Date.now());
      await store.close();
      const url = await startCollectorInNs(7071, join(tmp.dir, 'once.db'));
      const r = tcpfleet(url, ['containers', '--json']);
      if (r.code !== 0) throw new Error(r.stderr);
      c = { hostId: 'node-once', url, rows: JSON.parse(r.stdout) as Row[], ...f, hostStates: f.ssAt.get(host)!.all };
    }, 120_000);
    queries(() => c!);
  });

  describe('sent by a real agent over the wire to a real collector', () => {
    let c: Case | null = null;
    beforeAll(async () => {
      const url = await startCollectorInNs(7070, join(tmp.dir, 'tcpfleet.db'));
      // --walk-budget 0: every namespace walked for every snapshot, so the stored counts are exact.
      const agent = inNs(AGENT_BIN, ['--collector', 'ws://127.0.0.1:7070', '--token-file', tokenFile, '--host-id', 'node-live', '--interval', String(INTERVAL_S), '--walk-budget', '0', ...withNs]);
      await waitFor(
        () => {
          const r = tcpfleet(url, ['containers', '--json']);
          if (r.code !== 0) return false;
          const got = JSON.parse(r.stdout) as Row[];
          return made.every((m) => got.some((x) => x.netns === m.ino));
        },
        'every namespace of the topology in `tcpfleet containers`',
        60_000,
        500,
      );
      // Freeze the latest snapshot: the agent stops, the host stays live for three intervals.
      await stopProc(agent);
      const r = tcpfleet(url, ['containers', '--json']);
      if (r.code !== 0) throw new Error(r.stderr);
      const stored = tcpfleet(url, ['host', 'node-live', '--json']);
      if (stored.code !== 0) throw new Error(stored.stderr);
      c = { hostId: 'node-live', url, rows: JSON.parse(r.stdout) as Row[], ...figures(), hostStates: (JSON.parse(stored.stdout) as Snapshot).states };
    }, 120_000);
    queries(() => c!);
  });
});
