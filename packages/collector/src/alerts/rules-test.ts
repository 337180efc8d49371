/**
 * `tcpfleet rules test FILE TESTS.yml`, in the manner of `promtool test rules`: input series per
 * host, fed to the REAL alert engine (engine.ts, the code `serve` runs) over a fresh in-memory
 * alert store with a clock the test moves, and the alerts expected firing at given times.
 *
 *   interval: 10s                       default time between input samples
 *   tests:
 *     - name: a spike fires after `for`
 *       interval: 10s                   optional, per test
 *       input_series:
 *         - host: web1
 *           labels: { env: prod }
 *           values:
 *             states.established: '100x60 1000x12'   (series-notation.ts)
 *       alert_rule_test:
 *         - eval_time: 11m
 *           alertname: established-spike
 *           exp_alerts:                 [] = nothing of this rule firing
 *             - exp_labels: { host: web1, severity: warning, env: prod }
 *
 * A test starts like a collector that has just started (time 0): `grace` runs from there and
 * from each host's first sample. Samples are received at their own time; fleet and absent rules
 * and repeats are evaluated every 0.5 s of test time, as in serve. At `eval_time` the alerts
 * firing for `alertname` must be exactly `exp_alerts`, compared by their labels as the
 * Alertmanager notifier sends them (host, severity, the host's labels; alertname left out).
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import * as z from 'zod';
import { LineCounter, parseDocument } from 'yaml';
import { HOST_ID_PATTERN, HOST_ID_MESSAGE, LABEL_KEY_PATTERN, SUMMARY_KEYS, emptySockstat, emptyStates, formatDuration, parseDuration } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { SqliteAlertStore } from './alert-store.js';
import { alertLabels } from './alertmanager.js';
import { AlertEngine, TICK_MS } from './engine.js';
import { parseMetric } from './metric.js';
import { duration } from './notifiers.js';
import type { Metric } from './metric.js';
import { Problems, RulesError, reportIssues } from './rules-file.js';
import type { RuleSet } from './rules-file.js';
import { expandSeries } from './series-notation.js';

/** Test time 0: 2026-01-01T00:00:00Z. */
const T0 = Date.UTC(2026, 0, 1);
/** Latest eval_time or series end: 7 days of test time. */
const MAX_SPAN_MS = 7 * 86_400_000;

interface HostInput {
  host: string;
  labels: Record<string, string>;
  /** The metrics and their values per step (null: absent at that step). */
  series: { metric: Metric; values: (number | null)[] }[];
}
interface Expectation {
  line: number;
  evalMs: number;
  alertname: string;
  expected: Record<string, string>[];
}
interface RuleTest {
  name: string;
  intervalMs: number;
  hosts: HostInput[];
  expectations: Expectation[];
}

const positive = duration.refine((s) => (parseDuration(s) ?? 0) >= 1000, 'a duration of at least 1s');
const value = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const labelMap = z.record(z.string().regex(LABEL_KEY_PATTERN, 'a label name: letters, digits and _'), value);

const SeriesSchema = z.strictObject({
  host: z.string().max(253).regex(HOST_ID_PATTERN, HOST_ID_MESSAGE),
  labels: labelMap.optional(),
  values: z.record(z.string(), z.string()),
});
const CaseSchema = z.strictObject({
  eval_time: duration,
  alertname: z.string().min(1),
  exp_alerts: z.array(z.strictObject({ exp_labels: z.record(z.string(), value).optional() })),
});
const TestSchema = z.strictObject({
  name: z.string().max(200).optional(),
  interval: positive.optional(),
  input_series: z.array(z.unknown()),
  alert_rule_test: z.array(z.unknown()).min(1, 'at least one case'),
});
const FileSchema = z.strictObject({ interval: positive.optional(), tests: z.array(z.unknown()).min(1, 'at least one test') });

