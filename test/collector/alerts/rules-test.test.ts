/**
 * `tcpfleet rules test FILE TESTS.yml`, run as built: the shipped tests of rules/stock.yml pass
 * (exit 0); a rule changed under them (close-wait-leak's `for` from 10m to 15m), or an
 * expectation changed, fails with one line per failed expectation naming its line (exit 1); a
 * tests file with bad lines is refused, each problem naming its line (exit 2). And the expanding
 * notation of input series, as promtool's.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../helpers/fixtures.js';
import { cli, tempDir } from '../../helpers/procs.js';
import { expandSeries } from '../../../packages/collector/src/alerts/series-notation.js';

const STOCK = join(REPO, 'rules/stock.yml');
const TESTS = join(REPO, 'rules/stock.test.yml');

/** The 1-based line of the first line of `text` at or after `from` that contains `needle`. */
function lineOf(text: string, needle: string, from = 1): number {
  const lines = text.split('\n');
  for (let i = from - 1; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1;
  throw new Error(`${needle} not found`);
}

describe('tcpfleet rules test', () => {
  it('the shipped tests of the stock rules pass: exit 0', () => {
    const r = cli(['rules', 'test', STOCK, TESTS]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${TESTS}: ok: 24 cases in 7 tests passed\n`);
    expect(r.code).toBe(0);
  });

  it('a rule changed under the tests fails: one line per failed expectation, exit 1', () => {
    const tmp = tempDir('rules-test');
    try {
      const stock = readFileSync(STOCK, 'utf8');
      const at = stock.indexOf('  - name: close-wait-leak');
      const changed = stock.slice(0, at) + stock.slice(at).replace('    for: 10m\n', '    for: 15m\n');
      expect(changed).not.toBe(stock);
      const rules = join(tmp.dir, 'rules.yml');
      writeFileSync(rules, changed);
      const r = cli(['rules', 'test', rules, TESTS]);
      const tests = readFileSync(TESTS, 'utf8');
      const name = 'close-wait-leak fires after 10 minutes over 200 and holds until 50 (hysteresis)';
      const start = lineOf(tests, name);
      expect(r.stderr.trim().split('\n')).toEqual([
        `${TESTS}:${lineOf(tests, 'eval_time: 12m10s', start)}: test "${name}": at 12m10s close-wait-leak: expected firing {host="app1", severity="warning"}, got none`,
        `${TESTS}:${lineOf(tests, 'eval_time: 14m', start)}: test "${name}": at 14m close-wait-leak: expected firing {host="app1", severity="warning"}, got none`,
      ]);
      expect(r.stdout).toBe(`${TESTS}: FAILED: 2 of 24 cases in 7 tests\n`);
      expect(r.code).toBe(1);

      // An expectation changed instead: the labels it got are named.
      const wrong = tests.replace('- exp_labels: { host: lb1, severity: critical, zone: a }', '- exp_labels: { host: lb1, severity: warning, zone: a }');
      const testsFile = join(tmp.dir, 'stock.test.yml');
      writeFileSync(testsFile, wrong);
      const w = cli(['rules', 'test', STOCK, testsFile]);
      expect(w.stderr.trim().split('\n')).toEqual([
        `${testsFile}:${lineOf(wrong, 'eval_time: 7m10s')}: test "time-wait-exhaustion fires after 5 minutes over 20000 and holds until 15000": at 7m10s time-wait-exhaustion: expected firing {host="lb1", severity="warning", zone="a"}, got {host="lb1", severity="critical", zone="a"}`,
      ]);
      expect(w.code).toBe(1);
    } finally {
      tmp.cleanup();
    }
  });

  it('a tests file with bad lines is refused, each problem naming its line: exit 2', () => {
    const tmp = tempDir('rules-test-bad');
    try {
      const file = join(tmp.dir, 'bad.test.yml');
      writeFileSync(
        file,
        `interval: 10s
tests:
  - name: bad
    input_series:
      - host: web1
        values:
          states.established: '100x10 abc'
          rate(snmp.RetransSegs): '1'
      - host: web1
        values: { states.listen: '1' }
    alert_rule_test:
      - eval_time: 1m
        alertname: nope
        exp_alerts: []
      - eval_time: soon
        alertname: host-down
        exp_alerts: []
`,
      );
      const r = cli(['rules', 'test', STOCK, file]);
      expect(r.stderr.trim().split('\n')).toEqual([
        `${file}:7: test "bad": field "input_series.0.values.states.established": bad item "abc": use a, a+bxn, a-bxn, axn, _ or _xn (n a whole number)`,
        `${file}:8: test "bad": field "input_series.0.values.rate(snmp.RetransSegs)": give the counter's own values (snmp.RetransSegs); rules take rate() of them`,
        `${file}:9: test "bad": field "input_series.1.host": host "web1" has series above: give all of a host's metrics in one entry`,
        `${file}:13: test "bad": field "alert_rule_test.0.alertname": no rule "nope" in ${STOCK}`,
        `${file}:15: test "bad": field "alert_rule_test.1.eval_time": a duration such as 30s, 10m, 1h (got "soon")`,
      ]);
      expect(r.stdout).toBe('');
      expect(r.code).toBe(2);

      writeFileSync(file, 'tests:\n  - name: x\n    input_series: [\n');
      const y = cli(['rules', 'test', STOCK, file]);
      expect(y.stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: not valid YAML: `));
      expect(y.code).toBe(2);

      const missing = cli(['rules', 'test', STOCK]);
      expect(missing.stderr).toBe('tcpfleet: rules test needs a rules file and a tests file: tcpfleet rules test FILE TESTS.yml\n');
      expect(missing.code).toBe(2);
    } finally {
      tmp.cleanup();
    }
  });

  it("fleet-scope rules: the fleet alert has the rule's match and severity as labels, no host", () => {
    const tmp = tempDir('rules-test-fleet');
    try {
      const rules = join(tmp.dir, 'fleet.yml');
      writeFileSync(rules, `rules:\n  - { name: fleet-estab, kind: threshold, scope: fleet, match: { env: prod }, metric: states.established, op: ">", value: 100, for: 20s, grace: 0s }\n`);
      const tests = join(tmp.dir, 'fleet.test.yml');
      writeFileSync(
        tests,
        `tests:
  - name: the sum over matching hosts
    interval: 10s
    input_series:
      - { host: a, labels: { env: prod }, values: { states.established: '60x10' } }
      - { host: b, labels: { env: prod }, values: { states.established: '30x3 60x7' } }
      - { host: c, labels: { env: dev }, values: { states.established: '500x10' } }
    alert_rule_test:
      - { eval_time: 50s, alertname: fleet-estab, exp_alerts: [] }
      - { eval_time: 60s, alertname: fleet-estab, exp_alerts: [ { exp_labels: { env: prod, severity: warning } } ] }
`,
      );
      const r = cli(['rules', 'test', rules, tests]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      tmp.cleanup();
    }
  });

  it('expands series as promtool does', () => {
    expect(expandSeries('-2+4x3')).toEqual([-2, 2, 6, 10]);
    expect(expandSeries(' 1-2x4')).toEqual([1, -1, -3, -5, -7]);
    expect(expandSeries('5x2 _ 7 _x2 1.5')).toEqual([5, 5, 5, null, 7, null, null, 1.5]);
    expect(expandSeries('1e3x1')).toEqual([1000, 1000]);
    expect(expandSeries('1+x3')).toBe('bad item "1+x3": use a, a+bxn, a-bxn, axn, _ or _xn (n a whole number)');
    expect(expandSeries('')).toBe('an empty series: give at least one value');
    expect(expandSeries('0x100000')).toBe('the series is longer than 86400 steps');
  });
});
