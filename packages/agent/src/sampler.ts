/**
 * Takes one snapshot of a network namespace from a procfs root: net/tcp and net/tcp6 streamed
 * through the byte scanner (with the breakdown filled in the same pass), then sockstat(6), snmp
 * and netstat. One failing file never fails the whole: its problem goes into collect.errors and
 * the figures it feeds stay zero.
 */
import {
  BreakdownCollector,
  NetTcpScanner,
  TcpfleetError,
  addStates,
  computeSsSummary,
  emptySockstat,
  emptyStates,
  parseNetNetstat,
  parseNetSnmp,
  parseSockstat,
  readProcFile,
  statesFromArray,
  streamProcFile,
} from '@tcpfleet/common/agent';
import type { Breakdown, Counters, Snapshot, Sockstat, StateCounts } from '@tcpfleet/common/agent';

/** What a walk of net/tcp and net/tcp6 found. */
export interface TcpWalk {
  ipv4: StateCounts;
  ipv6: StateCounts;
  breakdown: Breakdown;
  bytes: number;
  skipped: number;
  errors: string[];
  /** True when net/tcp itself could not be read: the counts are not the host's. */
  failed: boolean;
  /** True when net/tcp6 was not read because `skipIpv6` said it holds no socket (ipv6 is zeros). */
  ipv6Skipped: boolean;
}

/** The constant-cost part of a snapshot: sockstat, snmp, netstat. */
export interface CheapCounters {
  sockstat: Sockstat;
  snmp: Counters;
  netstat: Counters;
  bytes: number;
  errors: string[];
}

const chunk = Buffer.allocUnsafe(256 * 1024);

/**
 * Walks net/tcp and net/tcp6 under `procfs`, reading fixed-size chunks into one reused buffer.
 * `skipIpv6`, when given, is asked once net/tcp was read: true when net/tcp6 provably holds no
 * socket at that moment (the namespace sampler's check, namespaces/ns-counters.ts
 * `noIpv6Sockets`); its read, a pass over the kernel's whole TCP hash table, is then skipped.
 */
export function walkTcp(procfs: string, top: number, skipIpv6?: () => boolean): TcpWalk {
  // top 0 (no breakdown wanted): the scanner skips the per-socket address work.
  const breakdown = top > 0 ? new BreakdownCollector() : null;
  const errors: string[] = [];
  let bytes = 0;
  let skipped = 0;
  let failed = false;
  let ipv6Skipped = false;
  const fams = [
    ['net/tcp', 4],
    ['net/tcp6', 6],
  ] as const;
  const out: StateCounts[] = [];
  for (const [rel, family] of fams) {
    if (family === 6 && !failed && skipIpv6 !== undefined && skipIpv6()) {
      ipv6Skipped = true;
      out.push(emptyStates());
      continue;
    }
    const scanner = new NetTcpScanner(rel, family, breakdown);
    let n: number | null = null;
    try {
      n = streamProcFile(procfs, rel, (c) => scanner.push(c), chunk);
    } catch (err) {
      errors.push(errText(err));
      if (family === 4) failed = true;
    }
    if (n === null) {
      // tcp6 is absent when IPv6 is disabled: zeros, not an error. tcp absent is an error.
      if (family === 4 && !failed) {
        errors.push(`${rel}: not found under ${procfs}`);
        failed = true;
      }
      out.push(emptyStates());
      continue;
    }
    const r = scanner.end();
    bytes += r.bytes;
    skipped += r.skipped;
    if (r.firstError !== null) errors.push(r.skipped > 1 ? `${r.firstError} (and ${r.skipped - 1} more lines)` : r.firstError);
    out.push(statesFromArray(r.counts));
  }
  return { ipv4: out[0] ?? emptyStates(), ipv6: out[1] ?? emptyStates(), breakdown: (breakdown ?? new BreakdownCollector()).result(top), bytes, skipped, errors, failed, ipv6Skipped };
}

