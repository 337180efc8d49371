/**
 * Label selectors, grouping and the compact, paged hosts list on a real collector: hosts report
 * with labels (env, role, zone) over real WebSocket sessions (distinct counts per host, so a
 * wrong host in a sum shows) and two real agents with --label. For each operator and some
 * combinations, `hosts -l`, `total -l`, `total --by` and `top --by label:` (CLI and HTTP) give the
 * hosts and sums computed here from each host's own snapshot (GET /api/v1/hosts/ID), with a
 * matcher written apart from the parser. Bad selectors: one line naming the position, exit 2,
 * HTTP 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { SUMMARY_KEYS, TCP_STATES } from '@tcpfleet/common';
import type { SsSummary, StateCounts } from '@tcpfleet/common';
import { cli, killAll, startAgent, startCollector, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { getJson, httpGet } from '../helpers/http.js';
import { FIXTURE_PROC, synthSnapshot } from '../helpers/snapshots.js';

type Labels = Record<string, string>;

/** The fleet: host -> labels. k (the counts' seed) is the index + 1. */
const WIRE_HOSTS: [string, Labels][] = [
  ['web-1', { env: 'prod', role: 'web', zone: 'a' }],
  ['web-2', { env: 'prod', role: 'web', zone: 'b' }],
  ['web-3', { env: 'staging', role: 'web', zone: 'a' }],
  ['db-1', { env: 'prod', role: 'db', zone: 'a' }],
  ['db-2', { env: 'staging', role: 'db' }],
  ['cache-1', { env: 'prod', role: 'cache', zone: 'c' }],
  ['cache-2', { role: 'cache', zone: 'b' }],
  ['batch-1', { env: 'dev' }],
  ['bare-1', {}],
  ['empty-env', { env: '', role: 'web' }],
];
const AGENT_HOSTS: [string, Labels][] = [
  ['agent-1', { env: 'prod', role: 'agent', zone: 'a' }],
  ['agent-2', { env: 'staging', role: 'agent' }],
];

const has = (l: Labels, k: string): boolean => Object.prototype.hasOwnProperty.call(l, k);
/** Each selector with its meaning written out by hand (not through the parser). */
const CASES: [string, (l: Labels) => boolean][] = [
  ['env=prod', (l) => l['env'] === 'prod'],
  ['env==staging', (l) => l['env'] === 'staging'],
  ['env!=prod', (l) => !has(l, 'env') || l['env'] !== 'prod'],
  ['role in (web,db)', (l) => ['web', 'db'].includes(l['role'] ?? '\0')],
  ['role notin (web,db)', (l) => !has(l, 'role') || !['web', 'db'].includes(l['role']!)],
  ['zone', (l) => has(l, 'zone')],
  ['!zone', (l) => !has(l, 'zone')],
  ['env=', (l) => l['env'] === ''],
  ['env=prod,role=web', (l) => l['env'] === 'prod' && l['role'] === 'web'],
  ['env in (prod,staging),!zone', (l) => ['prod', 'staging'].includes(l['env'] ?? '\0') && !has(l, 'zone')],
  ['role notin (agent),zone!=a,env', (l) => (!has(l, 'role') || l['role'] !== 'agent') && (!has(l, 'zone') || l['zone'] !== 'a') && has(l, 'env')],
  [' env = prod , zone in ( a , b ) ', (l) => l['env'] === 'prod' && ['a', 'b'].includes(l['zone'] ?? '\0')],
  ['env=nowhere', () => false],
];

interface HostDoc {
  host: string;
  labels: Labels;
  states: StateCounts;
  summary: SsSummary;
  stale: boolean;
  snmp?: unknown;
}
interface Total {
  hosts: number;
  stale: number;
  states: StateCounts;
  summary: SsSummary;
}
interface Groups {
  by: string;
  groups: ({ value: string | null } & Total)[];
}

const tmp = tempDir('selectors');
let col: Collector;
const agents: Proc[] = [];
/** Each host's own latest snapshot, as GET /api/v1/hosts/ID answers. */
const own = new Map<string, HostDoc>();

