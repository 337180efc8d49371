/**
 * The snapshot: what an agent measured at one moment, as sent on the wire, stored by the
 * collector and printed by `tcpfleet-agent --once --json`. Field names are a contract; the
 * numbers and their rules come from the field table (model/fields.ts).
 */
import * as z from 'zod';
import type { StateCounts } from './tcp-state.js';
import type { CollectFields } from './fields.js';
import type { Counters } from '../proc/header-value-pairs.js';
import type { Breakdown } from '../proc/breakdown.js';
import type { NamespaceCounts, NamespaceEntry, NamespacesCollect } from './namespace-entry.js';
import { PLAN, SNAPSHOT_KEYS, sectionPlan } from './field-plan.js';
import type { SectionPlan, Slot } from './field-plan.js';
import { SNAPSHOT_LIMITS } from './limits.js';
import {
  CONTAINER_ID_MESSAGE,
  CONTAINER_ID_PATTERN,
  CONTAINER_NAME_MESSAGE,
  CONTAINER_RUNTIMES,
  NAMESPACE_LIMITS,
  NAMESPACE_WIRE_LIMITS,
  NAME_PATTERN,
  POD_UID_MESSAGE,
  POD_UID_PATTERN,
} from './namespace-entry.js';
import { NS_COLLECT_COUNTS, NS_COLLECT_MS, NS_COLLECT_MS_MAX, NS_SECTIONS } from './namespace-plan.js';
import {
  BOOT_ID_MESSAGE,
  BOOT_ID_PATTERN,
  COUNTER_NAME_PATTERN,
  HOST_ID_MESSAGE,
  HOST_ID_PATTERN,
  LABELS_COUNT_MESSAGE,
  LABEL_KEY_MESSAGE,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_MESSAGE,
  LABEL_VALUE_PATTERN,
  PEER_ADDR_PATTERN,
} from './identity.js';

/** What taking the snapshot cost and what went wrong, per the agent (the table's `collect` section), and with --namespaces what the per-namespace part found and cost. */
export type CollectInfo = CollectFields & { namespaces?: NamespacesCollect };

/** One measurement of one host: its own network namespace's counts (NamespaceCounts) and more. */
export interface Snapshot extends NamespaceCounts {
  host: string;
  ts: number;
  seq: number;
  boot: string;
  interval_ms: number;
  labels: Record<string, string>;
  netstat: Counters;
  collect: CollectInfo;
  breakdown?: Breakdown;
  /** With --namespaces: every network namespace other than the host's (model/namespace-entry.ts). */
  namespaces?: NamespaceEntry[];
}

export { SNAPSHOT_LIMITS } from './limits.js';

const L = SNAPSHOT_LIMITS;
const MAX = Number.MAX_SAFE_INTEGER;

/** Host ids: printable, no spaces or control characters; also safe in URLs and file names. */
export const HostIdSchema = z.string().min(1).max(L.hostLength).regex(HOST_ID_PATTERN, HOST_ID_MESSAGE);

/** Label keys are identifiers; values are printable text. */
export const LabelsSchema = z
  .record(z.string().regex(LABEL_KEY_PATTERN, LABEL_KEY_MESSAGE).max(L.labelKeyLength), z.string().max(L.labelValueLength).regex(LABEL_VALUE_PATTERN, LABEL_VALUE_MESSAGE))
  .refine((r) => Object.keys(r).length <= L.labels, LABELS_COUNT_MESSAGE);

/** The schema of one number of the field table. */
function numberSchema(x: Slot): z.ZodType {
  const n = x.kind === 'ms' ? z.number().min(x.min).max(x.max) : z.number().int().min(x.min).max(x.max);
  return x.since > 1 ? n.default(0) : n;
}

/** The schema of a section of the field table (its own fields; an open section's counters). */
export function sectionSchema(p: SectionPlan): z.ZodType {
  if (p.def.open !== undefined) {
    return z
      .record(z.string().regex(COUNTER_NAME_PATTERN).max(L.counterNameLength), z.number().int().min(-MAX).max(MAX))
      .refine((r) => Object.keys(r).length <= L.counters, `at most ${L.counters} counters`);
  }
  const shape: Record<string, z.ZodType> = {};
  for (const name of p.names) {
    const x = p.numbers.find((s) => s.name === name);
    shape[name] = x !== undefined ? numberSchema(x) : z.array(z.string().max(L.errorLength)).max(L.errors);
  }
  return p.def.strict ? z.strictObject(shape) : z.object(shape);
}

/** A state object: all twelve keys, non-negative integers. */
export const StatesSchema = sectionSchema(sectionPlan('states')) as z.ZodType<StateCounts>;

