/**
 * The alert rules file (YAML): parsed with the yaml package (keeping node positions, so every
 * problem names its line), validated with zod plus the checks that span fields, then frozen.
 *
 *   defaults:  { for, grace, repeat }            optional; each rule may override
 *   notifiers: [ { name, type: webhook|alertmanager, url, ... } ]   (notifiers.ts)
 *   rules:     [ { name, kind: threshold|spike|absent, metric, scope: host|fleet|container, match, ... } ]
 *
 * Every problem becomes one line `FILE:LINE: rule "NAME": field "FIELD": what is wrong`; all of
 * them are listed at once.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { CONTAINER_RUNTIMES, TcpfleetError, deepFreeze, parseDuration } from '@tcpfleet/common';
import { containerMetricProblem, splitMatch } from './container-scope.js';
import type { ContainerMatch } from './container-scope.js';
import { parseMetric } from './metric.js';
import type { Metric } from './metric.js';
import { NotifierSchema, buildNotifier, duration, ident } from './notifiers.js';
import type { Notifier } from './notifiers.js';

/** A rules file that cannot be used; `problems` has one line per problem. */
export class RulesError extends TcpfleetError {
  override name = 'RulesError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('TCPFLEET_ERR_RULES', problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems in the rules file: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

export type { AlertmanagerNotifier, Notifier, WebhookNotifier } from './notifiers.js';

/** Comparison of a threshold rule. */
export type Op = '>' | '>=' | '<' | '<=';

interface RuleBase {
  name: string;
  /** host: each host alone; fleet: summed over live hosts; container: each namespace of each host alone (container-scope.ts). */
  scope: 'host' | 'fleet' | 'container';
  /** Host labels the host must have (for a container rule, the keys that do not name the container). */
  match: Record<string, string>;
  /** Container rules only: the keys of `match` that name the container (pod, namespace, container, runtime). */
  container?: ContainerMatch;
  forMs: number;
  graceMs: number;
  repeatMs: number;
  severity: string;
  notify: string[];
  description: string | null;
}
/** A threshold rule: fires while `metric op value` holds; resolves past resolveValue. */
export interface ThresholdRule extends RuleBase {
  kind: 'threshold';
  metric: Metric;
  op: Op;
  value: number;
  resolveValue: number;
}
/** A spike rule: fires while value >= factor x baseline and value - baseline >= minDelta. */
export interface SpikeRule extends RuleBase {
  kind: 'spike';
  metric: Metric;
  windowMs: number;
  factor: number;
  minDelta: number;
  resolveFactor: number;
}
/** An absent rule: fires when a host (or, fleet scope, every matching host) sends nothing for `for`. */
export interface AbsentRule extends RuleBase {
  kind: 'absent';
}
/** One rule, ready to evaluate. */
export type Rule = ThresholdRule | SpikeRule | AbsentRule;

/** A loaded rules file. */
export interface RuleSet {
  file: string;
  rules: readonly Rule[];
  notifiers: readonly Notifier[];
}

/** Built-in defaults, overridden by the file's `defaults` and then by each rule. */
export const BUILTIN_DEFAULTS = { for: '30s', grace: '2m', repeat: '1h' } as const;

const num = z.number().refine(Number.isFinite, 'a finite number');

const RuleSchema = z.strictObject({
  name: ident,
  kind: z.enum(['threshold', 'spike', 'absent']),
  description: z.string().max(500).optional(),
  metric: z.string().optional(),
  scope: z.enum(['host', 'fleet', 'container']).optional(),
  match: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  window: duration.optional(),
  factor: num.refine((n) => n > 1, 'a number above 1').optional(),
  min_delta: num.refine((n) => n >= 0, 'a number >= 0').optional(),
  resolve_factor: num.refine((n) => n >= 1, 'a number >= 1').optional(),
  op: z.enum(['>', '>=', '<', '<=']).optional(),
  value: num.optional(),
  resolve_value: num.optional(),
  for: duration.optional(),
  grace: duration.optional(),
  repeat: duration.optional(),
  severity: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a short lowercase word such as info, warning, critical')
    .optional(),
  notify: z.array(z.string()).optional(),
});

const FileSchema = z.strictObject({
  defaults: z.strictObject({ for: duration.optional(), grace: duration.optional(), repeat: duration.optional() }).optional(),
  notifiers: z.array(NotifierSchema).optional(),
  rules: z.array(z.unknown()),
});

type RawRule = z.infer<typeof RuleSchema>;

/** Fields that belong to one kind only. */
const KIND_FIELDS: Record<string, readonly string[]> = {
  threshold: ['metric', 'op', 'value', 'resolve_value'],
  spike: ['metric', 'window', 'factor', 'min_delta', 'resolve_factor'],
  absent: [],
};
const REQUIRED: Record<string, readonly string[]> = { threshold: ['metric', 'op', 'value'], spike: ['metric', 'window', 'factor'], absent: [] };

export type Path = readonly (string | number)[];

export class Problems {
  readonly list: { line: number; text: string }[] = [];
  readonly #doc: Document;
  readonly #lc: LineCounter;
  readonly #file: string;
  readonly #seen = new Set<string>();
  constructor(file: string, doc: Document, lc: LineCounter) {
    this.#file = file;
    this.#doc = doc;
    this.#lc = lc;
  }