/** Reads sockstat, sockstat6, snmp and netstat under `procfs`. */
export function readCheapCounters(procfs: string): CheapCounters {
  const errors: string[] = [];
  let bytes = 0;
  const read = (rel: string): string | null => {
    try {
      const t = readProcFile(procfs, rel);
      if (t !== null) bytes += t.length;
      return t;
    } catch (err) {
      errors.push(errText(err));
      return null;
    }
  };
  const sockstatText = read('net/sockstat');
  const sockstat6Text = read('net/sockstat6');
  const snmpText = read('net/snmp');
  const netstatText = read('net/netstat');
  let sockstat: Sockstat = emptySockstat();
  let snmp: Counters = {};
  let netstat: Counters = {};
  if (sockstatText === null) errors.push(`net/sockstat: not found under ${procfs}`);
  else sockstat = attempt(() => parseSockstat(sockstatText, sockstat6Text), sockstat, errors);
  if (snmpText === null) errors.push(`net/snmp: not found under ${procfs}`);
  else snmp = attempt(() => parseNetSnmp(snmpText), snmp, errors);
  if (netstatText !== null) netstat = attempt(() => parseNetNetstat(netstatText), netstat, errors);
  return { sockstat, snmp, netstat, bytes, errors };
}

function attempt<T>(fn: () => T, fallback: T, errors: string[]): T {
  try {
    return fn();
  } catch (err) {
    errors.push(errText(err));
    return fallback;
  }
}

function errText(err: unknown): string {
  return err instanceof TcpfleetError ? err.message : err instanceof Error ? err.message : String(err);
}

/** Identity and scheduling fields stamped on every snapshot. */
export interface SnapshotMeta {
  host: string;
  boot: string;
  seq: number;
  ts: number;
  interval_ms: number;
  labels: Record<string, string>;
}

/** Assembles a snapshot from a walk (possibly an older one) and fresh cheap counters. */
export function assembleSnapshot(meta: SnapshotMeta, walk: TcpWalk, walkTs: number, cheap: CheapCounters, ms: number, includeBreakdown: boolean): Snapshot {
  const states = addStates(addStates(emptyStates(), walk.ipv4), walk.ipv6);
  const errors = [...walk.errors, ...cheap.errors].slice(0, 16).map((e) => e.slice(0, 512));
  const snap: Snapshot = {
    host: meta.host,
    ts: meta.ts,
    seq: meta.seq,
    boot: meta.boot,
    interval_ms: meta.interval_ms,
    labels: meta.labels,
    states,
    ipv4: walk.ipv4,
    ipv6: walk.ipv6,
    summary: computeSsSummary(cheap.sockstat, cheap.snmp),
    sockstat: cheap.sockstat,
    snmp: cheap.snmp,
    netstat: cheap.netstat,
    collect: {
      ms: Math.round(ms * 1000) / 1000,
      bytes: cheap.bytes + (walkTs === meta.ts ? walk.bytes : 0),
      skipped: walk.skipped,
      errors,
      states_age_ms: Math.max(0, meta.ts - walkTs),
    },
  };
  if (includeBreakdown) snap.breakdown = walk.breakdown;
  return snap;
}

/** Takes a complete snapshot now and says whether net/tcp itself could not be read. */
export function takeSnapshotChecked(procfs: string, meta: Omit<SnapshotMeta, 'ts'>, top: number): { snapshot: Snapshot; failed: boolean } {
  const t0 = performance.now();
  const ts = Date.now();
  const walk = walkTcp(procfs, top);
  const cheap = readCheapCounters(procfs);
  return { snapshot: assembleSnapshot({ ...meta, ts }, walk, ts, cheap, performance.now() - t0, top > 0), failed: walk.failed };
}

/** Takes a complete snapshot now (a full walk). */
export function takeSnapshot(procfs: string, meta: Omit<SnapshotMeta, 'ts'>, top: number): Snapshot {
  return takeSnapshotChecked(procfs, meta, top).snapshot;
}
