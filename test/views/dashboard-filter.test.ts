/**
 * The dashboard's label selector box (views/dashboard-filter.ts) in headless Chromium against a
 * real collector and real agents with labels: a selector in the page's URL fills the box and
 * filters the fleet cards and the hosts table to what the API answers for the same selector;
 * typing one updates the URL; a bad one shows the collector's one line naming the position;
 * clearing it shows every host again.
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
const HOSTS: [string, string[]][] = [
  ['f-web-a', ['role=web', 'zone=a']],
  ['f-web-b', ['role=web', 'zone=b']],
  ['f-db-a', ['role=db', 'zone=a']],
  ['f-bare', []],
];

interface Total {
  hosts: number;
  stale: number;
  states: Record<string, number>;
}

describe.skipIf(!have)('dashboard filter box in headless Chromium', () => {
  const tmp = tempDir('dashboard-filter');
  let collector: Collector;
  const agents: Proc[] = [];
  let browser: Awaited<ReturnType<typeof openPage>> | null = null;
  let page: Page;
  let pageErrors: string[] = [];

  /** Host rows on the page, sorted. */
  const rows = async (): Promise<string[]> => (await page.$$eval('#hosts tbody tr', (trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset['host'] ?? ''))).sort();
  /** Waits until the page shows exactly the hosts and the fleet sums the API gives for `sel`. */
  async function showsApiFor(sel: string): Promise<void> {
    const q = sel === '' ? '' : `?selector=${encodeURIComponent(sel)}`;
    const want = (await getJson<{ host: string }[]>(`${collector.url}/api/v1/hosts${q}`)).map((h) => h.host).sort();
    const total = await getJson<Total>(`${collector.url}/api/v1/total${q}`);
    await waitFor(async () => JSON.stringify(await rows()) === JSON.stringify(want), `the page to list ${want.join(', ')}`);
    await waitFor(async () => (await page.getAttribute('#fleet-hosts', 'data-live')) === String(total.hosts), `the page to count ${total.hosts} live hosts`);
    for (const [state, n] of Object.entries(total.states)) expect(await page.textContent(`.card[data-state="${state}"] .n`), state).toBe(String(n));
  }

  beforeAll(async () => {
    collector = await startCollector(tmp.dir);
    for (const [host, labels] of HOSTS) agents.push(startAgent(collector, tmp.dir, ['--procfs', PROC, '--host-id', host, ...labels.flatMap((l) => ['--label', l])]));
    await waitFor(async () => (await getJson<unknown[]>(`${collector.url}/api/v1/hosts`)).length === HOSTS.length, 'every agent to report', 30_000);
    // The refused selector's 400 is logged by the browser as a failed resource; anything else is a fault.
    browser = await openPage(/status of 400/);
    ({ page, errors: pageErrors } = browser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const a of agents) await stopProc(a);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it('a selector in the URL fills the box and filters cards and hosts as the API does', async () => {
    await page.goto(`${collector.url}/?state=listen&selector=${encodeURIComponent('role=web')}`);
    expect(await page.inputValue('#selector')).toBe('role=web');
    await showsApiFor('role=web');
    expect(await rows()).toEqual(['f-web-a', 'f-web-b']);
    expect(await page.textContent('#filter-on')).toContain('role=web');
  });

  it('typing a selector applies it and keeps it in the URL (with the state)', async () => {
    await page.fill('#selector', 'role in (web,db),zone=a');
    await page.press('#selector', 'Enter');
    await showsApiFor('role in (web,db),zone=a');
    expect(await rows()).toEqual(['f-db-a', 'f-web-a']);
    const url = new URL(page.url());
    expect(url.searchParams.get('selector')).toBe('role in (web,db),zone=a');
    expect(url.searchParams.get('state')).toBe('listen');
    await page.fill('#selector', '!role');
    await page.click('#filter button[type="submit"]');
    await showsApiFor('!role');
    expect(await rows()).toEqual(['f-bare']);
  });

  it("a bad selector shows the collector's line naming the position", async () => {
    await page.fill('#selector', 'role in (web');
    await page.press('#selector', 'Enter');
    await page.waitForSelector('#selector.bad', { timeout: 20_000 });
    expect(await page.textContent('#filter-error')).toBe("selector: position 13: expected ',' or ')', found the end of the selector");
    expect(await page.getAttribute('#selector', 'class')).toBe('bad');
  });

  it('clear shows every host again and drops the selector from the URL', async () => {
    await page.click('#filter-clear');
    await showsApiFor('');
    expect(await rows()).toEqual(HOSTS.map(([h]) => h).sort());
    expect(new URL(page.url()).searchParams.has('selector')).toBe(false);
    expect(await page.textContent('#filter-error')).toBe('');
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });
});