  /** Line of the node at `path` (the key's line for a map entry), or of its nearest parent. */
  line(path: Path, keyOnly = false): number {
    for (let n = path.length; n >= 0; n--) {
      const p = path.slice(0, n);
      const node = this.#locate(p, keyOnly && n === path.length);
      if (node?.range !== undefined && node.range !== null) return this.#lc.linePos(node.range[0]).line;
    }
    return 1;
  }

  #locate(path: Path, key: boolean): YamlNode | null {
    let node: unknown = this.#doc.contents;
    for (const [i, seg] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
        if (pair === undefined) return null;
        if (key && i === path.length - 1) return pair.key as YamlNode;
        node = pair.value ?? pair.key;
      } else if (isSeq(node)) {
        node = node.items[Number(seg)];
      } else return null;
    }
    return (node as YamlNode | null) ?? null;
  }

  add(path: Path, who: string, field: string | null, text: string, keyOnly = false): void {
    const dedup = `${path.join('.')}|${field ?? ''}`;
    if (this.#seen.has(dedup)) return;
    this.#seen.add(dedup);
    const line = this.line(path, keyOnly);
    this.list.push({ line, text: `${this.#file}:${line}: ${who}${field === null ? '' : `${who === '' ? '' : ': '}field ${JSON.stringify(field)}`}: ${text}` });
  }
}

function got(v: unknown): string {
  if (v === undefined) return 'missing';
  // JSON.stringify gives undefined (typed string) for functions and symbols.
  const s = JSON.stringify(v) as string | undefined;
  return `got ${s === undefined ? typeof v : s.length > 60 ? s.slice(0, 57) + '...' : s}`;
}

function ruleWho(raw: unknown, index: number): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? `rule ${JSON.stringify(name)}` : `rule #${index + 1}`;
}

function notifierWho(raw: unknown, index: number): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? `notifier ${JSON.stringify(name)}` : `notifier #${index + 1}`;
}

/** Reports zod issues of `value` (found at `base` in the file) as problems of `who`. */
export function reportIssues(p: Problems, issues: readonly z.core.$ZodIssue[], base: Path, who: string, value: unknown): void {
  for (const i of issues) {
    const path = [...base, ...(i.path as (string | number)[])];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) p.add([...path, k], who, k, 'unknown field', true);
      continue;
    }
    const field = i.path.length === 0 ? null : i.path.map(String).join('.');
    let v: unknown = value;
    for (const seg of i.path) v = (v as Record<PropertyKey, unknown> | undefined)?.[seg];
    // A webhook URL can be a secret (Slack's are): never echoed into logs.
    const secret = i.path[i.path.length - 1] === 'url';
    p.add(path, who, field, v === undefined ? 'required' : secret ? i.message : `${i.message} (${got(v)})`);
  }
}