/** Parses and validates a tests file against the rules; throws RulesError listing every problem (each naming its line). */
export function parseRuleTests(text: string, file: string, rules: RuleSet): RuleTest[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) throw new RulesError(doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: not valid YAML: ${e.message.split('\n')[0] ?? ''}`));
  const p = new Problems(file, doc, lc);
  const data = doc.toJS() as unknown;
  const top = FileSchema.safeParse(data);
  if (!top.success) {
    reportIssues(p, top.error.issues, [], '', data);
    throw new RulesError(p.list.map((x) => x.text));
  }
  const names = new Set(rules.rules.map((r) => r.name));
  const out: RuleTest[] = [];
  for (const [ti, raw] of top.data.tests.entries()) {
    const nameOf = (raw as { name?: unknown } | null)?.name;
    const who = typeof nameOf === 'string' && nameOf !== '' ? `test ${JSON.stringify(nameOf)}` : `test #${ti + 1}`;
    const base = ['tests', ti];
    const r = TestSchema.safeParse(raw);
    if (!r.success) reportIssues(p, r.error.issues, base, who, raw);
    const t = r.success ? r.data : { ...(raw as Partial<z.infer<typeof TestSchema>>) };
    // Each series and case alone, so one pass lists every problem.
    const each = <T>(schema: z.ZodType<T>, list: unknown, field: string): [number, T][] =>
      (Array.isArray(list) ? list : []).flatMap((item: unknown, i): [number, T][] => {
        const c = schema.safeParse(item);
        if (c.success) return [[i, c.data]];
        reportIssues(
          p,
          c.error.issues.map((x) => ({ ...x, path: [field, i, ...x.path] })),
          base,
          who,
          raw,
        );
        return [];
      });
    const hosts: HostInput[] = [];
    const seen = new Set<string>();
    for (const [si, s] of each(SeriesSchema, t.input_series, 'input_series')) {
      const at = [...base, 'input_series', si];
      if (seen.has(s.host)) p.add([...at, 'host'], who, `input_series.${si}.host`, `host ${JSON.stringify(s.host)} has series above: give all of a host's metrics in one entry`);
      seen.add(s.host);
      const series: HostInput['series'] = [];
      for (const [path, text] of Object.entries(s.values)) {
        const field = `input_series.${si}.values.${path}`;
        const m = parseMetric(path);
        if (typeof m === 'string') p.add([...at, 'values', path], who, field, m, true);
        else if (m.rate) p.add([...at, 'values', path], who, field, `give the counter's own values (${m.section}.${m.key}); rules take rate() of them`, true);
        const v = expandSeries(text);
        if (typeof v === 'string') p.add([...at, 'values', path], who, field, v);
        if (typeof m !== 'string' && typeof v !== 'string') series.push({ metric: m, values: v });
      }
      hosts.push({ host: s.host, labels: s.labels ?? {}, series });
    }
    const expectations: Expectation[] = [];
    for (const [ci, c] of each(CaseSchema, t.alert_rule_test, 'alert_rule_test')) {
      const at = [...base, 'alert_rule_test', ci];
      if (!names.has(c.alertname)) p.add([...at, 'alertname'], who, `alert_rule_test.${ci}.alertname`, `no rule ${JSON.stringify(c.alertname)} in ${rules.file}`);
      const evalMs = parseDuration(c.eval_time) ?? 0;
      if (evalMs > MAX_SPAN_MS) p.add([...at, 'eval_time'], who, `alert_rule_test.${ci}.eval_time`, `at most ${formatDuration(MAX_SPAN_MS)}`);
      expectations.push({ line: p.line(at), evalMs, alertname: c.alertname, expected: c.exp_alerts.map((e) => e.exp_labels ?? {}) });
    }
    out.push({
      name: typeof t.name === 'string' ? t.name : `#${ti + 1}`,
      intervalMs: parseDuration((r.success ? t.interval : undefined) ?? top.data.interval ?? '10s') ?? 10_000,
      hosts,
      expectations,
    });
  }
  if (p.list.length > 0) throw new RulesError(p.list.sort((a, b) => a.line - b.line).map((x) => x.text));
  return out;
}

