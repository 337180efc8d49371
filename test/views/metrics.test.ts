/**
 * GET /metrics on a real collector fed by real agents: the output passes `promtool check
 * metrics`, its values equal the JSON API's, label values are escaped, and a real Prometheus
 * server started by the test scrapes it and answers queries with the same numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/fixtures.js';
import { getJson, httpGet } from '../helpers/http.js';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';
import { promSamples as samples, startPrometheus } from '../helpers/prometheus.js';

const have = haveTools(['promtool', 'prometheus'], 'prometheus');
const PROC = join(FIXTURES, 'proc');

describe.skipIf(!have)('/metrics', () => {
  const tmp = tempDir('metrics');
  let collector: Collector;
  const agents: Proc[] = [];
  let prom: Proc | null = null;

  beforeAll(async () => {
    collector = await startCollector(tmp.dir);
    // Counts from the fixture /proc tree: constant, so the JSON API and /metrics must agree exactly.
    for (const id of ['m-web-1', 'm-db-1']) agents.push(startAgent(collector, tmp.dir, ['--procfs', PROC, '--host-id', id]));
    await waitFor(() => {
      const r = cli(['total', '--json', '--url', collector.url]);
      return r.code === 0 && (JSON.parse(r.stdout) as { hosts: number }).hosts === 2;
    }, 'both agents to report');
  });

  afterAll(async () => {
    if (prom !== null) await stopProc(prom);
    for (const a of agents) await stopProc(a);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it('passes promtool check metrics and equals the JSON API', async () => {
    const r = await httpGet(`${collector.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain; version=0.0.4');
    const file = join(tmp.dir, 'metrics.txt');
    writeFileSync(file, r.body);
    const check = spawnSync('sh', ['-c', `promtool check metrics < '${file}'`], { encoding: 'utf8', timeout: 60_000 });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect((check.stdout + check.stderr).trim()).toBe('');

    const m = samples(r.body);
    const total = await getJson<{ hosts: number; stale: number; states: Record<string, number>; summary: Record<string, number> }>(`${collector.url}/api/v1/total`);
    for (const [state, n] of Object.entries(total.states)) expect(m.get(`tcpfleet_fleet_connections{state="${state}"}`), state).toBe(n);
    for (const [field, n] of Object.entries(total.summary)) expect(m.get(`tcpfleet_fleet_ss{field="${field}"}`), field).toBe(n);
    expect(m.get('tcpfleet_fleet_hosts{status="live"}')).toBe(2);
    expect(m.get('tcpfleet_fleet_hosts{status="stale"}')).toBe(0);
    const hosts = await getJson<{ host: string; states: Record<string, number> }[]>(`${collector.url}/api/v1/hosts`);
    for (const h of hosts) {
      expect(m.get(`tcpfleet_host_connections{host="${h.host}",state="established"}`)).toBe(h.states['established']);
      expect(m.get(`tcpfleet_host_stale{host="${h.host}"}`)).toBe(0);
    }
    expect(m.get('tcpfleet_agents_connected')).toBe(2);
    expect(m.get('tcpfleet_ingest_snapshots_total')).toBeGreaterThan(0);
    expect(m.get('tcpfleet_write_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(m.get('tcpfleet_alerts_firing')).toBe(0);
    expect(r.body).toContain('# TYPE tcpfleet_alert_firing gauge');
  });

  it('is scraped by a real Prometheus server, which answers with the same numbers', async () => {
    const server = await startPrometheus(join(tmp.dir, 'prometheus'), `127.0.0.1:${collector.port}`);
    prom = server.proc;
    const est = await server.waitSeries('tcpfleet_fleet_connections{state="established"}');
    expect((await server.query('up{job="tcpfleet"}'))[0]?.value[1]).toBe('1');
    const total = await getJson<{ states: Record<string, number> }>(`${collector.url}/api/v1/total`);
    expect(Number(est[0]!.value[1])).toBe(total.states['established']);
    const perHost = await server.query('sum by (host) (tcpfleet_host_connections{state="listen"})');
    expect(perHost.map((r) => r.metric['host']).sort()).toEqual(['m-db-1', 'm-web-1']);
  });
});