/** Sends one snapshot of `host` over a real WebSocket session and waits for its ack. */
function report(host: string, labels: Labels, k: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(col.wsUrl, { headers: { Authorization: `Bearer ${col.token}` } });
    const boot = `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${host}: no ack`));
    }, 15_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, host, boot, agent: 'selectors-test', interval_ms: 60_000, labels })));
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'batch', id: 1, snapshots: [{ ...synthSnapshot(host, Date.now(), 1, k, boot), interval_ms: 60_000, labels }] }));
      if (m.type === 'ack') {
        clearTimeout(timer);
        ws.close();
        resolve();
      }
      if (m.type === 'nack') reject(new Error(`${host}: ${d.toString()}`));
    });
    ws.on('error', reject);
  });
}

function expectedTotal(hosts: readonly HostDoc[]): Total {
  const states = Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as StateCounts;
  const summary = Object.fromEntries(SUMMARY_KEYS.map((s) => [s, 0])) as SsSummary;
  for (const h of hosts) {
    for (const s of TCP_STATES) states[s] += h.states[s];
    for (const s of SUMMARY_KEYS) summary[s] += h.summary[s];
  }
  return { hosts: hosts.length, stale: 0, states, summary };
}

/** The plain total also sums the hosts' other network namespaces (none here: no agent runs with --namespaces). */
const withNamespaces = (t: Total): Total & { namespaces: unknown } => ({
  ...t,
  namespaces: { count: 0, states: Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as StateCounts, summary: { estab: 0, timewait: 0 } },
});

const selected = (want: (l: Labels) => boolean): HostDoc[] => [...own.values()].filter((h) => want(h.labels)).sort((a, b) => (a.host < b.host ? -1 : 1));

