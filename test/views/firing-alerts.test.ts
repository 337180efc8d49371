/**
 * The firing-alerts provider (CollectorOptions.firingAlerts; by default the alert engine's): a
 * collector started with a provider shows its alerts in /metrics and /api/v1/overview (what the
 * dashboard and `tcpfleet watch` draw); without one, or with one that throws, none are firing
 * and both still answer. In process, because the hook is code, not a flag.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadServeConfig } from '../../packages/collector/src/config.js';
import { startCollector } from '../../packages/collector/src/app.js';
import { createLogger } from '../../packages/collector/src/log.js';
import type { FiringAlert } from '../../packages/collector/src/views/firing-alerts.js';
import { openBrowser } from '../helpers/browser.js';
import { getJson, httpGet } from '../helpers/http.js';
import { tempDir } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const tmp = tempDir('alerts-hook');
afterAll(() => tmp.cleanup());

async function withCollector(name: string, provider: (() => readonly FiringAlert[]) | undefined, fn: (url: string) => Promise<void>): Promise<void> {
  const cfg = loadServeConfig({ listen: '127.0.0.1:0', db: join(tmp.dir, `${name}.db`), token: 'hook-test-token' }, {}, () => {});
  const c = await startCollector(cfg, { log: createLogger('silent'), ...(provider === undefined ? {} : { firingAlerts: provider }) });
  try {
    await fn(`http://127.0.0.1:${c.port}`);
  } finally {
    await c.stop();
  }
}

describe('firing alerts provider hook', () => {
  it("shows the provider's alerts in /metrics and the overview", async () => {
    const since = Date.now() - 90_000;
    const alerts: FiringAlert[] = [
      { rule: 'conn_spike', host: 'web-1', since, value: 900, severity: 'critical', summary: 'established 900 > 500' },
      { rule: 'fleet_time_wait', host: null, since },
    ];
    await withCollector(
      'with',
      () => alerts,
      async (url) => {
        const m = (await httpGet(`${url}/metrics`)).body;
        expect(m).toContain('tcpfleet_alerts_firing 2\n');
        expect(m).toContain('tcpfleet_alert_firing{rule="conn_spike",host="web-1",severity="critical"} 1\n');
        expect(m).toContain('tcpfleet_alert_firing{rule="fleet_time_wait",host="",severity=""} 1\n');
        const o = await getJson<{ alerts: FiringAlert[] }>(`${url}/api/v1/overview`);
        expect(o.alerts).toEqual(alerts);
      },
    );
  });

  it('without a provider, or with one that throws, nothing is firing and the views still answer', async () => {
    for (const [name, provider] of [
      ['none', undefined],
      [
        'throws',
        () => {
          throw new Error('engine broke');
        },
      ],
    ] as const) {
      await withCollector(name, provider, async (url) => {
        const r = await httpGet(`${url}/metrics`);
        expect(r.status).toBe(200);
        expect(r.body).toContain('tcpfleet_alerts_firing 0\n');
        expect((await getJson<{ alerts: unknown[] }>(`${url}/api/v1/overview`)).alerts).toEqual([]);
      });
    }
  });

  it.skipIf(!haveTools(['chromium'], 'chromium'))('draws them on the dashboard in Chromium', async () => {
    const alerts: FiringAlert[] = [{ rule: 'conn_spike', host: 'web-1', since: Date.now() - 120_000, value: 900, severity: 'critical', summary: 'established 900 > 500' }];
    await withCollector(
      'page',
      () => alerts,
      async (url) => {
        const b = await openBrowser();
        try {
          const page = await b.ctx.newPage();
          await page.goto(`${url}/`);
          await page.waitForSelector('#alerts .alert', { timeout: 20_000 });
          const text = await page.textContent('#alerts .alert');
          expect(text).toContain('conn_spike');
          expect(text).toContain('web-1');
          expect(text).toContain('critical');
          expect(text).toContain('value 900');
          expect(text).toContain('established 900 > 500');
        } finally {
          await b.close();
        }
      },
    );
  });
});
