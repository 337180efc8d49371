/**
 * The dashboard's host page and fleet chart (views/host-page.ts, views/fleet-chart.ts, drawn with
 * uPlot served at /assets/) in headless Chromium against a real collector that protects reads,
 * with three hours of seeded history for one host and two real agents reading the fixture /proc:
 * the page asks for the read token once; a click on a host row opens `#host=NAME`; the points
 * uPlot holds equal the history API's answer for the same range; the range selector moves from
 * raw snapshots to one-minute and one-hour rollups (X-Tcpfleet-Resolution); the summary line and
 * the top ports and peers are the host's latest snapshot; only this host's alerts are listed; the
 * fleet chart's last point equals /api/v1/total's state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openPage, pageErrorsOf } from '../helpers/browser.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { seedHistory } from '../helpers/seed.js';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const have = haveTools(['chromium'], 'chromium');
const PROC = join(FIXTURES, 'proc');
const READ = 'host-page-read-token-0123456789abcdef';
const STATES = ['established', 'syn_sent', 'syn_recv', 'fin_wait1', 'fin_wait2', 'time_wait', 'close', 'close_wait', 'last_ack', 'listen', 'closing', 'new_syn_recv'];

interface Row {
  ts: number;
  states: Record<string, number>;
}
interface Query {
  host: string;
  since: number;
  until: number;
  resolution: string;
  points: number;
  truncated: boolean;
}
type Charts = Record<string, { data: (number | null)[][] } | Query | undefined>;

describe.skipIf(!have)('dashboard host page and fleet chart in headless Chromium', () => {
  const tmp = tempDir('host-page');
  let collector: Collector;
  const agents: Proc[] = [];
  let browser: Awaited<ReturnType<typeof openPage>> | null = null;
  let page: Page;
  let pageErrors: string[] = [];
  const auth = { authorization: `Bearer ${READ}` };

  async function api<T>(path: string): Promise<{ body: T; headers: Headers }> {
    const r = await fetch(`${collector.url}${path}`, { headers: auth });
    expect(r.status, path).toBe(200);
    return { body: (await r.json()) as T, headers: r.headers };
  }
  /** The history API's rows for the page's query, following the cursor as the page does. */
  async function apiHistory(q: Query): Promise<{ rows: Row[]; resolution: string | null }> {
    let a = await api<Row[]>(`/api/v1/hosts/${encodeURIComponent(q.host)}/history?limit=5000&since=${q.since}&until=${q.until}`);
    const resolution = a.headers.get('x-tcpfleet-resolution');
    const rows = [...a.body];
    for (let n = 0; n < 10 && a.headers.get('x-tcpfleet-next-cursor') !== null; n++) {
      a = await api<Row[]>(`/api/v1/hosts/${encodeURIComponent(q.host)}/history?limit=5000&cursor=${a.headers.get('x-tcpfleet-next-cursor')}`);
      rows.push(...a.body);
    }
    return { rows, resolution };
  }
  const charts = (): Promise<{ host: (number | null)[][] | null; hostQuery: Query | null; fleet: (number | null)[][] | null; fleetQuery: { state: string } | null }> =>
    page.evaluate(() => {
      const c = (globalThis as unknown as { tcpfleetCharts: Charts }).tcpfleetCharts;
      const data = (k: string) => (c[k] as { data?: (number | null)[][] } | undefined)?.data ?? null;
      return { host: data('hp-chart'), hostQuery: (c['hostQuery'] as Query | undefined) ?? null, fleet: data('fc-chart'), fleetQuery: (c['fleetQuery'] as { state: string } | undefined) ?? null };
    });

  /** Picks a range and waits for the chart of it; then the points drawn must equal the API's (retried while rollups move). */
  async function showRange(label: string): Promise<{ q: Query; drawn: (number | null)[][] }> {
    let last = '';
    let out: { q: Query; drawn: (number | null)[][] } | null = null;
    await waitFor(
      async () => {
        await page.evaluate(() => ((globalThis as unknown as { tcpfleetCharts: Charts }).tcpfleetCharts['hostQuery'] = undefined));
        await page.selectOption('#hp-range', { label });
        await page.waitForFunction(() => (globalThis as unknown as { tcpfleetCharts: Charts }).tcpfleetCharts['hostQuery'] !== undefined, null, { timeout: 20_000 });
        const c = await charts();
        const q = c.hostQuery!;
        const drawn = c.host!;
        const { rows, resolution } = await apiHistory(q);
        // Agents keep adding snapshots after the page read: the page's points are the API's first ones.
        const want: (number | null)[][] = [rows.slice(0, q.points).map((r) => r.ts / 1000), ...STATES.map((s) => rows.slice(0, q.points).map((r) => r.states[s]!))];
        last = `page ${q.resolution} ${q.points} points, api ${resolution} ${rows.length} rows`;
        if (resolution !== q.resolution || rows.length < q.points || JSON.stringify(drawn) !== JSON.stringify(want)) return false;
        out = { q, drawn };
        return true;
      },
      `the ${label} chart to equal the API`,
      60_000,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message} (${last})`);
    });
    return out!;
  }

  beforeAll(async () => {
    const now = Date.now();
    // Three hours of hp-a and hp-b, one snapshot every 30 s, up to two minutes ago (established
    // varies, the other states are the fixture's, as the agents read it): the minutes rolled up
    // first already hold both hosts, so the fleet's newest minute is the total well before the
    // agents' own minutes are rolled (two minutes' grace).
    for (const h of ['hp-a', 'hp-b']) await seedHistory(join(tmp.dir, 'tcpfleet.db'), h, 360, now - 120_000, 30_000);
    const readFile = join(tmp.dir, 'read.token');
    writeFileSync(readFile, READ + '\n', { mode: 0o600 });
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(rules, 'defaults: { for: 0s, grace: 0s, repeat: 1h }\nrules:\n  - { name: hp-listening, kind: threshold, metric: states.listen, op: ">=", value: 1, match: { role: a } }\n');
    collector = await startCollector(tmp.dir, ['--read-token-file', readFile, '--retention', '2h', '--rules', rules]);
    agents.push(startAgent(collector, tmp.dir, ['--procfs', PROC, '--host-id', 'hp-a', '--label', 'role=a']));
    agents.push(startAgent(collector, tmp.dir, ['--procfs', PROC, '--host-id', 'hp-b', '--label', 'role=b']));
    await waitFor(async () => (await api<{ stale: boolean }[]>('/api/v1/hosts')).body.filter((h) => !h.stale).length === 2, 'both agents to report', 30_000);
    // The first overview without a token is a 401 the browser logs as a failed resource.
    browser = await openPage(/status of 401/);
    ({ page, errors: pageErrors } = browser);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const a of agents) await stopProc(a);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it('serves uPlot from the collector without a token, and asks the page for the read token once', async () => {
    for (const [path, type] of [
      ['/assets/uplot.js', 'text/javascript'],
      ['/assets/uplot.css', 'text/css'],
    ] as const) {
      const r = await fetch(`${collector.url}${path}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
      expect((await r.text()).length).toBeGreaterThan(1000);
    }
    expect((await fetch(`${collector.url}/assets/other.js`)).status).toBe(404);
    expect((await fetch(`${collector.url}/api/v1/total/history`)).status).toBe(401);
    await page.goto(`${collector.url}/`);
    await page.waitForSelector('#login:not([hidden])', { timeout: 20_000 });
    await page.fill('#login-token', READ);
    await page.press('#login-token', 'Enter');
    await page.waitForSelector('#hosts tbody tr[data-host="hp-a"]', { timeout: 20_000 });
    expect(await page.evaluate(() => typeof (globalThis as unknown as { uPlot?: unknown }).uPlot)).toBe('function');
  });

  it("the fleet chart's last point equals /api/v1/total's state", async () => {
    await page.selectOption('#state', 'listen');
    let last = '';
    await waitFor(
      async () => {
        // Redraw (a range change re-reads at once); the newest minute appears once rolled up.
        await page.selectOption('#fc-range', { label: '6 h' });
        await page.selectOption('#fc-range', { label: '1 h' });
        await page.waitForFunction(() => (globalThis as unknown as { tcpfleetCharts: Charts }).tcpfleetCharts['fleetQuery'] !== undefined, null, { timeout: 20_000 });
        const c = await charts();
        const total = (await api<{ states: Record<string, number> }>('/api/v1/total')).body;
        const hist = (await api<Row[]>(`/api/v1/total/history?since=${Date.now() - 3_600_000}`)).body;
        if (c.fleet === null || c.fleetQuery?.state !== 'listen') return false;
        const ys = c.fleet[1]!;
        last = `drawn ${ys.at(-1)}, total ${total.states['listen']}, history ${hist.at(-1)?.states['listen']}`;
        return ys.length > 0 && ys.at(-1) === total.states['listen'] && hist.at(-1)?.states['listen'] === total.states['listen'] && c.fleet[0]!.at(-1) === hist.at(-1)!.ts / 1000;
      },
      "the fleet chart's last point to equal the total",
      150_000,
      2_000,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message} (${last})`);
    });
  }, 180_000);

  it("a click on a host row opens its page: the chart equals the API's history, raw for 1 h", async () => {
    await page.click('#hosts tbody tr[data-host="hp-a"] td:nth-child(2)');
    await page.waitForSelector('#hostpage:not([hidden])', { timeout: 20_000 });
    expect(new URL(page.url()).hash).toBe('#host=hp-a');
    expect(await page.isHidden('#fleetview')).toBe(true);
    expect(await page.textContent('#hp-host')).toBe('hp-a');
    const { q, drawn } = await showRange('1 h');
    expect(q.resolution).toBe('raw');
    expect(q.points).toBeGreaterThan(100); // 30 s seeded snapshots of the last hour, then the agent's
    expect(drawn).toHaveLength(1 + STATES.length);
    expect(await page.getAttribute('#hp-res', 'data-resolution')).toBe('raw');
  }, 90_000);

  it('the range selector switches to one-minute rollups (6 h) and hourly ones (30 d)', async () => {
    const six = await showRange('6 h');
    expect(six.q.resolution).toBe('1m');
    const thirty = await showRange('30 d');
    expect(thirty.q.resolution).toBe('1h');
    expect(thirty.q.points).toBeLessThan(six.q.points);
    expect(await page.textContent('#hp-res')).toContain('resolution 1h');
  }, 150_000);

  it("shows the latest snapshot's summary line, top ports and peers, and only this host's alerts", async () => {
    const snap = (
      await api<{
        summary: Record<string, number>;
        breakdown: { inbound: { port: number; states: Record<string, number> }[]; outbound: { addr: string; port: number; states: Record<string, number> }[] };
      }>('/api/v1/hosts/hp-a')
    ).body;
    const s = snap.summary;
    await waitFor(
      async () =>
        ((await page.textContent('#hp-summary')) ?? '').startsWith(`ss -s: TCP ${s['total']} (estab ${s['estab']}, closed ${s['closed']}, orphaned ${s['orphaned']}, timewait ${s['timewait']})`),
      'the summary line',
    );
    const sum = (st: Record<string, number>): number => Object.values(st).reduce((a, b) => a + b, 0);
    const table = (id: string) =>
      page.$$eval(`#${id} tbody tr[data-key]`, (trs) =>
        trs.map((tr) => [
          (tr as unknown as { dataset: Record<string, string> }).dataset['key'],
          (tr as unknown as { querySelector: (s: string) => { textContent: string } }).querySelector('[data-col="established"]').textContent,
          (tr as unknown as { querySelector: (s: string) => { textContent: string } }).querySelector('[data-col="total"]').textContent,
        ]),
      );
    expect(snap.breakdown.inbound.length + snap.breakdown.outbound.length).toBeGreaterThan(0);
    expect(await table('hp-ports')).toEqual(snap.breakdown.inbound.map((r) => [String(r.port), String(r.states['established']), String(sum(r.states))]));
    expect(await table('hp-peers')).toEqual(snap.breakdown.outbound.map((r) => [`${r.addr.includes(':') ? `[${r.addr}]` : r.addr}:${r.port}`, String(r.states['established']), String(sum(r.states))]));
    const alerts = (await api<{ rule: string; host?: string }[]>('/api/v1/alerts')).body;
    expect(alerts.filter((a) => a.host === 'hp-a').map((a) => a.rule)).toEqual(['hp-listening']);
    await waitFor(
      async () => (await page.$$eval('#hp-alerts .alert', (ds) => ds.map((d) => (d as unknown as { dataset: Record<string, string> }).dataset['rule']))).join() === 'hp-listening',
      "hp-a's alert",
    );
    // hp-b has no alert: back to the fleet, open hp-b.
    await page.goBack();
    await page.waitForSelector('#fleetview:not([hidden])', { timeout: 20_000 });
    await page.click('#hosts tbody tr[data-host="hp-b"] td:nth-child(2)');
    await waitFor(async () => (await page.textContent('#hp-host')) === 'hp-b' && ((await page.textContent('#hp-alerts')) ?? '').includes('no alerts on this host'), "hp-b's page without alerts");
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  }, 60_000);

  it('a bookmarked host page in a new tab asks for the read token, then shows the host', async () => {
    const tab = await browser!.ctx.newPage();
    const errors = pageErrorsOf(tab, /status of 401/);
    try {
      await tab.goto(`${collector.url}/#host=hp-b`);
      await tab.waitForSelector('#login:not([hidden])', { timeout: 20_000 });
      expect(await tab.isHidden('#fleetview')).toBe(true);
      await tab.fill('#login-token', READ);
      await tab.press('#login-token', 'Enter');
      await tab.waitForFunction(() => (globalThis as unknown as { tcpfleetCharts: Charts }).tcpfleetCharts['hostQuery'] !== undefined, null, { timeout: 20_000 });
      expect(await tab.textContent('#hp-host')).toBe('hp-b');
      expect(await tab.isHidden('#login')).toBe(true);
      expect(errors, errors.join('\n')).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 60_000);
});
