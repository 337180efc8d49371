/**
 * The dashboard at / in real headless Chromium against a real collector and real agents: a
 * clear empty state before any host, then hosts appear without a reload, the numbers on the
 * page equal the JSON API's, sparklines are drawn, and a host that stops reporting is marked
 * stale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openPage } from '../helpers/browser.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { getJson } from '../helpers/http.js';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const have = haveTools(['chromium'], 'chromium');
const PROC = join(FIXTURES, 'proc');

interface Total {
  hosts: number;
  stale: number;
  states: Record<string, number>;
}

describe.skipIf(!have)('dashboard in headless Chromium', () => {
  const tmp = tempDir('dashboard');
  let collector: Collector;
  const agents: Proc[] = [];
  let browser: Awaited<ReturnType<typeof openPage>> | null = null;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    collector = await startCollector(tmp.dir);
    browser = await openPage();
    ({ page, errors: pageErrors } = browser);
  });

  afterAll(async () => {
    await browser?.close();
    for (const a of agents) await stopProc(a);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it('shows a clear empty state when no host has reported yet', async () => {
    const res = await page.goto(`${collector.url}/`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('#empty:not([hidden])', { timeout: 20_000 });
    expect(await page.textContent('#empty')).toContain('No hosts have reported yet');
    expect(await page.textContent('#empty-cmd')).toContain(`ws://127.0.0.1:${collector.port}`);
    expect(await page.isHidden('#hosts')).toBe(true);
    expect(await page.textContent('#alerts')).toContain('no alerts firing');
    expect(await page.textContent('#status')).toBe('live');
  });

  it("shows a new host live, without a reload, with the API's numbers", async () => {
    await page.evaluate(() => ((globalThis as unknown as { __noReload: number }).__noReload = 42));
    agents.push(startAgent(collector, tmp.dir, ['--procfs', PROC, '--host-id', 'dash-web-1', '--label', 'role=web']));
    await page.waitForSelector('tr[data-host="dash-web-1"]', { timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: number }).__noReload)).toBe(42);
    expect(await page.isHidden('#empty')).toBe(true);

    const total = await getJson<Total>(`${collector.url}/api/v1/total`);
    const hosts = await getJson<{ host: string; states: Record<string, number>; summary: { total: number } }[]>(`${collector.url}/api/v1/hosts`);
    // Wait for a refresh after the API read, then compare (fixture counts do not move).
    const seen = Number(await page.getAttribute('body', 'data-updated'));
    await page.waitForFunction((s) => Number((globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> } } }).document.body.dataset['updated']) > s, seen, {
      timeout: 20_000,
    });
    for (const [state, n] of Object.entries(total.states)) expect(await page.textContent(`.card[data-state="${state}"] .n`), state).toBe(String(n));
    expect(await page.getAttribute('#fleet-hosts', 'data-live')).toBe(String(total.hosts));
    const h = hosts.find((x) => x.host === 'dash-web-1')!;
    const row = 'tr[data-host="dash-web-1"]';
    expect(await page.textContent(`${row} td[data-col="established"]`)).toBe(String(h.states['established']));
    expect(await page.textContent(`${row} td[data-col="time_wait"]`)).toBe(String(h.states['time_wait']));
    expect(await page.textContent(`${row} td[data-col="listen"]`)).toBe(String(h.states['listen']));
    expect(await page.textContent(`${row} td[data-col="ss_total"]`)).toBe(String(h.summary.total));
    expect(await page.textContent(`${row} .labels`)).toBe('role=web');
    await page.waitForSelector(`${row} svg.spark circle`, { timeout: 20_000 });
    expect(await page.getAttribute(`${row} svg.spark path`, 'd')).toMatch(/^M/);
  });

  it('adds a second host live and marks a host that stopped reporting as stale', async () => {
    const second = startAgent(collector, tmp.dir, ['--procfs', PROC, '--host-id', 'dash-db-1']);
    agents.push(second);
    await page.waitForSelector('tr[data-host="dash-db-1"]', { timeout: 30_000 });
    await waitFor(async () => (await page.getAttribute('#fleet-hosts', 'data-live')) === '2', 'the page to count two live hosts');
    const total = await getJson<Total>(`${collector.url}/api/v1/total`);
    expect(total.hosts).toBe(2);
    await waitFor(async () => (await page.textContent('.card[data-state="established"] .n')) === String(total.states['established']), 'the fleet card to show the two-host sum');

    await stopProc(second);
    await page.waitForSelector('tr.stale[data-host="dash-db-1"] .badge.stale', { timeout: 30_000 });
    expect(await page.textContent('tr[data-host="dash-db-1"] .badge')).toBe('STALE');
    await waitFor(async () => (await page.getAttribute('#fleet-hosts', 'data-stale')) === '1', 'the page to count one stale host');
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });
});
