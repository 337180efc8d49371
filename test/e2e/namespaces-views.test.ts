/**
 * A host's network namespaces in the operator views, end to end (issue 10): a real collector
 * with a `scope: container` rule and a real webhook receiver, fed snapshots carrying
 * `namespaces` over a real WebSocket session, then a real agent with --namespaces reading
 * namespaces this test creates:
 *
 *   - the container alert fires once per (host, netns), names the pod, and resolves once when
 *     the namespace disappears;
 *   - GET /api/v1/hosts/:id/namespaces and /metrics (promtool check metrics, and a real
 *     Prometheus scraping it) give the entries' numbers; the dashboard in headless Chromium shows
 *     them under the host's row;
 *   - with a real agent, the namespaces' counts equal what the sockets the test holds in them are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Page } from 'playwright-core';
import type { ContainerIdentity, NamespaceEntry } from '@tcpfleet/common';
import { openPage } from '../helpers/browser.js';
import { getJson, httpGet } from '../helpers/http.js';
import { addNetns, canNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { startWebhook } from '../helpers/webhook.js';
import type { WebhookReceiver } from '../helpers/webhook.js';
import { hello, snapshot } from '../helpers/wire.js';
import { nsEntry } from '../helpers/namespace-entries.js';
import { haveTools } from '../helpers/tools.js';
import { promSamples as samples, promtoolCheck, startPrometheus } from '../helpers/prometheus.js';

const have = haveTools(['chromium', 'promtool', 'prometheus'], 'chromium prometheus');
const HOST = 'k8s-node-1';
const BOOT = '00000000-0000-4000-8000-0000000a11e7';
/** The test agent's interval: long, so its host stays live (not stale) while the test looks at it. */
const LONG = 60_000;
const WEB: ContainerIdentity = { runtime: 'containerd', id: '3f'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'web-7d9f8c6b5-x2k4q', namespace: 'shop', name: 'nginx' };
const DNS: ContainerIdentity = { runtime: 'containerd', id: '9a'.repeat(32), pod: 'coredns-5d78c9869d-abcde', namespace: 'kube-system', name: 'coredns' };

const entry = (netns: number, container: ContainerIdentity | null, v: { established: number; close_wait: number; listen: number }): NamespaceEntry => nsEntry(netns, container, v);

/** A WebSocket session of a test agent: hello, then batches one at a time, each acknowledged. */
async function session(url: string, token: string, host: string): Promise<{ send: (snaps: Record<string, unknown>[]) => Promise<void>; close: () => void }> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer from the collector in 15 s')), 15_000);
      ws.once('message', (m: Buffer) => {
        clearTimeout(t);
        resolve(JSON.parse(m.toString()) as Record<string, unknown>);
      });
    });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const welcome = next();
  ws.send(hello(host, BOOT));
  await welcome;
  let id = 0;
  return {
    send: async (snaps) => {
      const answer = next();
      ws.send(JSON.stringify({ type: 'batch', id: ++id, snapshots: snaps }));
      expect(await answer).toMatchObject({ type: 'ack', id });
    },
    close: () => ws.close(1000),
  };
}

interface NsRow {
  netns: number;
  runtime: string | null;
  pod: string | null;
  namespace: string | null;
  name: string | null;
  states: Record<string, number>;
  sockets: number;
}
interface NsAnswer {
  host: string;
  namespaces: NsRow[] | null;
}

