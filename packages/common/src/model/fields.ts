/**
 * The field table: every number a snapshot carries, declared once. The JSON checks (zod in
 * model/snapshot.ts, the hand-written ones in protocol/fast-batch.ts), the stored values and the
 * bin1 frame (codec/snapshot-values.ts, protocol/bin1.ts), the rollups, the alert metric paths,
 * the Prometheus families, the sockstat parser and docs/fields.md are all derived from it
 * (model/field-plan.ts turns it into the lookup arrays those use, once, at load).
 *
 * The order of SECTIONS and of each section's fields is a contract:
 *   - the stored values (and the bin1 frame) hold the stored sections' numbers in table order,
 *     fields of release 0.1.0 (since 1) first, then the fields of each later table version;
 *   - a rollup keeps the 'aggregate' sections' numbers, then the 'last' ones', in table order;
 *   - JSON objects list their keys in this order.
 * So a new field is only ever appended to a section with `since` one above the highest in use;
 * nothing is renamed, reordered or removed. Data written before a field existed reads it as 0
 * (readers tell the version from how many numbers a blob holds). docs/fields.md shows an example.
 *
 * A nested object made of some of these sections (per-namespace entries, say) reuses them: the
 * plan of planOf(SECTIONS.filter(...)) gives its stored encoding (new ValuesCodec(plan)), and
 * sectionSchema() (model/snapshot.ts) and sectionCheck() (protocol/fast-batch.ts) check a section.
 *
 * Zod-free and tiny: the agent loads it.
 */
import type { Counters } from '../proc/header-value-pairs.js';
import { TCP_STATES } from './tcp-state.js';
import type { TcpStateName } from './tcp-state.js';

/**
 * How a field is checked and stored:
 *   count   an integer min..max (default 0..2^53-1), a zig-zag varint
 *   signed  an integer -(2^53-1)..2^53-1
 *   ms      milliseconds with a fraction, 0..max; stored as whole microseconds
 *   texts   a list of strings (collect.errors): checked, carried beside the numbers, never stored among them
 */
export type FieldKind = 'count' | 'signed' | 'ms' | 'texts';

/**
 * Whose sockets a number counts: the agent's network namespace (`netns`), the whole host, whatever
 * the namespace (`host`), a mix of both (`mixed`), or the agent's own bookkeeping (`agent`).
 */
export type Scope = 'netns' | 'host' | 'mixed' | 'agent';

/** A number read from a key/value line of a kernel file (net/sockstat, net/sockstat6). */
export interface KernelSource {
  /** The file under --procfs. */
  readonly file: 'net/sockstat' | 'net/sockstat6';
  /** The line's label as the kernel prints it: "TCP" for "TCP: inuse 27 orphan 0 ...". */
  readonly line: string;
  /** The key on that line, followed by the value: "inuse". */
  readonly key: string;
}

/** One field of a section. */
export interface FieldDef {
  /** The JSON key: never renamed. */
  readonly name: string;
  readonly kind: FieldKind;
  /** Range beyond the kind's own (count: 0..2^53-1; ms: 0..max). */
  readonly min?: number;
  readonly max?: number;
  /** Where the number comes from, as docs/fields.md shows it. */
  readonly source: string;
  /** For the sockstat parser (proc/net-sockstat.ts): the file, line and key it reads. */
  readonly kernel?: KernelSource;
  readonly scope: Scope;
  /** What it means, one or two sentences. */
  readonly doc: string;
  /** The table version that added the field: 1 (or absent) for release 0.1.0's fields. */
  readonly since?: number;
}

/** The numbers read every interval without walking net/tcp: what the summary is computed from. */
export interface CheapFigures {
  readonly sockstat: Readonly<Sockstat>;
  readonly snmp: Readonly<Counters>;
}

/** A field computed from other numbers (the ss -s summary). */
export interface DerivedFieldDef extends FieldDef {
  readonly derive: (c: CheapFigures) => number;
}

/** A Prometheus family pair (one per host, one summed over the fleet) of a section. */
export interface PrometheusDef {
  /** The label that names the field. */
  readonly label: string;
  readonly host: { readonly name: string; readonly help: string };
  readonly fleet: { readonly name: string; readonly help: string };
}