const BreakdownSchema = z.strictObject({
  inbound: z.array(z.strictObject({ port: z.number().int().min(0).max(65535), states: StatesSchema })).max(L.breakdownEntries),
  outbound: z.array(z.strictObject({ addr: z.string().max(45).regex(PEER_ADDR_PATTERN), port: z.number().int().min(0).max(65535), states: StatesSchema })).max(L.breakdownEntries),
  other: z.strictObject({ inbound: StatesSchema, outbound: StatesSchema }),
});

const NW = NAMESPACE_WIRE_LIMITS;
const count = z.number().int().min(0).max(MAX);
const nsErrors = z.array(z.string().max(NW.errorLength)).max(NAMESPACE_LIMITS.errors);
const containerName = (max: number): z.ZodType => z.string().min(1).max(max).regex(NAME_PATTERN, CONTAINER_NAME_MESSAGE);
const containerId = z.string().regex(CONTAINER_ID_PATTERN, CONTAINER_ID_MESSAGE);

/** Who holds a namespace: null, or the runtime, the container id and what local files named. */
export const ContainerSchema = z
  .object({
    runtime: z.enum(CONTAINER_RUNTIMES),
    id: containerId,
    pod_uid: z.string().max(NW.podUidLength).regex(POD_UID_PATTERN, POD_UID_MESSAGE).optional(),
    pod: containerName(NAMESPACE_LIMITS.podLength).optional(),
    namespace: containerName(NAMESPACE_LIMITS.namespaceLength).optional(),
    name: containerName(NAMESPACE_LIMITS.nameLength).optional(),
    other_ids: z.array(containerId).max(NAMESPACE_LIMITS.otherIds).optional(),
  })
  .nullable();

const nsSections: Record<string, z.ZodType> = {};
for (const p of NS_SECTIONS) nsSections[p.key!] = sectionSchema(p);

/** One namespace entry (model/namespace-entry.ts), keys in its JSON order; unknown keys dropped as at the top level. */
export const NamespaceEntrySchema = z.object({
  netns: z.number().int().min(1).max(MAX),
  pid: z.number().int().min(1).max(NW.pidMax),
  container: ContainerSchema,
  ...nsSections,
  collect: z.object({ states_age_ms: count, states_unchanged: z.boolean(), skipped: count, errors: nsErrors }),
}) as unknown as z.ZodType<NamespaceEntry>;

/** A snapshot's `namespaces`: at most NAMESPACE_WIRE_LIMITS.entries, each netns once. */
export const NamespacesSchema = z
  .array(NamespaceEntrySchema)
  .max(NW.entries)
  .refine((a) => new Set(a.map((e) => e.netns)).size === a.length, 'a netns appears twice');

/** The snapshot's collect.namespaces. */
export const NamespacesCollectSchema = z.object({
  ...Object.fromEntries(NS_COLLECT_COUNTS.map((k) => [k, count])),
  ...Object.fromEntries(NS_COLLECT_MS.map((k) => [k, z.number().min(0).max(NS_COLLECT_MS_MAX)])),
  errors: nsErrors,
}) as unknown as z.ZodType<NamespacesCollect>;

/** The snapshot's shape, in SNAPSHOT_KEYS order: identity, the field table's fields and sections, the breakdown. */
const IDENTITY: Record<string, z.ZodType> = {
  host: HostIdSchema,
  ts: z.number().int().min(0).max(MAX),
  seq: z.number().int().min(1).max(MAX),
  boot: z.string().regex(BOOT_ID_PATTERN, BOOT_ID_MESSAGE),
  labels: LabelsSchema,
  breakdown: BreakdownSchema.optional(),
  namespaces: NamespacesSchema.optional(),
};
const ROOT = new Map(sectionPlan(null).numbers.map((x) => [x.name, numberSchema(x)]));
const shape: Record<string, z.ZodType> = {};
for (const k of SNAPSHOT_KEYS) {
  const section = PLAN.byKey.get(k);
  let schema = IDENTITY[k] ?? ROOT.get(k) ?? (section !== undefined ? sectionSchema(section) : undefined);
  if (schema === undefined) throw new Error(`snapshot key ${k} has no schema`);
  // collect also carries, with --namespaces, what the namespace part found and cost.
  if (k === 'collect') schema = (schema as z.ZodObject).extend({ namespaces: NamespacesCollectSchema.optional() });
  shape[k] = schema;
}

/** Runtime schema of a snapshot as it arrives from the network. */
export const SnapshotSchema = z.object(shape) as unknown as z.ZodType<Snapshot>;
