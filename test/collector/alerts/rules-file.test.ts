/**
 * The rules file: what a good file becomes, and for every kind of bad input the exact line that
 * names the file, the line, the rule and the field. Also `tcpfleet rules check` as the user runs
 * it (exit 0 / 2, one line per problem) on the stock rules and on a bad file.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RulesError, parseRules } from '../../../packages/collector/src/alerts/rules-file.js';
import { REPO } from '../../helpers/fixtures.js';
import { cli, tempDir } from '../../helpers/procs.js';

function problems(text: string): string[] {
  try {
    parseRules(text, 'r.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(RulesError);
    expect((err as RulesError).code).toBe('TCPFLEET_ERR_RULES');
    return [...(err as RulesError).problems];
  }
  throw new Error('the file was accepted');
}

const HEAD = `notifiers:
  - { name: ops, type: webhook, url: "http://127.0.0.1:9/hook" }
rules:
`;

describe('rules file: a good file', () => {
  it('fills defaults (built-in < file defaults < rule) and parses metrics and notifiers', () => {
    const set = parseRules(
      `defaults: { for: 30s, grace: 2m }
notifiers:
  - { name: ops, type: webhook, url: "http://alerts.example:9000/hook", format: slack, timeout: 5s }
rules:
  - name: established-spike
    kind: spike
    metric: states.established
    scope: host
    match: { env: prod }
    window: 10m
    factor: 3
    min_delta: 100
    for: 45s
    severity: warning
    notify: [ops]
  - { name: close-wait-leak, kind: threshold, metric: states.close_wait, op: ">", value: 500, for: 10m }
  - { name: retrans, kind: threshold, metric: rate(snmp.RetransSegs), op: ">", value: 10, resolve_value: 5, scope: fleet }
  - { name: host-down, kind: absent, for: 1m }
`,
      'r.yml',
    );
    expect(set.notifiers).toEqual([{ name: 'ops', type: 'webhook', url: 'http://alerts.example:9000/hook', format: 'slack', timeoutMs: 5000, retries: 3, backoffMs: 1000, secret: null }]);
    const [spike, leak, retrans, down] = set.rules;
    expect(spike).toMatchObject({
      kind: 'spike',
      forMs: 45_000,
      graceMs: 120_000,
      repeatMs: 3_600_000,
      windowMs: 600_000,
      factor: 3,
      minDelta: 100,
      resolveFactor: 2,
      match: { env: 'prod' },
      notify: ['ops'],
    });
    expect(spike).toMatchObject({ metric: { section: 'states', key: 'established', rate: false } });
    expect(leak).toMatchObject({ kind: 'threshold', op: '>', value: 500, resolveValue: 500, forMs: 600_000, scope: 'host', severity: 'warning' });
    expect(retrans).toMatchObject({ scope: 'fleet', resolveValue: 5, metric: { section: 'snmp', key: 'RetransSegs', rate: true } });
    expect(down).toMatchObject({ kind: 'absent', forMs: 60_000 });
    expect(Object.isFrozen(set.rules)).toBe(true);
  });
});

describe('rules file: every problem names the line, the rule and the field', () => {
  it.each([
    { name: 'unknown field in a rule', rule: `  - name: a\n    kind: absent\n    colour: red\n`, want: 'r.yml:6: rule "a": field "colour": unknown field' },
    { name: 'bad duration', rule: `  - name: a\n    kind: absent\n    for: 5 minutes\n`, want: 'r.yml:6: rule "a": field "for": a duration such as 30s, 10m, 1h (got "5 minutes")' },
    {
      name: 'unknown metric path',
      rule: `  - name: a\n    kind: threshold\n    metric: states.estab\n    op: ">"\n    value: 1\n`,
      want: 'r.yml:6: rule "a": field "metric": unknown state "estab" in "states.estab": use one of established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, close_wait, last_ack, listen, closing, new_syn_recv',
    },
    {
      name: 'unknown metric section',
      rule: `  - { name: a, kind: threshold, metric: tcp.x, op: ">", value: 1 }\n`,
      want: 'r.yml:4: rule "a": field "metric": unknown metric "tcp.x": use states.X, ipv4.X, ipv6.X, summary.X, sockstat.X, snmp.X, netstat.X or rate(snmp.X)',
    },
    {
      name: 'rate of a gauge',
      rule: `  - { name: a, kind: threshold, metric: rate(states.listen), op: ">", value: 1 }\n`,
      want: 'r.yml:4: rule "a": field "metric": rate() takes a counter (snmp.X or netstat.X), not "states.listen"',
    },
    { name: 'unknown notifier', rule: `  - name: a\n    kind: absent\n    notify: [ops, pager]\n`, want: 'r.yml:6: rule "a": field "notify": unknown notifier "pager" (defined: ops)' },
    { name: 'missing field for the kind', rule: `  - name: a\n    kind: spike\n    metric: states.established\n    factor: 3\n`, want: 'r.yml:4: rule "a": field "window": required for kind spike' },
    {
      name: 'field of another kind',
      rule: `  - name: a\n    kind: threshold\n    metric: states.listen\n    op: ">"\n    value: 1\n    factor: 2\n`,
      want: 'r.yml:9: rule "a": field "factor": does not apply to kind threshold',
    },
    { name: 'unknown kind', rule: `  - name: a\n    kind: trend\n`, want: 'r.yml:5: rule "a": field "kind": Invalid option: expected one of "threshold"|"spike"|"absent" (got "trend")' },
    {
      name: 'resolve_value on the wrong side',
      rule: `  - { name: a, kind: threshold, metric: states.close_wait, op: ">", value: 100, resolve_value: 200 }\n`,
      want: 'r.yml:4: rule "a": field "resolve_value": must be on the resolved side of value (<= 100) for op >',
    },
    {
      name: 'resolve_factor not below factor',
      rule: `  - { name: a, kind: spike, metric: states.established, window: 1m, factor: 2, resolve_factor: 3 }\n`,
      want: 'r.yml:4: rule "a": field "resolve_factor": must be below factor (2)',
    },
    { name: 'factor not above 1', rule: `  - { name: a, kind: spike, metric: states.established, window: 1m, factor: 1 }\n`, want: 'r.yml:4: rule "a": field "factor": a number above 1 (got 1)' },
    { name: 'duplicate rule name', rule: `  - { name: a, kind: absent }\n  - { name: a, kind: absent }\n`, want: 'r.yml:5: rule "a": field "name": duplicate rule name (names must be unique)' },
    { name: 'a rule without a name', rule: `  - { kind: absent }\n`, want: 'r.yml:4: rule #1: field "name": required' },
  ])('$name', ({ rule, want }) => {
    expect(problems(HEAD + rule)).toEqual([want]);
  });

  it('lists every problem of a file at once, in line order', () => {
    const got = problems(`${HEAD}  - name: a
    kind: spike
    metric: states.establishd
    window: 10 minutes
    factor: 3
    bogus: 1
    notify: [pager]
`);
    expect(got).toEqual([
      'r.yml:6: rule "a": field "metric": unknown state "establishd" in "states.establishd": use one of established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, close_wait, last_ack, listen, closing, new_syn_recv',
      'r.yml:7: rule "a": field "window": a duration such as 30s, 10m, 1h (got "10 minutes")',
      'r.yml:9: rule "a": field "bogus": unknown field',
      'r.yml:10: rule "a": field "notify": unknown notifier "pager" (defined: ops)',
    ]);
  });

  it.each([
    { name: 'notifier with a bad URL', text: `notifiers:\n  - { name: ops, type: webhook, url: "ftp://x/" }\nrules: []\n`, want: 'r.yml:2: notifier "ops": field "url": an http:// or https:// URL' },
    {
      name: 'notifier with a bad timeout',
      text: `notifiers:\n  - name: ops\n    type: webhook\n    url: "http://127.0.0.1:9/"\n    timeout: soon\nrules: []\n`,
      want: 'r.yml:5: notifier "ops": field "timeout": a duration such as 30s, 10m, 1h (got "soon")',
    },
    { name: 'unknown top-level field', text: `rules: []\nroutes: []\n`, want: 'r.yml:2: field "routes": unknown field (the file has defaults, notifiers and rules)' },
    { name: 'bad default duration', text: `defaults:\n  for: forever\nrules: []\n`, want: 'r.yml:2: defaults: field "for": a duration such as 30s, 10m, 1h (got "forever")' },
    { name: 'unknown field in defaults', text: `defaults: { for: 1m, wait: 2m }\nrules: []\n`, want: 'r.yml:1: defaults: field "wait": unknown field' },
    { name: 'not YAML', text: `rules: [\n`, want: /^r\.yml:\d+: not valid YAML: / },
    { name: 'no rules list', text: `just text\n`, want: 'r.yml:1: the rules file must be a mapping with a "rules:" list' },
  ])('$name', ({ text, want }) => {
    const got = problems(text);
    expect(got).toHaveLength(1);
    if (typeof want === 'string') expect(got[0]).toBe(want);
    else expect(got[0]).toMatch(want);
  });
});

describe('tcpfleet rules check', () => {
  it('accepts the stock rules (exit 0)', () => {
    const r = cli(['rules', 'check', join(REPO, 'rules/stock.yml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: 7 rules (established-spike, close-wait-leak, time-wait-exhaustion, syn-recv-flood, listen-overflows, retransmit-rate, host-down)');
  });

  it('rejects a bad file with exit 2 and one line per problem on stderr', () => {
    const tmp = tempDir('rules-check');
    try {
      const file = join(tmp.dir, 'bad.yml');
      writeFileSync(file, `${HEAD}  - { name: a, kind: threshold, metric: states.listen, op: "=", value: 1 }\n  - { name: b, kind: absent, for: 1 }\n`);
      const r = cli(['rules', 'check', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        `${file}:4: rule "a": field "op": Invalid option: expected one of ">"|">="|"<"|"<=" (got "=")`,
        `${file}:5: rule "b": field "for": Invalid input: expected string, received number (got 1)`,
      ]);
      const missing = cli(['rules', 'check', join(tmp.dir, 'nope.yml')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toBe(`${join(tmp.dir, 'nope.yml')}: cannot read the rules file: ENOENT\n`);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('tcpfleet serve --rules with a bad file', () => {
  it('refuses to start: exit 2, naming the rule, field and line', () => {
    const tmp = tempDir('serve-bad-rules');
    try {
      const file = join(tmp.dir, 'bad.yml');
      writeFileSync(file, `rules:\n  - { name: a, kind: spike, metric: states.established, window: 1m, factor: 3, min_delta: lots }\n`);
      const r = cli(['serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, 'db'), '--token', 'tok-0123456789abcdef', '--rules', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`tcpfleet: ${file}:2: rule "a": field "min_delta": Invalid input: expected number, received string (got "lots")`);
    } finally {
      tmp.cleanup();
    }
  });
});
