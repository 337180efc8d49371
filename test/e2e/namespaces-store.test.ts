/**
 * Per-namespace storage and queries on the real kernel (issue 10, part 4), end to end: the live
 * topology of test/helpers/ns-topology.ts (namespaces held by processes in cgroups shaped like
 * docker, containerd under Kubernetes with the systemd and the cgroupfs drivers, cri-o and
 * podman, with known mixes of states in IPv4 and IPv6), a real agent with --namespaces and a real
 * collector, both in the test's "host" namespace. `tcpfleet containers --json`, `top --by
 * container` and `total --json`'s `namespaces` must equal `ip netns exec X ss -tan` in each
 * namespace and the agent's own `--once --json --namespaces`; `history --netns/--container`
 * returns that namespace's series.
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
import type { Made } from '../helpers/ns-topology.js';

const root = canNetns();
const mount = cgroup2Mount();
if ((!root || mount === null) && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2 and cgroup v2: the --namespaces live tests cannot be skipped there');

const TOKEN = 'ns-store-e2e-fleet-token-5b1f0c2e';
/** The collector listens on the loopback of the test's host namespace (nothing else reaches it). */
const URL_IN_NS = 'http://127.0.0.1:7070';
/** A long interval: the host stays live (three intervals) while the test reads a frozen latest snapshot. */
const INTERVAL_S = 20;

type Row = NamespaceEntry & { host: string };