function ms(text: string | undefined, fallback: string): number {
  return parseDuration(text ?? fallback) ?? 0;
}

/** Parses and validates the text of a rules file; throws RulesError listing every problem. */
export function parseRules(text: string, file: string): RuleSet {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RulesError(doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: not valid YAML: ${e.message.split('\n')[0] ?? ''}`));
  }
  const p = new Problems(file, doc, lc);
  const data = doc.toJS() as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new RulesError([`${file}:1: the rules file must be a mapping with a "rules:" list`]);
  const top = FileSchema.safeParse(data);
  if (!top.success) {
    for (const i of top.error.issues) {
      const head = i.path[0];
      if (i.code === 'unrecognized_keys' && i.path.length === 0) {
        for (const k of i.keys) p.add([k], '', k, 'unknown field (the file has defaults, notifiers and rules)', true);
      } else if (head === 'notifiers' && typeof i.path[1] === 'number') {
        const idx = i.path[1];
        const raw = (data as { notifiers?: unknown[] }).notifiers?.[idx];
        reportIssues(p, [{ ...i, path: i.path.slice(2) }], ['notifiers', idx], notifierWho(raw, idx), raw);
      } else if (head === 'defaults' && i.path.length > 0) {
        reportIssues(p, [{ ...i, path: i.path.slice(1) }], ['defaults'], 'defaults', (data as { defaults?: unknown }).defaults);
      } else {
        reportIssues(p, [i], [], '', data);
      }
    }
  }
  const d = data as { defaults?: Record<string, unknown>; notifiers?: unknown[]; rules?: unknown };
  const defaults = top.success ? (top.data.defaults ?? {}) : {};
  const notifiers: Notifier[] = [];
  const notifierNames = new Set<string>();
  for (const [idx, raw] of (Array.isArray(d.notifiers) ? d.notifiers : []).entries()) {
    const r = NotifierSchema.safeParse(raw);
    if (!r.success) continue; // reported above
    if (notifierNames.has(r.data.name)) p.add(['notifiers', idx, 'name'], notifierWho(raw, idx), 'name', `duplicate notifier name ${JSON.stringify(r.data.name)}`);
    notifierNames.add(r.data.name);
    const n = buildNotifier(r.data, file, (field, text) => p.add(['notifiers', idx, field], notifierWho(raw, idx), field, text));
    if (n !== null) notifiers.push(n);
  }
  const rules: Rule[] = [];
  const ruleNames = new Set<string>();
  for (const [idx, raw] of (Array.isArray(d.rules) ? d.rules : []).entries()) {
    const who = ruleWho(raw, idx);
    const base: Path = ['rules', idx];
    const r = RuleSchema.safeParse(raw);
    let checked: RawRule;
    if (r.success) checked = r.data;
    else {
      reportIssues(p, r.error.issues, base, who, raw);
      // Cross-field checks still run on the fields that passed, so one pass lists every problem.
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) continue;
      const bad = new Set(r.error.issues.map((i) => String(i.path[0] ?? '')));
      const kept = Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([k]) => !bad.has(k)));
      if (typeof kept['kind'] !== 'string' || !(kept['kind'] in KIND_FIELDS)) continue;
      checked = kept as RawRule;
      buildRule({ ...checked, name: typeof kept['name'] === 'string' ? kept['name'] : '' }, defaults, notifierNames, (field, text) => p.add([...base, field], who, field, text));
      continue;
    }
    const rule = buildRule(checked, defaults, notifierNames, (field, text) => p.add([...base, field], who, field, text));
    if (rule === null) continue;
    if (ruleNames.has(rule.name)) p.add([...base, 'name'], who, 'name', 'duplicate rule name (names must be unique)');
    ruleNames.add(rule.name);
    rules.push(rule);
  }
  if (p.list.length > 0) throw new RulesError(p.list.sort((a, b) => a.line - b.line).map((x) => x.text));
  return deepFreeze({ file, rules, notifiers });
}

function buildRule(
  r: RawRule,
  defaults: { for?: string | undefined; grace?: string | undefined; repeat?: string | undefined },
  notifiers: ReadonlySet<string>,
  bad: (field: string, text: string) => void,
): Rule | null {
  let ok = true;
  const fail = (field: string, text: string): void => {
    ok = false;
    bad(field, text);
  };
  for (const f of REQUIRED[r.kind] ?? []) if ((r as Record<string, unknown>)[f] === undefined) fail(f, `required for kind ${r.kind}`);
  for (const [kind, fields] of Object.entries(KIND_FIELDS)) {
    if (kind === r.kind) continue;
    for (const f of fields) {
      if ((KIND_FIELDS[r.kind] ?? []).includes(f)) continue;
      if ((r as Record<string, unknown>)[f] !== undefined) fail(f, `does not apply to kind ${r.kind}`);
    }
  }
  let metric: Metric | null = null;
  if (r.metric !== undefined && r.kind !== 'absent') {
    const m = parseMetric(r.metric);
    if (typeof m === 'string') fail('metric', m);
    else metric = m;
  }
  for (const n of r.notify ?? [])
    if (!notifiers.has(n)) fail('notify', `unknown notifier ${JSON.stringify(n)}${notifiers.size > 0 ? ` (defined: ${[...notifiers].join(', ')})` : ' (no notifiers are defined)'}`);
  if (r.scope === 'container') {
    if (r.kind === 'absent') fail('scope', 'container applies to threshold and spike rules (a namespace that disappears resolves its alerts; watch hosts with absent)');
    if (metric !== null) {
      const why = containerMetricProblem(metric);
      if (why !== null) fail('metric', why);
    }
    const rt = r.match?.['runtime'];
    if (rt !== undefined && !String(rt).includes('*') && !(CONTAINER_RUNTIMES as readonly string[]).includes(String(rt)))
      fail('match', `runtime ${JSON.stringify(rt)} is not one of ${CONTAINER_RUNTIMES.join(', ')}`);
  }
  if (r.kind === 'spike' && r.factor !== undefined && r.resolve_factor !== undefined && r.resolve_factor >= r.factor) fail('resolve_factor', `must be below factor (${r.factor})`);
  if (r.kind === 'threshold' && r.op !== undefined && r.value !== undefined && r.resolve_value !== undefined) {
    const above = r.op === '>' || r.op === '>=';
    if (above ? r.resolve_value > r.value : r.resolve_value < r.value) fail('resolve_value', `must be on the resolved side of value (${above ? '<=' : '>='} ${r.value}) for op ${r.op}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- fail(), a closure, clears ok
  if (!ok) return null;
  const match = Object.fromEntries(Object.entries(r.match ?? {}).map(([k, v]) => [k, String(v)]));
  const split = r.scope === 'container' ? splitMatch(match) : null;
  const common: RuleBase = {
    name: r.name,
    scope: r.scope ?? 'host',
    match: split?.labels ?? match,
    ...(split === null ? {} : { container: split.container }),
    forMs: ms(r.for ?? defaults.for, BUILTIN_DEFAULTS.for),
    graceMs: ms(r.grace ?? defaults.grace, BUILTIN_DEFAULTS.grace),
    repeatMs: ms(r.repeat ?? defaults.repeat, BUILTIN_DEFAULTS.repeat),
    severity: r.severity ?? 'warning',
    notify: r.notify ?? [],
    description: r.description ?? null,
  };
  if (r.kind === 'absent') return { ...common, kind: 'absent' };
  if (metric === null) return null;
  if (r.kind === 'threshold') return { ...common, kind: 'threshold', metric, op: r.op ?? '>', value: r.value ?? 0, resolveValue: r.resolve_value ?? r.value ?? 0 };
  const factor = r.factor ?? 2;
  return { ...common, kind: 'spike', metric, windowMs: ms(r.window, '10m'), factor, minDelta: r.min_delta ?? 0, resolveFactor: r.resolve_factor ?? (1 + factor) / 2 };
}

/** Reads and parses a rules file. */
export function loadRulesFile(path: string): RuleSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RulesError([`${path}: cannot read the rules file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseRules(text, path);
}