/** A snapshot of `h` at step `i`, or null when none of its series has a value there. */
function snapshotAt(h: HostInput, i: number, ts: number, intervalMs: number): Snapshot | null {
  const present = h.series.filter((s) => s.values[i] !== undefined && s.values[i] !== null);
  if (present.length === 0) return null;
  const snap: Snapshot = {
    host: h.host,
    ts,
    seq: i + 1,
    boot: 'rules-test-boot',
    interval_ms: intervalMs,
    labels: h.labels,
    states: emptyStates(),
    ipv4: emptyStates(),
    ipv6: emptyStates(),
    summary: Object.fromEntries(SUMMARY_KEYS.map((k) => [k, 0])) as Snapshot['summary'],
    sockstat: emptySockstat(),
    snmp: {},
    netstat: {},
    collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
    breakdown: { inbound: [], outbound: [], other: { inbound: emptyStates(), outbound: emptyStates() } },
  };
  for (const s of present) (snap[s.metric.section] as unknown as Record<string, number>)[s.metric.key] = s.values[i] ?? 0;
  return snap;
}

const labelText = (l: Record<string, string>): string =>
  `{${Object.keys(l)
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(', ')}}`;

/** Runs one test on a fresh engine; returns one line per failed expectation. */
function runTest(t: RuleTest, rules: RuleSet, file: string): string[] {
  const db = new Database(':memory:');
  try {
    const clock = { now: T0 };
    const engine = new AlertEngine({ store: new SqliteAlertStore(db), log: pino({ level: 'silent' }), onQueued: () => {}, now: () => clock.now });
    engine.setRules(rules);
    const steps = Math.max(0, ...t.hosts.flatMap((h) => h.series.map((s) => s.values.length)));
    const lastEval = Math.max(0, ...t.expectations.map((e) => e.evalMs));
    const end = Math.min(MAX_SPAN_MS, Math.max(lastEval, (steps - 1) * t.intervalMs));
    // Every moment something happens: a sample, an evaluation tick, an eval_time.
    const times = new Set<number>();
    for (let ms = 0; ms <= end; ms += TICK_MS) times.add(ms);
    for (let i = 0; i < steps && i * t.intervalMs <= end; i++) times.add(i * t.intervalMs);
    for (const e of t.expectations) times.add(e.evalMs);
    const failures: string[] = [];
    for (const ms of [...times].sort((a, b) => a - b)) {
      clock.now = T0 + ms;
      if (ms % t.intervalMs === 0) {
        const i = ms / t.intervalMs;
        for (const h of t.hosts) {
          const s = snapshotAt(h, i, clock.now, t.intervalMs);
          if (s !== null) engine.ingest([{ host: h.host, labels: h.labels, snapshots: [s] }], clock.now);
        }
      }
      engine.tick();
      for (const e of t.expectations) {
        if (e.evalMs !== ms) continue;
        const got = engine
          .list(false)
          .filter((a) => a.status === 'firing' && a.rule === e.alertname)
          .map((a) => {
            const { alertname: _, ...rest } = alertLabels(a);
            return labelText(rest);
          })
          .sort();
        const want = e.expected.map(labelText).sort();
        if (got.join('\n') !== want.join('\n')) {
          const list = (xs: string[]): string => (xs.length === 0 ? 'none' : xs.join(' '));
          failures.push(`${file}:${e.line}: test ${JSON.stringify(t.name)}: at ${formatDuration(e.evalMs)} ${e.alertname}: expected firing ${list(want)}, got ${list(got)}`);
        }
      }
    }
    return failures;
  } finally {
    db.close();
  }
}

/** Result of `tcpfleet rules test`. */
export interface RuleTestsResult {
  tests: number;
  cases: number;
  failures: string[];
}

/** Reads a tests file and runs it against `rules`; throws RulesError for a bad tests file. */
export function runRuleTestsFile(rules: RuleSet, testsFile: string): RuleTestsResult {
  let text: string;
  try {
    text = readFileSync(testsFile, 'utf8');
  } catch (err) {
    throw new RulesError([`${testsFile}: cannot read the tests file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const tests = parseRuleTests(text, testsFile, rules);
  const failures = tests.flatMap((t) => runTest(t, rules, testsFile));
  return { tests: tests.length, cases: tests.reduce((n, t) => n + t.expectations.length, 0), failures };
}