/** One object of a snapshot (or, for `key: null`, fields of the snapshot itself). */
export interface SectionDef {
  /** The JSON key of the section; null: its fields are keys of the snapshot itself. */
  readonly key: string | null;
  readonly doc: string;
  readonly fields: readonly FieldDef[];
  /** The fields are the twelve TCP states (model/tcp-state.ts), in kernel order; errors name the section. */
  readonly states?: boolean;
  /** Every counter on these lines is kept, by the kernel's own name (snmp, netstat): `fields` is empty. */
  readonly open?: { readonly file: string; readonly line: string };
  /** The section is these two sections added field by field: checked on arrival, never stored. */
  readonly sumOf?: readonly [string, string];
  /** Carried in the stored values and the bin1 frame. */
  readonly stored: boolean;
  /** What a rollup keeps of it: min, max, mean and last ('aggregate'), the last value ('last'), nothing ('none'). */
  readonly rollup: 'aggregate' | 'last' | 'none';
  /** Alert rules may read `key.X` (and rate(key.X) of an open section). */
  readonly alert: boolean;
  /** Unknown keys refused (true) or dropped (false) by the JSON checks. */
  readonly strict: boolean;
  readonly prometheus?: PrometheusDef;
}

const STATE_DOCS: Readonly<Record<TcpStateName, string>> = {
  established: 'open, data flows both ways',
  syn_sent: 'connecting: our SYN sent, no answer yet',
  syn_recv: 'accepting: a SYN received and answered (request sockets are printed with this state)',
  fin_wait1: 'we closed first, our FIN not yet acknowledged',
  fin_wait2: 'we closed first, our FIN acknowledged; waiting for the peer to close',
  time_wait: 'closed; waiting out old segments (2 MSL, 60 s on Linux)',
  close: 'closed, not yet freed (also unbound and unconnected sockets)',
  close_wait: 'the peer closed first; the application has not closed yet',
  last_ack: 'the peer closed first, then we did; waiting for the last ACK',
  listen: 'a listening socket',
  closing: 'both sides closed at once, waiting for the ACK',
  new_syn_recv: 'a request socket (TCP_NEW_SYN_RECV); /proc shows these as syn_recv, so 0 in practice',
};

/** The twelve state fields of a state section, read from `files`. */
function stateFields(files: string): readonly FieldDef[] {
  return TCP_STATES.map((name, i) => ({
    name,
    kind: 'count' as const,
    source: `${files}: lines with st ${(i + 1).toString(16).toUpperCase().padStart(2, '0')} (TCP_${name.toUpperCase()})`,
    scope: 'netns' as const,
    doc: STATE_DOCS[name],
  }));
}

/** sockstat: read by proc/net-sockstat.ts, by file, line and key. */
const SOCKSTAT_FIELDS = [
  {
    name: 'sockets_used',
    kind: 'count',
    kernel: { file: 'net/sockstat', line: 'sockets', key: 'used' },
    source: 'net/sockstat "sockets: used"',
    scope: 'netns',
    doc: 'Sockets of every protocol in use.',
  },
  {
    name: 'tcp_inuse',
    kind: 'count',
    kernel: { file: 'net/sockstat', line: 'TCP', key: 'inuse' },
    source: 'net/sockstat "TCP: inuse"',
    scope: 'netns',
    doc: 'IPv4 TCP sockets in use (bound or connected; not time-wait).',
  },
  {
    name: 'tcp_orphan',
    kind: 'count',
    kernel: { file: 'net/sockstat', line: 'TCP', key: 'orphan' },
    source: 'net/sockstat "TCP: orphan"',
    scope: 'host',
    doc: 'TCP sockets no longer attached to a process (closed by the application, still finishing).',
  },
  { name: 'tcp_tw', kind: 'count', kernel: { file: 'net/sockstat', line: 'TCP', key: 'tw' }, source: 'net/sockstat "TCP: tw"', scope: 'netns', doc: 'TCP sockets in time-wait, IPv4 and IPv6.' },
  {
    name: 'tcp_alloc',
    kind: 'count',
    kernel: { file: 'net/sockstat', line: 'TCP', key: 'alloc' },
    source: 'net/sockstat "TCP: alloc"',
    scope: 'host',
    doc: 'TCP sockets allocated, IPv4 and IPv6, in every state but time-wait.',
  },
  {
    name: 'tcp_mem',
    kind: 'count',
    kernel: { file: 'net/sockstat', line: 'TCP', key: 'mem' },
    source: 'net/sockstat "TCP: mem"',
    scope: 'host',
    doc: 'Memory pages TCP buffers take (compare with net.ipv4.tcp_mem).',
  },
  {
    name: 'tcp6_inuse',
    kind: 'count',
    kernel: { file: 'net/sockstat6', line: 'TCP6', key: 'inuse' },
    source: 'net/sockstat6 "TCP6: inuse"',
    scope: 'netns',
    doc: 'IPv6 TCP sockets in use; 0 when sockstat6 is absent (IPv6 off).',
  },
] as const satisfies readonly FieldDef[];

