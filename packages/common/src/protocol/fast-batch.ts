/**
 * A hand-written check of `batch` messages, the collector's hot path (zod costs about 135 µs per
 * snapshot there; this about 10). It accepts only what AgentMessageSchema accepts, with the same
 * output (unknown keys of the message, snapshots and collect dropped, as z.object does); for
 * anything it is not sure of it returns null and the caller falls back to the zod schema, which
 * then decides and words the error. test/common/protocol/fast-batch.test.ts keeps the two in step.
 */
import { TCP_STATES } from '../model/tcp-state.js';
import { SNAPSHOT_LIMITS as L } from '../model/snapshot.js';
import { LABEL_VALUE_PATTERN as LABEL_VALUE } from '../model/identity.js';
import type { Snapshot } from '../model/snapshot.js';
import type { BatchMessage } from './messages.js';
import { MAX_BATCH } from './messages.js';

const MAX = Number.MAX_SAFE_INTEGER;
const HOST = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;
const BOOT = /^[0-9a-f-]{8,64}$/;
const LABEL_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COUNTER = /^[A-Za-z0-9_]+$/;
const ADDR = /^[0-9a-fA-F:.]+$/;
const SUMMARY = ['total', 'estab', 'closed', 'orphaned', 'timewait'] as const;
const SOCKSTAT = ['sockets_used', 'tcp_inuse', 'tcp_orphan', 'tcp_tw', 'tcp_alloc', 'tcp_mem', 'tcp6_inuse'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isCount = (v: unknown): v is number => isInt(v, 0, MAX);
const isSigned = (v: unknown): v is number => isInt(v, -MAX, MAX);
const safeKey = (k: string): boolean => k !== '__proto__' && k !== 'constructor' && k !== 'prototype';

/** Exactly the listed keys, each passing `ok` (strictObject). */
function exact(v: unknown, keys: readonly string[], ok: (x: unknown) => boolean): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) return false;
    n++;
  }
  if (n !== keys.length) return false;
  for (const k of keys) if (!Object.hasOwn(v, k) || !ok(v[k])) return false;
  return true;
}

const states = (v: unknown): boolean => exact(v, TCP_STATES, isCount);

function labels(v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !safeKey(k)) return false;
    const x = v[k];
    if (k.length > L.labelKeyLength || !LABEL_KEY.test(k) || typeof x !== 'string' || x.length > L.labelValueLength || !LABEL_VALUE.test(x)) return false;
    n++;
  }
  return n <= L.labels;
}

function counters(v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !safeKey(k)) return false;
    if (k.length > L.counterNameLength || !COUNTER.test(k) || !isSigned(v[k])) return false;
    n++;
  }
  return n <= L.counters;
}

function breakdown(v: unknown): boolean {
  if (!isObj(v)) return false;
  const inbound = v['inbound'];
  const outbound = v['outbound'];
  if (!exact(v, ['inbound', 'outbound', 'other'], () => true)) return false;
  if (!Array.isArray(inbound) || inbound.length > L.breakdownEntries || !Array.isArray(outbound) || outbound.length > L.breakdownEntries) return false;
  for (const e of inbound as unknown[]) if (!exact(e, ['port', 'states'], () => true) || !isInt((e as Obj)['port'], 0, 65535) || !states((e as Obj)['states'])) return false;
  for (const e of outbound as unknown[]) {
    if (!exact(e, ['addr', 'port', 'states'], () => true)) return false;
    const a = (e as Obj)['addr'];
    if (typeof a !== 'string' || a.length > 45 || !ADDR.test(a) || !isInt((e as Obj)['port'], 0, 65535) || !states((e as Obj)['states'])) return false;
  }
  return exact(v['other'], ['inbound', 'outbound'], states);
}

/** The checked snapshot with only its known keys, or null when unsure. */
function snapshot(v: unknown): Snapshot | null {
  if (!isObj(v)) return null;
  const host = v['host'];
  const boot = v['boot'];
  if (typeof host !== 'string' || host.length < 1 || host.length > L.hostLength || !HOST.test(host)) return null;
  if (!isCount(v['ts']) || !isInt(v['seq'], 1, MAX) || typeof boot !== 'string' || !BOOT.test(boot) || !isInt(v['interval_ms'], 100, 86_400_000)) return null;
  if (!labels(v['labels']) || !states(v['states']) || !states(v['ipv4']) || !states(v['ipv6'])) return null;
  const summary = v['summary'];
  if (!exact(summary, SUMMARY, isSigned) || !SUMMARY.every((k) => k === 'closed' || isCount((summary as Obj)[k]))) return null;
  if (!exact(v['sockstat'], SOCKSTAT, isCount) || !counters(v['snmp']) || !counters(v['netstat'])) return null;
  const c = v['collect'];
  if (!isObj(c)) return null;
  const ms = c['ms'];
  const errors = c['errors'];
  if (typeof ms !== 'number' || !(ms >= 0 && ms <= 3_600_000) || !isCount(c['bytes']) || !isCount(c['skipped']) || !isCount(c['states_age_ms'])) return null;
  if (!Array.isArray(errors) || errors.length > L.errors || !errors.every((e) => typeof e === 'string' && e.length <= L.errorLength)) return null;
  const b = v['breakdown'];
  if (b !== undefined && !breakdown(b)) return null;
  const out = {
    host,
    ts: v['ts'],
    seq: v['seq'],
    boot,
    interval_ms: v['interval_ms'],
    labels: v['labels'],
    states: v['states'],
    ipv4: v['ipv4'],
    ipv6: v['ipv6'],
    summary,
    sockstat: v['sockstat'],
    snmp: v['snmp'],
    netstat: v['netstat'],
    collect: { ms, bytes: c['bytes'], skipped: c['skipped'], errors, states_age_ms: c['states_age_ms'] },
  } as Snapshot;
  if (b !== undefined) out.breakdown = b as Snapshot['breakdown'] & object;
  return out;
}

/** A checked batch message, or null when the value is not certainly a valid batch. */
export function fastBatch(v: unknown): BatchMessage | null {
  if (!isObj(v) || v['type'] !== 'batch' || !isCount(v['id'])) return null;
  const list = v['snapshots'];
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_BATCH) return null;
  const snapshots: Snapshot[] = [];
  for (const s of list as unknown[]) {
    const checked = snapshot(s);
    if (checked === null) return null;
    snapshots.push(checked);
  }
  return { type: 'batch', id: v['id'], snapshots };
}
