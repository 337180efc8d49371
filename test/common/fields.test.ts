/**
 * The field table (packages/common/src/model/fields.ts) and the plan derived from it: the order
 * the stored bytes depend on, the table's own rules, its kernel sources against the fixture
 * files read independently, and that a field name is spelled in the table alone.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLAN, SECTIONS, planOf, SOCKSTAT_KEYS, SOCKSTAT_READS, SUMMARY_KEYS, TCP_STATES, WALK_SIGNALS, computeSsSummary, parseSockstat } from '@tcpfleet/common';
import type { SectionDef } from '@tcpfleet/common';
import { parseMetric } from '../../packages/collector/src/alerts/metric.js';
import { EXAMPLE_FIELD } from '../../packages/common/src/model/fields-doc.js';
import { FIXTURES, REPO, readCase } from '../helpers/fixtures.js';

const sections = SECTIONS as readonly SectionDef[];

describe('the field table', () => {
  it("stores release 0.1.0's numbers in this order (the values blob and bin1 frame depend on it)", () => {
    const states = (s: string): string[] => TCP_STATES.map((st) => `${s}.${st}`);
    expect(PLAN.version).toBe(1);
    expect(PLAN.latest.map((x) => x.path)).toEqual([
      ...states('ipv4'),
      ...states('ipv6'),
      'summary.total',
      'summary.estab',
      'summary.closed',
      'summary.orphaned',
      'summary.timewait',
      'sockstat.sockets_used',
      'sockstat.tcp_inuse',
      'sockstat.tcp_orphan',
      'sockstat.tcp_tw',
      'sockstat.tcp_alloc',
      'sockstat.tcp_mem',
      'sockstat.tcp6_inuse',
      'collect.ms',
      'collect.bytes',
      'collect.skipped',
      'collect.states_age_ms',
      'interval_ms',
    ]);
    expect(PLAN.open.map((p) => p.key)).toEqual(['snmp', 'netstat']);
  });

  it('keeps in a rollup the states and summary (aggregated), the IPv4 states and sockstat (last)', () => {
    expect(PLAN.aggregate.map((x) => x.path)).toEqual([...TCP_STATES.map((st) => `states.${st}`), ...SUMMARY_KEYS.map((k) => `summary.${k}`)]);
    expect(PLAN.last.map((x) => x.path)).toEqual([...TCP_STATES.map((st) => `ipv4.${st}`), ...SOCKSTAT_KEYS.map((k) => `sockstat.${k}`)]);
  });

  it('has unique section keys and field names, JSON-safe, with since never going down in a section (append only)', () => {
    const keys = sections.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of sections) {
      const names = s.fields.map((f) => f.name);
      expect(new Set(names).size, String(s.key)).toBe(names.length);
      let since = 1;
      for (const f of s.fields) {
        expect(f.name).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(f.doc.length, f.name).toBeGreaterThan(10);
        expect(f.since ?? 1).toBeGreaterThanOrEqual(since);
        since = f.since ?? 1;
      }
      if (s.open !== undefined) expect(s.fields).toEqual([]);
      if (s.sumOf !== undefined) for (const part of s.sumOf) expect(sections.find((x) => x.key === part)?.fields.map((f) => f.name)).toEqual(names);
      if (s.states === true) expect(names).toEqual([...TCP_STATES]);
    }
  });

  it("refuses a table whose versions skip one (a blob's count could no longer name its version)", () => {
    const skip = sections.map((s) => (s.key === 'sockstat' ? { ...s, fields: [...s.fields, { ...EXAMPLE_FIELD, since: 3 }] } : s));
    expect(() => planOf(skip)).toThrow('field table: no field has since 2 (versions must follow one another)');
  });

  it('reads each sockstat figure from the line and key it names (checked against the fixture text read by a regex)', () => {
    const files: Record<string, string> = {
      'net/sockstat': readFileSync(join(FIXTURES, 'proc/net/sockstat'), 'utf8'),
      'net/sockstat6': readFileSync(join(FIXTURES, 'proc/net/sockstat6'), 'utf8'),
    };
    const parsed = parseSockstat(files['net/sockstat']!, files['net/sockstat6']!);
    const seed = parseSockstat(readCase('net-sockstat', 'seed.txt').toString(), readCase('net-sockstat', 'seed6.txt').toString());
    const seedFiles: Record<string, string> = { 'net/sockstat': readCase('net-sockstat', 'seed.txt').toString(), 'net/sockstat6': readCase('net-sockstat', 'seed6.txt').toString() };
    expect(Object.keys(parsed)).toEqual([...SOCKSTAT_KEYS]);
    for (const f of SOCKSTAT_READS) {
      for (const [got, text] of [
        [parsed, files],
        [seed, seedFiles],
      ] as const) {
        const m = new RegExp(`^${f.kernel.line}:(?: \\S+ \\d+)*? ${f.kernel.key} (\\d+)`, 'm').exec(text[f.kernel.file]!);
        expect(m, `${f.kernel.file} ${f.kernel.line}: ${f.kernel.key}`).not.toBeNull();
        expect(got[f.name]).toBe(Number(m![1]));
      }
    }
  });

  it('computes the summary with the formulas it documents (the seed: 27 inuse, 10 inuse6, 1 tw, 48 alloc)', () => {
    const ss = computeSsSummary(parseSockstat(readCase('net-sockstat', 'seed.txt').toString(), readCase('net-sockstat', 'seed6.txt').toString()), { CurrEstab: 7 });
    expect(ss).toEqual({ total: 49, estab: 7, closed: 12, orphaned: 0, timewait: 1 });
    expect(Object.keys(ss)).toEqual([...SUMMARY_KEYS]);
  });

  it('watches the cheap figures it names between walks', () => {
    const sockstat = parseSockstat('sockets: used 9\nTCP: inuse 5 orphan 1 tw 3 alloc 8 mem 1\n', 'TCP6: inuse 2\n');
    expect(WALK_SIGNALS.map((s) => s.of({ sockstat, snmp: { CurrEstab: 4 } }))).toEqual([7, 3, 4]);
  });
});

describe('alert metric paths from the table', () => {
  it.each([
    ['sockstat.tcp_tw', { section: 'sockstat', key: 'tcp_tw', rate: false }],
    ['summary.closed', { section: 'summary', key: 'closed', rate: false }],
    ['ipv6.time_wait', { section: 'ipv6', key: 'time_wait', rate: false }],
    ['rate(netstat.ListenDrops)', { section: 'netstat', key: 'ListenDrops', rate: true }],
  ])('reads %s', (text, want) => {
    expect(parseMetric(text)).toMatchObject(want);
  });

  it.each([
    ['sockstat.udp_inuse', `unknown sockstat field "udp_inuse": use one of ${SOCKSTAT_KEYS.join(', ')}`],
    ['summary.open', `unknown summary field "open": use one of ${SUMMARY_KEYS.join(', ')}`],
    ['states.open', `unknown state "open" in "states.open": use one of ${TCP_STATES.join(', ')}`],
    ['rate(sockstat.tcp_tw)', 'rate() takes a counter (snmp.X or netstat.X), not "sockstat.tcp_tw"'],
    ['collect.ms', 'unknown metric "collect.ms": use states.X, ipv4.X, ipv6.X, summary.X, sockstat.X, snmp.X, netstat.X or rate(snmp.X)'],
  ])('refuses %s, naming what would do', (text, want) => {
    expect(parseMetric(text)).toBe(want);
  });
});

/** Every product source file (packages/X/src/**.ts). */
function productFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(p.slice(REPO.length));
    }
  };
  for (const pkg of readdirSync(join(REPO, 'packages'))) walk(join(REPO, 'packages', pkg, 'src'));
  return out;
}

it('spells each sockstat field name in the field table alone (grep -rl tcp_inuse packages/*/src)', () => {
  const files = productFiles();
  expect(files.length).toBeGreaterThan(50);
  for (const name of SOCKSTAT_KEYS) {
    const spelled = files.filter((f) => readFileSync(join(REPO, f), 'utf8').includes(name));
    expect(spelled, name).toEqual(['packages/common/src/model/fields.ts']);
  }
});