describe.skipIf(!root || mount === null)('live kernel: namespaces stored by a real collector and queried', () => {
  const tmp = tempDir('ns-store-e2e');
  const procs: ChildProcess[] = [];
  let made: Made[] = [];
  let host = '';
  let withNs: string[] = [];
  let collector: Proc | null = null;
  let agent: Proc | null = null;

  /** Runs the CLI in the host namespace (where the collector listens). */
  const tcpfleet = (args: readonly string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, COLLECTOR_BIN, ...args, '--url', URL_IN_NS], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const json = <T>(args: readonly string[]): T => {
    const r = tcpfleet([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const rowOf = (rows: readonly Row[], m: Made): Row => {
    const r = rows.find((x) => x.netns === m.ino);
    if (r === undefined) throw new Error(`no row for ${m.spec.tag} (netns ${m.ino})`);
    return r;
  };

  let rows: Row[] = [];
  /** ss in each namespace and the agent's --once output, taken right after the latest snapshot was frozen (TIME_WAIT sockets expire 60 s after the topology made them). */
  const ssAt = new Map<string, { all: StateCounts; v4: StateCounts; v6: StateCounts }>();
  let once: Snapshot | null = null;

  beforeAll(async () => {
    ({ made, host, withNs } = await buildNsTopology(tmp.dir, mount ?? '', procs));
    const tokenFile = join(tmp.dir, 'fleet.token');
    writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
    const inNs = (bin: string, args: readonly string[]): Proc => startProc('ip', ['netns', 'exec', host, process.execPath, bin, ...args]);
    collector = inNs(COLLECTOR_BIN, ['serve', '--listen', '127.0.0.1:7070', '--db', join(tmp.dir, 'tcpfleet.db'), '--token-file', tokenFile]);
    const c = collector;
    await waitFor(
      () => {
        if (c.proc.exitCode !== null) throw new Error(`collector exited: ${c.stderr()}`);
        return c.logs().some((l) => l['msg'] === 'collector started');
      },
      'collector to listen',
      30_000,
    );
    // --walk-budget 0: every namespace walked for every snapshot, so the stored counts are exact.
    agent = inNs(AGENT_BIN, ['--collector', 'ws://127.0.0.1:7070', '--token-file', tokenFile, '--host-id', 'node-live', '--interval', String(INTERVAL_S), '--walk-budget', '0', ...withNs]);
    await waitFor(
      () => {
        const r = tcpfleet(['containers', '--json']);
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
    rows = json<Row[]>(['containers']);
    for (const ns of [host, ...made.map((m) => m.ns)]) ssAt.set(ns, { all: ssCounts(ns), v4: ssCounts(ns, '-4'), v6: ssCounts(ns, '-6') });
    const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, AGENT_BIN, '--once', '--json', '--walk-budget', '0', ...withNs], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`agent --once: ${r.stderr}`);
    once = JSON.parse(r.stdout) as Snapshot;
  }, 240_000);

  afterAll(async () => {
    if (agent !== null) await stopProc(agent, 'SIGKILL');
    if (collector !== null) await stopProc(collector, 'SIGKILL');
    await teardownNsTopology(procs);
    tmp.cleanup();
  });

  it('containers --json: each namespace of the topology, states = ss -tan there (IPv4 and IPv6), its container as the agent named it', () => {
    for (const m of made) {
      const r = rowOf(rows, m);
      expect(r.host).toBe('node-live');
      expect(r.states, m.spec.tag).toEqual(ssAt.get(m.ns)?.all);
      expect(r.ipv4, m.spec.tag).toEqual(ssAt.get(m.ns)?.v4);
      expect(r.ipv6, m.spec.tag).toEqual(ssAt.get(m.ns)?.v6);
      expect(r.container, m.spec.tag).toEqual(m.spec.want);
      expect(r.collect).toMatchObject({ states_age_ms: 0, states_unchanged: true });
    }
    // And equal to the agent's own --once --json --namespaces, run in the same namespace.
    for (const m of made) {
      const e = once?.namespaces?.find((x) => x.netns === m.ino);
      expect(e?.states, m.spec.tag).toEqual(rowOf(rows, m).states);
      expect(e?.container, m.spec.tag).toEqual(rowOf(rows, m).container);
    }
    const table = tcpfleet(['containers']);
    const ctrd = made.find((m) => m.spec.tag === 'ctrd')!;
    expect(table.stdout).toMatch(new RegExp(`^node-live\\s+${ctrd.ino}\\s+containerd\\s+shop/shop-7d9f8c6b5-x2k4q/nginx\\s+${rowOf(rows, ctrd).states.established}\\s`, 'm'));
  });

  it("total --json: the host's own states = ss in its namespace; namespaces = the sums of every entry, each topology namespace's share = ss", () => {
    const t = json<{ hosts: number; states: StateCounts; namespaces: { count: number; states: StateCounts; summary: { estab: number; timewait: number } } }>(['total']);
    expect(t.hosts).toBe(1);
    expect(t.states).toEqual(ssAt.get(host)?.all);
    const sum = emptyStates();
    for (const r of rows) for (const s of TCP_STATES) sum[s] += r.states[s];
    expect(t.namespaces.count).toBe(rows.length);
    expect(t.namespaces.states).toEqual(sum);
    expect(t.namespaces.summary).toEqual({ estab: rows.reduce((a, r) => a + r.summary.estab, 0), timewait: rows.reduce((a, r) => a + r.summary.timewait, 0) });
    // The topology's namespaces are in that sum with exactly their ss counts.
    for (const m of made) for (const s of TCP_STATES) expect(t.namespaces.states[s]).toBeGreaterThanOrEqual(ssAt.get(m.ns)!.all[s]);
  });

  it('top --by container: the entries ranked by a state, values = ss -tan in each namespace', () => {
    for (const state of ['established', 'close_wait', 'listen'] as const) {
      const top = json<{ host: string; netns: number; value: number; container: unknown }[]>(['top', '--by', 'container', '--state', state, '--limit', '10000']);
      expect(top).toHaveLength(rows.length);
      const values = top.map((t) => t.value);
      expect(values).toEqual([...values].sort((a, b) => b - a));
      for (const m of made) {
        const t = top.find((x) => x.netns === m.ino);
        expect(t?.value, `${m.spec.tag} ${state}`).toBe(ssAt.get(m.ns)?.all[state]);
        expect(t?.container).toEqual(m.spec.want);
      }
    }
    expect(tcpfleet(['top', '--by', 'container']).stdout).toMatch(/^RANK\s+HOST\s+NETNS\s+RUNTIME\s+CONTAINER\s+ESTABLISHED/m);
  });

  it("history --netns and --container (a prefix of the id) return that namespace's series", () => {
    const crio = made.find((m) => m.spec.tag === 'crio')!;
    const byNetns = json<Row[]>(['history', 'node-live', '--netns', String(crio.ino), '--since', '30m']);
    expect(byNetns.length).toBeGreaterThanOrEqual(1);
    expect(byNetns.every((r) => r.netns === crio.ino && r.host === 'node-live')).toBe(true);
    expect(byNetns.at(-1)?.states).toEqual(rowOf(rows, crio).states);
    expect(byNetns.at(-1)?.container).toEqual(crio.spec.want);
    const byId = json<Row[]>(['history', 'node-live', '--container', ID.crio.slice(0, 10), '--since', '30m']);
    expect(byId).toEqual(byNetns);
  });
});