describe.skipIf(!have)('network namespaces in alerts, /metrics and the dashboard', () => {
  const tmp = tempDir('ns-views');
  let col: Collector;
  let hook: WebhookReceiver;
  let browser: Awaited<ReturnType<typeof openPage>> | null = null;
  let page: Page;
  let pageErrors: string[] = [];
  let agent: Proc | null = null;
  let prom: Proc | null = null;

  beforeAll(async () => {
    hook = await startWebhook();
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(
      rules,
      [
        'notifiers:',
        `  - { name: hook, type: webhook, url: "${hook.url('/ns')}" }`,
        'rules:',
        '  - { name: pod-close-wait, kind: threshold, scope: container, metric: states.close_wait, op: ">", value: 100, resolve_value: 20, for: 0s, grace: 0s, notify: [hook], match: { namespace: shop } }',
        '  - { name: ns-listeners, kind: threshold, scope: container, metric: states.listen, op: ">=", value: 3, for: 0s, grace: 0s, notify: [hook], match: { role: real } }',
        '',
      ].join('\n'),
    );
    col = await startCollector(tmp.dir, ['--rules', rules]);
    browser = await openPage();
    ({ page, errors: pageErrors } = browser);
  });

  afterAll(async () => {
    await browser?.close();
    if (agent !== null) await stopProc(agent);
    if (prom !== null) await stopProc(prom);
    await stopProc(col);
    await hook.close();
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  const fired = (status: string, rule = 'pod-close-wait'): Record<string, unknown>[] => hook.received.map((r) => r.json ?? {}).filter((j) => j['status'] === status && j['rule'] === rule);

  it('a container alert fires once per namespace and names the pod; the route, /metrics and the dashboard show the namespaces', { timeout: 180_000 }, async () => {
    const s = await session(col.wsUrl, col.token, HOST);
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 3; i++) {
      const namespaces = [
        entry(4026532101, WEB, { established: 12, close_wait: 150, listen: 1 }),
        entry(4026532102, DNS, { established: 3, close_wait: 0, listen: 2 }),
        entry(4026532103, null, { established: 0, close_wait: 400, listen: 0 }),
      ];
      await s.send([snapshot(HOST, i + 1, BOOT, { ts: t0 + i * 1000, interval_ms: LONG, namespaces })]);
    }
    await waitFor(() => fired('firing').length >= 1, 'the container alert to be delivered');
    const [f] = fired('firing');
    expect(f).toMatchObject({ rule: 'pod-close-wait', host: HOST, netns: 4026532101, container: WEB, metric: 'states.close_wait', value: 150, endsAt: null });
    expect(f!['evidence']).toMatchObject({ netns: 4026532101, container: WEB, states: { close_wait: 150, established: 12 } });

    // `tcpfleet alerts` names the namespace and the pod in its evidence column.
    const out = cli(['alerts', '--url', col.url]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`netns 4026532101 pod shop/${WEB.pod} container nginx containerd ${'3f'.repeat(6)}: close_wait 150, established 12, listen 1`);

    const api = await getJson<NsAnswer>(`${col.url}/api/v1/hosts/${HOST}/namespaces`);
    expect(api.namespaces?.map((n) => [n.netns, n.pod, n.namespace, n.name, n.states['close_wait'], n.sockets])).toEqual([
      [4026532103, null, null, null, 400, 400],
      [4026532101, WEB.pod, 'shop', 'nginx', 150, 163],
      [4026532102, DNS.pod, 'kube-system', 'coredns', 0, 5],
    ]);

    const r = await httpGet(`${col.url}/metrics`);
    const check = promtoolCheck(r.body, tmp.dir);
    expect(check.status, check.output).toBe(0);
    const m = samples(r.body);
    const web = `host="${HOST}",netns="4026532101",pod="${WEB.pod}",namespace="shop",container="nginx"`;
    expect(m.get(`tcpfleet_namespace_connections{${web},state="close_wait"}`)).toBe(150);
    expect(m.get(`tcpfleet_namespace_connections{${web},state="established"}`)).toBe(12);
    expect(m.get(`tcpfleet_namespace_alert_firing{rule="pod-close-wait",${web},severity="warning"}`)).toBe(1);
    expect(m.get('tcpfleet_namespace_series{status="exported"}')).toBe(3);
    // A real Prometheus scrapes the per-namespace series and answers by pod.
    const server = await startPrometheus(join(tmp.dir, 'prometheus'), `127.0.0.1:${col.port}`);
    prom = server.proc;
    const byPod = await server.waitSeries(`sum by (pod, namespace) (tcpfleet_namespace_connections{host="${HOST}",pod="${WEB.pod}"})`);
    expect(byPod.map((x) => [x.metric['pod'], x.metric['namespace'], Number(x.value[1])])).toEqual([[WEB.pod, 'shop', 163]]);
    expect(Number((await server.query(`tcpfleet_namespace_connections{host="${HOST}",netns="4026532103",state="close_wait"}`))[0]?.value[1])).toBe(400);

    await page.goto(`${col.url}/`);
    const toggle = `tr[data-host="${HOST}"] button.ns-toggle`;
    await page.waitForSelector(toggle, { timeout: 20_000 });
    await page.click(toggle);
    const webRow = `tr.ns-row[data-ns-host="${HOST}"] tr.ns-entry[data-netns="4026532101"]`;
    await page.waitForSelector(webRow, { timeout: 20_000 });
    expect(await page.textContent(`${webRow} td[data-col="who"]`)).toBe(`${WEB.pod} / nginx`);
    expect(await page.textContent(`${webRow} td[data-col="close_wait"]`)).toBe('150');
    expect(await page.textContent(`${webRow} td[data-col="sockets"]`)).toBe('163');
    expect(await page.$$eval(`tr.ns-row[data-ns-host="${HOST}"] tr.ns-entry`, (rows) => rows.map((x) => (x as unknown as { dataset: Record<string, string> }).dataset['netns']))).toEqual([
      '4026532103',
      '4026532101',
      '4026532102',
    ]);
    // The open table survives the page's next polls (the hosts table is rebuilt every 2 s).
    const seen = Number(await page.getAttribute('body', 'data-updated'));
    await page.waitForFunction((x) => Number((globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> } } }).document.body.dataset['updated']) > x, seen, {
      timeout: 20_000,
    });
    expect(await page.isVisible(webRow)).toBe(true);
    expect(await page.textContent('#alerts')).toContain('pod-close-wait');

    // The web pod's namespace disappears: its alert resolves once, and the dashboard drops its row.
    await s.send([snapshot(HOST, 4, BOOT, { ts: t0 + 3000, interval_ms: LONG, namespaces: [entry(4026532102, DNS, { established: 3, close_wait: 0, listen: 2 })] })]);
    await waitFor(() => fired('resolved').length >= 1, 'the resolved notification');
    expect(fired('resolved')).toMatchObject([{ netns: 4026532101, container: WEB, value: 150 }]);
    await page.waitForSelector(webRow, { state: 'detached', timeout: 20_000 });
    expect(await page.isVisible(`tr.ns-row[data-ns-host="${HOST}"] tr.ns-entry[data-netns="4026532102"]`)).toBe(true);
    s.close();
    expect(fired('firing')).toHaveLength(1);
    expect(fired('resolved')).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });

  it.skipIf(!canNetns())(
    'a real agent with --namespaces: the namespaces the test holds sockets in, with their counts, in the route, /metrics, the dashboard and a container alert',
    { timeout: 150_000 },
    async () => {
      const a = addNetns('views-a');
      const b = addNetns('views-b');
      const ca = await startConns(a, { listen: 3, estab: 4 });
      const cb = await startConns(b, { listen: 1, estab: 2 });
      const inode = (ns: string): number => statSync(`/run/netns/${ns}`).ino;
      const want = new Map([
        [inode(a), ca.ready],
        [inode(b), cb.ready],
      ]);
      agent = startAgent(col, tmp.dir, ['--host-id', 'real-ns', '--label', 'role=real', '--namespaces', '--walk-budget', '0']);
      let rows: NsRow[] = [];
      await waitFor(
        async () => {
          const r = await httpGet(`${col.url}/api/v1/hosts/real-ns/namespaces`);
          if (r.status !== 200) return false;
          rows = ((JSON.parse(r.body) as NsAnswer).namespaces ?? []).filter((n) => want.has(n.netns));
          return rows.length === 2 && rows.every((n) => n.states['established'] === want.get(n.netns)!.established && n.states['listen'] === want.get(n.netns)!.listen);
        },
        "the agent's namespaces with the test's sockets",
        60_000,
        250,
      );
      // The rule on listeners fires for namespace a (3 listeners) only, naming its netns.
      await waitFor(() => fired('firing', 'ns-listeners').some((j) => j['netns'] === inode(a)), 'the alert of namespace a');
      expect(
        fired('firing', 'ns-listeners')
          .filter((j) => want.has(j['netns'] as number))
          .map((j) => [j['host'], j['netns'], (j['evidence'] as { states: Record<string, number> }).states['listen']]),
      ).toEqual([['real-ns', inode(a), 3]]);

      const m = samples((await httpGet(`${col.url}/metrics`)).body);
      for (const [netns, ready] of want) {
        const labels = `host="real-ns",netns="${netns}",pod="",namespace="",container=""`;
        expect(m.get(`tcpfleet_namespace_connections{${labels},state="established"}`)).toBe(ready.established);
        expect(m.get(`tcpfleet_namespace_connections{${labels},state="listen"}`)).toBe(ready.listen);
      }

      await page.goto(`${col.url}/`);
      await page.waitForSelector('tr[data-host="real-ns"] button.ns-toggle', { timeout: 20_000 });
      await page.click('tr[data-host="real-ns"] button.ns-toggle');
      const rowA = `tr.ns-row[data-ns-host="real-ns"] tr.ns-entry[data-netns="${inode(a)}"]`;
      await page.waitForSelector(rowA, { timeout: 20_000 });
      expect(await page.textContent(`${rowA} td[data-col="established"]`)).toBe(String(ca.ready.established));
      expect(await page.textContent(`${rowA} td[data-col="listen"]`)).toBe('3');
      ca.proc.kill('SIGKILL');
      cb.proc.kill('SIGKILL');
      expect(pageErrors).toEqual([]);
    },
  );
});
