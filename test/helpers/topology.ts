/**
 * The fault suite's network: a `hub` namespace holding a bridge (10.77.0.1/16) and the collector,
 * and one namespace per agent (10.77.1.N/16) joined to the bridge by a veth pair whose hub end is
 * `vN`. Partitions are `ip -n HUB link set vN down`. Everything lives in namespaces named by
 * netns.ts (prefix tf<pid>-), removed by removeAllNetns() also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addNetns } from './netns.js';
import { AGENT_BIN, COLLECTOR_BIN, startProc, waitFor } from './procs.js';
import type { Proc } from './procs.js';

export const HUB_ADDR = '10.77.0.1';
export const HUB_PORT = 7070;

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
};

/** Creates the hub namespace and its bridge. */
export function makeHub(): string {
  const hub = addNetns('hub');
  ip('-n', hub, 'link', 'add', 'br77', 'type', 'bridge');
  ip('-n', hub, 'addr', 'add', `${HUB_ADDR}/16`, 'dev', 'br77');
  ip('-n', hub, 'link', 'set', 'br77', 'up');
  return hub;
}

/** A leaf namespace on the bridge. */
export interface Leaf {
  ns: string;
  veth: string;
  addr: string;
}

/** Creates leaf `i` (1-250) and joins it to the hub's bridge. */
export function addLeaf(hub: string, i: number): Leaf {
  const ns = addNetns(`a${i}`);
  const veth = `v${i}`;
  ip('-n', hub, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('-n', hub, 'link', 'set', veth, 'master', 'br77', 'up');
  const addr = `10.77.1.${i}`;
  ip('-n', ns, 'addr', 'add', `${addr}/16`, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  return { ns, veth, addr };
}

/** Cuts (down) or restores (up) a leaf's link at the hub end. */
export function setLink(hub: string, leaf: Leaf, up: boolean): void {
  ip('-n', hub, 'link', 'set', leaf.veth, up ? 'up' : 'down');
}

/** A collector started in the hub namespace. */
export interface NsCollector extends Proc {
  db: string;
  token: string;
  wsUrl: string;
  /** When it started listening, by its own log line. */
  startedAt: number;
}

export const FLEET_TOKEN = 'fault-suite-fleet-token-7c1e2b9a4d';

/** Fault injection for a collector of the fault suite (started through test/helpers/fault-collector.mjs). */
export interface CollectorFaults {
  /** Every N-th committed batch cuts its connection instead of being acknowledged. */
  dropAckEvery?: number;
  /** Each ingest transaction waits this long before its COMMIT. */
  commitDelayMs?: number;
}

const FAULT_COLLECTOR = new URL('./fault-collector.mjs', import.meta.url).pathname;

/**
 * Starts `tcpfleet serve` inside `ns` on HUB_ADDR:HUB_PORT and waits until it listens. Reads stay
 * open (--public-read: the address is not loopback, but only the test's namespaces reach it). With
 * `faults`, the collector is the test-only entry that injects them.
 */
export async function startNsCollector(ns: string, dir: string, extra: readonly string[] = [], faults: CollectorFaults | null = null): Promise<NsCollector> {
  const tokenFile = join(dir, 'fleet.token');
  writeFileSync(tokenFile, FLEET_TOKEN + '\n', { mode: 0o600 });
  const db = join(dir, 'tcpfleet.db');
  const serveArgs = ['--listen', `${HUB_ADDR}:${HUB_PORT}`, '--db', db, '--token-file', tokenFile, '--public-read', ...extra];
  const faultArgs =
    faults === null ? [] : Object.entries({ '--drop-ack-every': faults.dropAckEvery, '--commit-delay-ms': faults.commitDelayMs }).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
  const cmd = faults === null ? [COLLECTOR_BIN, 'serve', ...serveArgs] : [FAULT_COLLECTOR, ...faultArgs, '--', ...serveArgs];
  const p = startProc('ip', ['netns', 'exec', ns, process.execPath, ...cmd]);
  await waitFor(
    () => {
      if (p.proc.exitCode !== null) throw new Error(`collector exited: ${p.stderr()}`);
      return p.logs().some((l) => l['msg'] === 'collector started');
    },
    'collector to listen',
    30_000,
  );
  const startedAt = Number(p.logs().find((l) => l['msg'] === 'collector started')?.['time']);
  return { ...p, db, token: FLEET_TOKEN, wsUrl: `ws://${HUB_ADDR}:${HUB_PORT}`, startedAt };
}

/** Starts a real agent inside a leaf namespace, with a 0600 token file. */
export function startNsAgent(ns: string, dir: string, hostId: string, args: readonly string[], token = FLEET_TOKEN): Proc {
  const tokenFile = join(dir, `${hostId}.token`);
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  return startProc('ip', ['netns', 'exec', ns, process.execPath, AGENT_BIN, '--collector', `ws://${HUB_ADDR}:${HUB_PORT}`, '--token-file', tokenFile, '--host-id', hostId, ...args]);
}

/** Starts the load simulator inside a namespace. */
export function startSimulator(ns: string, dir: string, tag: string, sessions: number, extra: readonly string[] = []): Proc & { sideLog: string; statusFile: string } {
  const tokenFile = join(dir, 'sim.token');
  writeFileSync(tokenFile, FLEET_TOKEN + '\n', { mode: 0o600 });
  const sideLog = join(dir, `${tag}.side.log`);
  const statusFile = join(dir, `${tag}.status.json`);
  const bin = new URL('./simulator.mjs', import.meta.url).pathname;
  const p = startProc('ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    bin,
    '--url',
    `ws://${HUB_ADDR}:${HUB_PORT}`,
    '--token-file',
    tokenFile,
    '--sessions',
    String(sessions),
    '--prefix',
    tag,
    '--side-log',
    sideLog,
    '--status-file',
    statusFile,
    ...extra,
  ]);
  return { ...p, sideLog, statusFile };
}

/** What the simulator last reported. */
export interface SimStatus {
  sessions: number;
  ready: number;
  queued: number;
  generated: number;
  acked: number;
  dropped: number;
  nacked: number;
  opens: number;
  refused: number;
  maxAttempts: number;
  recoveries: { host: string; down_at: number; first_ack_at: number }[];
  opens_at?: number[];
  rss: number;
}

export function simStatus(file: string): SimStatus | null {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as SimStatus & { opens: number | number[] };
    const opensAt = Array.isArray(raw.opens) ? raw.opens : [];
    return { ...raw, opens: opensAt.length, opens_at: opensAt };
  } catch {
    return null;
  }
}