function jsonCli<T>(args: string[]): T {
  const r = cli([...args, '--url', col.url]);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  const rules = join(tmp.dir, 'rules.yml');
  writeFileSync(rules, 'rules:\n  - { name: any-established, kind: threshold, metric: states.established, op: ">", value: 0, for: 0s, grace: 0s }\n');
  col = await startCollector(tmp.dir, ['--rules', rules]);
  for (const [i, [host, labels]] of WIRE_HOSTS.entries()) await report(host, labels, i + 1);
  for (const [host, labels] of AGENT_HOSTS)
    agents.push(startAgent(col, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', host, ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`])]));
  const all = [...WIRE_HOSTS, ...AGENT_HOSTS].map(([h]) => h);
  await waitFor(async () => (await getJson<HostDoc[]>(`${col.url}/api/v1/hosts`)).length === all.length, 'every host to report');
  for (const h of all) own.set(h, await getJson<HostDoc>(`${col.url}/api/v1/hosts/${h}`));
  // The agents read a fixed procfs tree: their counts do not move while the test runs.
  expect([...own.values()].every((h) => !h.stale)).toBe(true);
}, 60_000);
afterAll(() => {
  killAll();
  tmp.cleanup();
});

describe("each operator and combinations: the same hosts and sums as each host's own snapshot", () => {
  it('the fleet is as reported (labels from the hello, agents with --label)', () => {
    for (const [h, labels] of [...WIRE_HOSTS, ...AGENT_HOSTS]) expect(own.get(h)?.labels, h).toEqual(labels);
  });

  it.each(CASES)('%j', async (sel, want) => {
    const hosts = selected(want);
    const names = hosts.map((h) => h.host);
    // hosts -l (CLI, full JSON) and ?selector= (HTTP)
    expect(jsonCli<HostDoc[]>(['hosts', '-l', sel, '--json']).map((h) => h.host)).toEqual(names);
    expect((await getJson<HostDoc[]>(`${col.url}/api/v1/hosts?selector=${encodeURIComponent(sel)}`)).map((h) => h.host)).toEqual(names);
    // total -l
    const total = expectedTotal(hosts);
    expect(jsonCli<Total>(['total', '--selector', sel, '--json'])).toEqual(withNamespaces(total));
    expect(await getJson<Total>(`${col.url}/api/v1/total?selector=${encodeURIComponent(sel)}`)).toEqual(withNamespaces(total));
    // total -l --by role (CLI) and by zone (HTTP): one group per value, sums of its hosts, largest first by established
    for (const by of ['role', 'zone']) {
      const viaCli = by === 'role';
      const q = `selector=${encodeURIComponent(sel)}`;
      const values = [...new Set(hosts.map((h) => (has(h.labels, by) ? h.labels[by]! : null)))];
      const groups = values.map((v) => ({ value: v, ...expectedTotal(hosts.filter((h) => (has(h.labels, by) ? h.labels[by] : null) === v)) }));
      groups.sort((a, b) => b.states.established - a.states.established || b.hosts - a.hosts || (a.value === null ? 1 : b.value === null ? -1 : a.value < b.value ? -1 : 1));
      const grouped = viaCli ? jsonCli<Groups>(['total', '-l', sel, '--by', by, '--json']) : await getJson<Groups>(`${col.url}/api/v1/total?by=${by}&${q}`);
      expect(grouped, by).toEqual({ by, groups });
      // top --by label:LABEL ranks the same groups by the state
      type TopRow = { label: string; label_value: string | null; value: number; hosts: number };
      const top = viaCli ? jsonCli<TopRow[]>(['top', '-l', sel, '--by', `label:${by}`, '--json']) : await getJson<TopRow[]>(`${col.url}/api/v1/top?by=label:${by}&${q}`);
      expect(top.map((r) => [r.label_value, r.value, r.hosts])).toEqual(groups.slice(0, 10).map((g) => [g.value, g.states.established, g.hosts]));
    }
    // top?selector= (hosts)
    const top = (await getJson<{ host: string }[]>(`${col.url}/api/v1/top?limit=100&selector=${encodeURIComponent(sel)}`)).map((r) => r.host);
    expect([...top].sort()).toEqual(names);
  });

  it('the table forms select the same hosts', () => {
    const r = cli(['hosts', '-l', 'role in (web,db),zone', '--url', col.url]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').slice(1);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['db-1', 'web-1', 'web-2', 'web-3']);
    // Each row's ESTAB column is that host's own count (the table reads the compact form).
    for (const l of rows) expect(Number(l.split(/\s+/)[1])).toBe(own.get(l.split(/\s+/)[0]!)?.states.established);
    const g = cli(['total', '--by', 'env', '-l', 'role', '--url', col.url]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.split('\n')[0]).toMatch(/^ENV\s+HOSTS\s+STALE\s+ESTAB/);
    expect(g.stdout).toMatch(/^\(unset\)\s+1\s+0\s/m);
  });

  it('alerts -l: only alerts about hosts whose labels match', async () => {
    await waitFor(async () => (await getJson<unknown[]>(`${col.url}/api/v1/alerts`)).length >= own.size - 2, 'alerts to fire');
    const firing = jsonCli<{ host?: string; labels: Labels }[]>(['alerts', '--json']).filter((a) => a.host !== undefined);
    for (const [sel, want] of CASES.slice(0, 8)) {
      const got = jsonCli<{ host?: string }[]>(['alerts', '-l', sel, '--json']).map((a) => a.host);
      expect(got.sort(), sel).toEqual(
        firing
          .filter((a) => want(own.get(a.host!)?.labels ?? {}))
          .map((a) => a.host)
          .sort(),
      );
    }
  });

  it('watch -l: the overview of the matching hosts only', () => {
    const r = cli(['watch', '--count', '1', '-l', 'env=prod,role=web', '--url', col.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('web-1');
    expect(r.stdout).toContain('web-2');
    expect(r.stdout).not.toContain('db-1');
    expect(r.stdout).not.toContain('agent-1');
  });
});

describe('bad selectors', () => {
  it.each([
    ['env in (prod', "selector: position 13: expected ',' or ')', found the end of the selector"],
    ['env=prod,,zone', 'selector: position 10: expected a label key, found ","'],
    ['env prod', 'selector: position 5: expected =, ==, !=, in, notin, \',\' or the end after key "env", found "prod"'],
    [`${'k'.repeat(65)}=v`, 'selector: position 1: a label key has at most 64 characters, this one 65'],
  ])('%j: one line naming the position, exit 2; HTTP 400', async (sel, message) => {
    const commands = [
      ['hosts', '-l', sel],
      ['total', '--selector', sel],
      ['top', '-l', sel],
      ['alerts', '-l', sel],
      ['watch', '--count', '1', '-l', sel],
    ];
    for (const args of sel.startsWith('env in') ? commands : commands.slice(0, 1)) {
      const r = cli([...args, '--url', 'http://127.0.0.1:9']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`tcpfleet: ${message}\n`);
    }
    for (const path of ['hosts', 'total', 'top', 'alerts', 'overview']) {
      const r = await httpGet(`${col.url}/api/v1/${path}?selector=${encodeURIComponent(sel)}`);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body)).toEqual({ error: { code: 'TCPFLEET_ERR_USAGE', message } });
    }
  });

  it('bad --by values: exit 2 and HTTP 400', async () => {
    expect(cli(['total', '--by', 'not-a-label', '--url', col.url]).stderr).toBe('tcpfleet: --by "not-a-label" is not a label name (an identifier of at most 64 characters)\n');
    expect(cli(['top', '--by', 'zone', '--url', col.url]).code).toBe(2);
    expect((await httpGet(`${col.url}/api/v1/top?by=label:`)).status).toBe(400);
    expect((await httpGet(`${col.url}/api/v1/total?by=a.b`)).status).toBe(400);
  });
});

describe('hosts: pages and the compact form', () => {
  it('--limit/--offset pages in name order make up the whole list; X-Tcpfleet-Hosts counts the matches', async () => {
    const full = jsonCli<HostDoc[]>(['hosts', '--json']).map((h) => h.host);
    expect(full).toEqual([...own.keys()].sort());
    const pages: string[] = [];
    for (let off = 0; off < full.length; off += 5) pages.push(...jsonCli<HostDoc[]>(['hosts', '--json', '--limit', '5', '--offset', String(off)]).map((h) => h.host));
    expect(pages).toEqual(full);
    const r = await httpGet(`${col.url}/api/v1/hosts?selector=env%3Dprod&limit=2&offset=1`);
    expect(r.headers['x-tcpfleet-hosts']).toBe(String(selected((l) => l['env'] === 'prod').length));
    expect((JSON.parse(r.body) as HostDoc[]).map((h) => h.host)).toEqual(
      selected((l) => l['env'] === 'prod')
        .slice(1, 3)
        .map((h) => h.host),
    );
    expect(cli(['hosts', '--limit', '0', '--url', col.url]).code).toBe(2);
    expect(cli(['hosts', '--offset', '-1', '--url', col.url]).code).toBe(2);
  });

  it('--compact: host, labels, non-zero states, summary, recv_ts, stale; the numbers of the full form', () => {
    const full = jsonCli<HostDoc[]>(['hosts', '--json']);
    const compact = jsonCli<Record<string, unknown>[]>(['hosts', '--json', '--compact']);
    expect(compact).toHaveLength(full.length);
    for (const [i, c] of compact.entries()) {
      const f = full[i]!;
      expect(Object.keys(c)).toEqual(['host', 'labels', 'states', 'summary', 'recv_ts', 'stale']);
      expect(c['host']).toBe(f.host);
      expect(c['labels']).toEqual(f.labels);
      expect(c['summary']).toEqual(f.summary);
      expect(c['states']).toEqual(Object.fromEntries(TCP_STATES.filter((s) => f.states[s] !== 0).map((s) => [s, f.states[s]])));
    }
    // The full form keeps its documented shape (kernel counters, per-family counts).
    expect(full.every((h) => h.snmp !== undefined)).toBe(true);
    expect(JSON.stringify(compact).length).toBeLessThan(JSON.stringify(full).length / 3);
  });
});