/** The sockstat figures tcpfleet keeps, snake_case names of "<line> <key>". */
export type Sockstat = Record<(typeof SOCKSTAT_FIELDS)[number]['name'], number>;

/** The fields of the sockstat object, in table order: what proc/net-sockstat.ts reads. */
export const SOCKSTAT_READS: readonly (FieldDef & { readonly name: keyof Sockstat; readonly kernel: KernelSource })[] = SOCKSTAT_FIELDS;
/** The keys of the sockstat object, in table order. */
export const SOCKSTAT_KEYS: readonly (keyof Sockstat)[] = SOCKSTAT_FIELDS.map((f) => f.name);

/** A sockstat object with every figure 0 (sockstat could not be read). */
export function emptySockstat(): Sockstat {
  const out = {} as Sockstat;
  for (const k of SOCKSTAT_KEYS) out[k] = 0;
  return out;
}

/** The TCP line of `ss -s`, computed as iproute2's ss.c print_summary() does (iproute2 6.x). */
const SUMMARY_FIELDS = [
  {
    name: 'total',
    kind: 'count',
    source: 'sockstat TCP alloc + tw',
    derive: (c) => c.sockstat.tcp_alloc + c.sockstat.tcp_tw,
    scope: 'mixed',
    doc: 'ss -s "TCP: N": every TCP socket, time-wait included. alloc counts the whole host, tw this namespace.',
  },
  {
    name: 'estab',
    kind: 'count',
    source: 'net/snmp "Tcp: CurrEstab"',
    derive: (c) => c.snmp['CurrEstab'] ?? 0,
    scope: 'netns',
    doc: 'ss -s "estab": ESTABLISHED and CLOSE_WAIT sockets (RFC 1213 tcpCurrEstab), so not states.established.',
  },
  {
    name: 'closed',
    kind: 'signed',
    source: 'alloc - (TCP inuse + TCP6 inuse - tw)',
    derive: (c) => c.sockstat.tcp_alloc - (c.sockstat.tcp_inuse + c.sockstat.tcp6_inuse - c.sockstat.tcp_tw),
    scope: 'mixed',
    doc: 'ss -s "closed": allocated sockets not in use. Host-wide alloc minus this namespace\'s inuse, so inside a namespace it includes other namespaces\' sockets; can be negative.',
  },
  { name: 'orphaned', kind: 'count', source: 'net/sockstat "TCP: orphan"', derive: (c) => c.sockstat.tcp_orphan, scope: 'host', doc: 'ss -s "orphaned": sockstat.tcp_orphan.' },
  { name: 'timewait', kind: 'count', source: 'net/sockstat "TCP: tw"', derive: (c) => c.sockstat.tcp_tw, scope: 'netns', doc: 'ss -s "timewait": sockstat.tcp_tw.' },
] as const satisfies readonly DerivedFieldDef[];

/** The `ss -s` TCP line as numbers. */
export type SsSummary = Record<(typeof SUMMARY_FIELDS)[number]['name'], number>;

/** The keys of the summary object, in the order `ss -s` prints them. */
export const SUMMARY_KEYS: readonly (keyof SsSummary)[] = SUMMARY_FIELDS.map((f) => f.name);

const COLLECT_FIELDS = [
  { name: 'ms', kind: 'ms', max: 3_600_000, source: 'agent clock', scope: 'agent', doc: 'Wall-clock milliseconds spent reading and parsing every file (stored to the microsecond).' },
  { name: 'bytes', kind: 'count', source: 'agent', scope: 'agent', doc: 'Bytes read from /proc for this snapshot.' },
  { name: 'skipped', kind: 'count', source: 'agent', scope: 'agent', doc: 'Lines of net/tcp and net/tcp6 that did not parse.' },
  { name: 'errors', kind: 'texts', source: 'agent', scope: 'agent', doc: 'One line per problem (the first bad line of a file, a file that failed); at most 16 of 512 characters.' },
  { name: 'states_age_ms', kind: 'count', source: 'agent clock', scope: 'agent', doc: 'Age of the per-state counts: 0 when net/tcp and tcp6 were walked for this snapshot (cost-adaptive sampling).' },
] as const satisfies readonly FieldDef[];

