/**
 * The field table's plan of a namespace entry (model/namespace-entry.ts): the sections an entry
 * shares with the top level of a snapshot (states, ipv4, ipv6, summary, sockstat, snmp), made
 * with planOf as model/fields.ts says, so the JSON checks (sectionSchema, sectionCheck) and the
 * bin1 entries (codec/namespaces-bytes.ts) follow the one table. Zod-free: the agent loads it.
 */
import { SECTIONS } from './fields.js';
import { planOf } from './field-plan.js';
import type { FieldPlan, SectionPlan } from './field-plan.js';

/** The sections of an entry, in its JSON key order (after netns, pid, container; before collect). */
export const NS_SECTION_KEYS = ['states', 'ipv4', 'ipv6', 'summary', 'sockstat', 'snmp'] as const;

/** The plan of an entry's sections. */
export const NS_PLAN: FieldPlan = planOf(SECTIONS.filter((s) => (NS_SECTION_KEYS as readonly (string | null)[]).includes(s.key)));

/** An entry's sections' plans, in NS_SECTION_KEYS order. */
export const NS_SECTIONS: readonly SectionPlan[] = NS_SECTION_KEYS.map((k) => {
  const p = NS_PLAN.byKey.get(k);
  if (p === undefined) throw new Error(`the field table has no section ${k}`);
  return p;
});

/** The numbers of collect.namespaces in JSON order (errors last). */
export const NS_COLLECT_COUNTS = ['found', 'reported', 'overflow', 'pending', 'walked', 'unchanged', 'stale'] as const;
export const NS_COLLECT_MS = ['ms', 'cpu_ms'] as const;
/** Most milliseconds collect.namespaces.ms and cpu_ms may hold (as collect.ms). */
export const NS_COLLECT_MS_MAX = 3_600_000;
