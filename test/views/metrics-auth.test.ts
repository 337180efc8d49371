/**
 * A real Prometheus server scrapes /metrics of a collector whose reads need a token: the scrape
 * job whose `authorization` credentials_file holds a read token is up and its series answer
 * queries; the job with a wrong token is down with the collector's 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/fixtures.js';
import { getJson } from '../helpers/http.js';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const have = haveTools(['promtool', 'prometheus'], 'prometheus');
const READ = 'prometheus-scraper-read-token-5f2c9a';

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

describe.skipIf(!have)('/metrics behind a read token, scraped by Prometheus', () => {
  const tmp = tempDir('metrics-auth');
  let collector: Collector;
  let agent: Proc;
  let prom: Proc | null = null;

  beforeAll(async () => {
    const readFile = join(tmp.dir, 'read.tokens');
    writeFileSync(readFile, `${READ}\n`, { mode: 0o600 });
    collector = await startCollector(tmp.dir, ['--read-token-file', readFile]);
    agent = startAgent(collector, tmp.dir, ['--procfs', join(FIXTURES, 'proc'), '--host-id', 'pa-web-1']);
  });

  afterAll(async () => {
    if (prom !== null) await stopProc(prom);
    await stopProc(agent);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it('is up with the read token in credentials_file, and down with 401 with a wrong one', async () => {
    const dir = join(tmp.dir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    const good = join(dir, 'good.token');
    const bad = join(dir, 'bad.token');
    writeFileSync(good, `${READ}\n`, { mode: 0o600 });
    writeFileSync(bad, 'not-the-read-token-000000000000\n', { mode: 0o600 });
    const job = (name: string, file: string): string =>
      `  - job_name: ${name}\n    authorization:\n      type: Bearer\n      credentials_file: ${file}\n    static_configs:\n      - targets: ['127.0.0.1:${collector.port}']\n`;
    const server = await startPrometheus(dir, '', `${job('tcpfleet-good', good)}${job('tcpfleet-bad', bad)}`);
    prom = server.proc;
    const { api, query } = server;
    const targets = async (): Promise<Map<string, Target>> => {
      const r = await getJson<{ data: { activeTargets: Target[] } }>(`${api}/targets`);
      return new Map(r.data.activeTargets.map((t) => [t.labels['job'] ?? '', t]));
    };
    await waitFor(
      async () => {
        if (prom?.proc.exitCode !== null) throw new Error(`prometheus exited: ${prom?.stderr() ?? ''}`);
        try {
          const t = await targets();
          const series = await query('tcpfleet_host_connections{job="tcpfleet-good",host="pa-web-1",state="listen"}');
          return t.get('tcpfleet-good')?.health === 'up' && t.get('tcpfleet-bad')?.health === 'down' && series.length === 1;
        } catch {
          return false;
        }
      },
      'Prometheus to scrape both jobs',
      60_000,
      500,
    );
    const t = await targets();
    expect(t.get('tcpfleet-good')?.lastError).toBe('');
    expect(t.get('tcpfleet-bad')?.lastError).toContain('401');
    expect((await query('up{job="tcpfleet-good"}'))[0]?.value[1]).toBe('1');
    expect((await query('up{job="tcpfleet-bad"}'))[0]?.value[1]).toBe('0');
    expect(await query('tcpfleet_host_connections{job="tcpfleet-bad"}')).toEqual([]);
    const total = await getJson<{ states: Record<string, number> }>(`${collector.url}/api/v1/total`, { authorization: `Bearer ${READ}` });
    const listen = await query('tcpfleet_fleet_connections{job="tcpfleet-good",state="listen"}');
    expect(Number(listen[0]?.value[1])).toBe(total.states['listen']);
  });
});
