/**
 * `tcpfleet alerts [--all] [--json]` (a client of GET /api/v1/alerts) and
 * `tcpfleet rules check FILE` (the same validation `serve --rules` runs, without a collector).
 */
import { formatDuration, parseSelector, printable } from '@tcpfleet/common/light';
import { getJson } from './client.js';
import type { AlertPayload } from '../alerts/payload.js';
import { ago, table } from './format.js';

/** One alert as the API answers (type-only import: nothing of the alerts module loads here). */
type AlertDoc = AlertPayload;

const sum = (s: Record<string, number>): number => Object.values(s).reduce((a, b) => a + b, 0);

function evidence(a: AlertDoc): string {
  const e = a.evidence;
  if (e === null) return '';
  if ('netns' in e) {
    // A container-scope alert: its namespace, who holds it, and its biggest states.
    const c = e.container;
    const who =
      c === null
        ? ''
        : `${c.pod === undefined ? '' : ` pod ${c.namespace === undefined ? '' : `${c.namespace}/`}${c.pod}`}${c.name === undefined ? '' : ` container ${c.name}`} ${c.runtime} ${c.id.slice(0, 12)}`;
    const top = Object.entries(e.states)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 3)
      .map(([st, n]) => `${st} ${n}`);
    return `netns ${e.netns}${who}${top.length > 0 ? `: ${top.join(', ')}` : ''}`;
  }
  const parts: string[] = [];
  const i = e.inbound[0];
  if (i !== undefined) parts.push(`port ${i.port}: ${sum(i.states)}`);
  const o = e.outbound[0];
  if (o !== undefined) parts.push(`peer ${o.addr.includes(':') ? `[${o.addr}]` : o.addr}:${o.port}: ${sum(o.states)}`);
  return parts.join(', ');
}

/** `tcpfleet alerts` */
export async function alertsCmd(o: { url: string; json: boolean; all: boolean; selector?: string | undefined; readToken: string | null }): Promise<void> {
  if (o.selector !== undefined) parseSelector(o.selector);
  const params = [o.all ? 'all=1' : '', o.selector === undefined ? '' : `selector=${encodeURIComponent(o.selector)}`].filter((p) => p !== '');
  const list = await getJson<AlertDoc[]>(o.url, `api/v1/alerts${params.length > 0 ? `?${params.join('&')}` : ''}`, undefined, o.readToken);
  if (o.json) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return;
  }
  if (list.length === 0) {
    process.stdout.write(o.all ? 'no alerts yet\n' : 'no alerts firing or pending\n');
    return;
  }
  const now = Date.now();
  process.stdout.write(
    table(
      ['STATUS', 'RULE', 'SEVERITY', 'HOST', 'METRIC', 'VALUE', 'BASELINE', 'SINCE', 'FOR', 'EVIDENCE'],
      list.map((a) => [
        a.status.toUpperCase(),
        a.rule,
        a.severity,
        a.host ?? '(fleet)',
        a.metric ?? 'absent',
        a.value === null ? '' : String(a.value),
        a.baseline === undefined || a.baseline === null ? '' : String(a.baseline),
        ago(a.startsAt, now),
        formatDuration(Math.max(0, (a.endsAt ?? now) - a.startsAt)),
        printable(evidence(a)),
      ]),
    ),
  );
}

/** `tcpfleet rules check FILE`: prints a summary and returns [] when the file is good, else one line per problem. */
export async function rulesCheck(file: string): Promise<string[]> {
  const { RulesError, loadRulesFile } = await import('../alerts/rules-file.js');
  try {
    const set = loadRulesFile(file);
    process.stdout.write(
      `${file}: ok: ${set.rules.length} rule${set.rules.length === 1 ? '' : 's'} (${set.rules.map((r) => r.name).join(', ')}), ${set.notifiers.length} notifier${set.notifiers.length === 1 ? '' : 's'}\n`,
    );
    return [];
  } catch (err) {
    if (err instanceof RulesError) return [...err.problems];
    throw err;
  }
}

/**
 * `tcpfleet rules test FILE TESTS`: runs the tests file against the rules with the real engine.
 * Returns the exit code: 0 every expectation held, 1 some failed (one line each on stderr),
 * 2 the rules or the tests file is bad (one line per problem).
 */
export async function rulesTest(file: string, testsFile: string): Promise<number> {
  const { RulesError, loadRulesFile } = await import('../alerts/rules-file.js');
  const { runRuleTestsFile } = await import('../alerts/rules-test.js');
  try {
    const r = runRuleTestsFile(loadRulesFile(file), testsFile);
    for (const f of r.failures) process.stderr.write(`${f}\n`);
    const what = `${r.cases} case${r.cases === 1 ? '' : 's'} in ${r.tests} test${r.tests === 1 ? '' : 's'}`;
    if (r.failures.length > 0) {
      process.stdout.write(`${testsFile}: FAILED: ${r.failures.length} of ${what}\n`);
      return 1;
    }
    process.stdout.write(`${testsFile}: ok: ${what} passed\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof RulesError)) throw err;
    for (const p of err.problems) process.stderr.write(`${p}\n`);
    return 2;
  }
}
