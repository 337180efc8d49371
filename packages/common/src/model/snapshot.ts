/**
 * The snapshot: what an agent measured at one moment, as sent on the wire, stored by the
 * collector and printed by `tcpfleet-agent --once --json`. Field names are a contract.
 */
import * as z from 'zod';
import { TCP_STATES } from './tcp-state.js';
import type { StateCounts } from './tcp-state.js';
import type { SsSummary } from './summary.js';
import type { Sockstat } from '../proc/net-sockstat.js';
import type { Counters } from '../proc/header-value-pairs.js';
import type { Breakdown } from '../proc/breakdown.js';
import type { NamespaceEntry, NamespacesCollect } from './namespace-entry.js';
import { SNAPSHOT_LIMITS } from './limits.js';
import { HOST_ID_MESSAGE, HOST_ID_PATTERN, LABELS_COUNT_MESSAGE, LABEL_KEY_MESSAGE, LABEL_KEY_PATTERN, LABEL_VALUE_MESSAGE, LABEL_VALUE_PATTERN } from './identity.js';

/** What taking the snapshot cost and what went wrong, per the agent. */
export interface CollectInfo {
  /** Wall-clock milliseconds spent reading and parsing every file. */
  ms: number;
  /** Bytes read from /proc. */
  bytes: number;
  /** Lines of net/tcp and net/tcp6 that did not parse. */
  skipped: number;
  /** One line per problem (first bad line of a file, a file that failed). */
  errors: string[];
  /** Age in ms of the per-state counts: 0 when tcp/tcp6 were walked for this snapshot. */
  states_age_ms: number;
  /** With --namespaces: what the per-namespace part found and cost. */
  namespaces?: NamespacesCollect;
}

/** One measurement of one host. */
export interface Snapshot {
  host: string;
  ts: number;
  seq: number;
  boot: string;
  interval_ms: number;
  labels: Record<string, string>;
  states: StateCounts;
  ipv4: StateCounts;
  ipv6: StateCounts;
  summary: SsSummary;
  sockstat: Sockstat;
  snmp: Counters;
  netstat: Counters;
  collect: CollectInfo;
  breakdown?: Breakdown;
  /** With --namespaces: every network namespace other than the host's (model/namespace-entry.ts). */
  namespaces?: NamespaceEntry[];
}

export { SNAPSHOT_LIMITS } from './limits.js';

const L = SNAPSHOT_LIMITS;
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const signed = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** Host ids: printable, no spaces or control characters; also safe in URLs and file names. */
export const HostIdSchema = z
  .string()
  .min(1)
  .max(L.hostLength)
  .regex(HOST_ID_PATTERN, HOST_ID_MESSAGE);

/** Label keys are identifiers; values are printable text. */
export const LabelsSchema = z
  .record(z.string().regex(LABEL_KEY_PATTERN, LABEL_KEY_MESSAGE).max(L.labelKeyLength), z.string().max(L.labelValueLength).regex(LABEL_VALUE_PATTERN, LABEL_VALUE_MESSAGE))
  .refine((r) => Object.keys(r).length <= L.labels, LABELS_COUNT_MESSAGE);

const stateShape: Record<string, typeof count> = {};
for (const s of TCP_STATES) stateShape[s] = count;
/** A state object: all twelve keys, non-negative integers. */
export const StatesSchema = z.strictObject(stateShape) as unknown as z.ZodType<StateCounts>;

const CountersSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_]+$/).max(L.counterNameLength), signed)
  .refine((r) => Object.keys(r).length <= L.counters, `at most ${L.counters} counters`);

const BreakdownSchema = z.strictObject({
  inbound: z.array(z.strictObject({ port: z.number().int().min(0).max(65535), states: StatesSchema })).max(L.breakdownEntries),
  outbound: z
    .array(z.strictObject({ addr: z.string().max(45).regex(/^[0-9a-fA-F:.]+$/), port: z.number().int().min(0).max(65535), states: StatesSchema }))
    .max(L.breakdownEntries),
  other: z.strictObject({ inbound: StatesSchema, outbound: StatesSchema }),
});

/** Runtime schema of a snapshot as it arrives from the network. */
export const SnapshotSchema = z.object({
  host: HostIdSchema,
  ts: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  boot: z.string().regex(/^[0-9a-f-]{8,64}$/, 'boot: a hex id'),
  interval_ms: z.number().int().min(100).max(86_400_000),
  labels: LabelsSchema,
  states: StatesSchema,
  ipv4: StatesSchema,
  ipv6: StatesSchema,
  summary: z.strictObject({ total: count, estab: count, closed: signed, orphaned: count, timewait: count }),
  sockstat: z.strictObject({
    sockets_used: count,
    tcp_inuse: count,
    tcp_orphan: count,
    tcp_tw: count,
    tcp_alloc: count,
    tcp_mem: count,
    tcp6_inuse: count,
  }),
  snmp: CountersSchema,
  netstat: CountersSchema,
  collect: z.object({
    ms: z.number().min(0).max(3_600_000),
    bytes: count,
    skipped: count,
    errors: z.array(z.string().max(L.errorLength)).max(L.errors),
    states_age_ms: count,
  }),
  breakdown: BreakdownSchema.optional(),
}) as unknown as z.ZodType<Snapshot>;