/** What taking the snapshot cost and what went wrong, per the agent. */
export type CollectFields = Record<Exclude<(typeof COLLECT_FIELDS)[number]['name'], 'errors'>, number> & { errors: string[] };

/** The sections of a snapshot, in the order of the contract (see the top of this file). */
export const SECTIONS = [
  {
    key: 'states',
    doc: "TCP sockets by state, IPv4 and IPv6 together (the seed's awk count of net/tcp and net/tcp6).",
    fields: stateFields('net/tcp + net/tcp6'),
    states: true,
    sumOf: ['ipv4', 'ipv6'],
    stored: false,
    rollup: 'aggregate',
    alert: true,
    strict: true,
    prometheus: {
      label: 'state',
      host: { name: 'tcpfleet_host_connections', help: 'TCP sockets of the host in each state, from its latest snapshot (lines of /proc/net/tcp and tcp6).' },
      fleet: { name: 'tcpfleet_fleet_connections', help: 'TCP sockets in each state summed over live hosts.' },
    },
  },
  { key: 'ipv4', doc: 'IPv4 TCP sockets by state.', fields: stateFields('net/tcp'), states: true, stored: true, rollup: 'last', alert: true, strict: true },
  { key: 'ipv6', doc: 'IPv6 TCP sockets by state (zeros when net/tcp6 is absent).', fields: stateFields('net/tcp6'), states: true, stored: true, rollup: 'none', alert: true, strict: true },
  {
    key: 'summary',
    doc: 'The TCP line of `ss -s`, computed from sockstat and snmp as iproute2 does (ss.c print_summary); the source is the formula.',
    fields: SUMMARY_FIELDS,
    stored: true,
    rollup: 'aggregate',
    alert: true,
    strict: true,
    prometheus: {
      label: 'field',
      host: { name: 'tcpfleet_host_ss', help: 'The ss -s TCP summary of the host (total, estab, closed, orphaned, timewait).' },
      fleet: { name: 'tcpfleet_fleet_ss', help: 'The ss -s TCP summary summed over live hosts.' },
    },
  },
  { key: 'sockstat', doc: 'The TCP figures of /proc/net/sockstat and sockstat6.', fields: SOCKSTAT_FIELDS, stored: true, rollup: 'last', alert: true, strict: true },
  {
    key: 'snmp',
    doc: "Every `Tcp:` counter of /proc/net/snmp, by the kernel's name (RFC 1213 tcp group: ActiveOpens, CurrEstab, RetransSegs, ...).",
    fields: [],
    open: { file: 'net/snmp', line: 'Tcp' },
    stored: true,
    rollup: 'none',
    alert: true,
    strict: false,
  },
  {
    key: 'netstat',
    doc: "Every `TcpExt:` counter of /proc/net/netstat, by the kernel's name (ListenOverflows, TCPTimeouts, ...).",
    fields: [],
    open: { file: 'net/netstat', line: 'TcpExt' },
    stored: true,
    rollup: 'none',
    alert: true,
    strict: false,
  },
  { key: 'collect', doc: 'What taking the snapshot cost and what went wrong.', fields: COLLECT_FIELDS, stored: true, rollup: 'none', alert: false, strict: false },
  {
    key: null,
    doc: 'Fields of the snapshot itself.',
    fields: [
      {
        name: 'interval_ms',
        kind: 'count',
        min: 100,
        max: 86_400_000,
        source: 'agent --interval',
        scope: 'agent',
        doc: "The agent's sampling interval; a host is stale after three of them without a snapshot.",
      },
    ],
    stored: true,
    rollup: 'none',
    alert: false,
    strict: false,
  },
] as const satisfies readonly SectionDef[];

/** The summary's formulas, for computeSsSummary (model/summary.ts). */
export const SUMMARY_FORMULAS: readonly (DerivedFieldDef & { readonly name: keyof SsSummary })[] = SUMMARY_FIELDS;

/** A cheap figure whose sudden change makes the agent walk net/tcp at once (agent/adaptive.ts). */
export interface WalkSignal {
  readonly name: string;
  readonly of: (c: CheapFigures) => number;
}

/** What cost-adaptive sampling watches between walks: sockets in use, time-wait, established. */
export const WALK_SIGNALS: readonly WalkSignal[] = [
  { name: 'TCP inuse + TCP6 inuse', of: (c) => c.sockstat.tcp_inuse + c.sockstat.tcp6_inuse },
  { name: 'TCP tw', of: (c) => c.sockstat.tcp_tw },
  { name: 'Tcp CurrEstab', of: (c) => c.snmp['CurrEstab'] ?? 0 },
];
