/**
 * The Alertmanager notifier without a network: its config (defaults, fields that belong to the
 * other type), the labels (names made valid, ours win over a host's), the body (no endsAt while
 * firing, endsAt never in the future when resolved), and the engine's re-posts on a controlled
 * clock: every `resend` while firing (not at the rule's `repeat`, which is for webhooks), each new
 * post superseding an older one still queued, none after the resolution.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { emptyStates } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { parseRules } from '../../../packages/collector/src/alerts/rules-file.js';
import type { RulesError } from '../../../packages/collector/src/alerts/rules-file.js';
import { alertLabels, alertmanagerBody, labelName } from '../../../packages/collector/src/alerts/alertmanager.js';
import type { AlertPayload } from '../../../packages/collector/src/alerts/payload.js';
import { engineOnFile } from '../../helpers/alert-engine.js';
import { synthSnapshot } from '../../helpers/snapshots.js';

const T0 = 1_800_000_000_000;
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const problems = (text: string): readonly string[] => {
  try {
    parseRules(text, 'r.yml');
    return [];
  } catch (err) {
    return (err as RulesError).problems;
  }
};

describe('alertmanager notifier config', () => {
  it('fills defaults (retries 10, resend 1m, timeout 5s, backoff 1s) and posts to URL/api/v2/alerts, with or without a path prefix', () => {
    const set = parseRules(
      `notifiers:\n  - { name: am, type: alertmanager, url: "http://127.0.0.1:9093" }\n  - { name: am2, type: alertmanager, url: "http://am.internal/prefix", resend: 30s, retries: 2 }\nrules: []\n`,
      'r.yml',
    );
    expect(set.notifiers).toEqual([
      { name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:9093', postUrl: 'http://127.0.0.1:9093/api/v2/alerts', timeoutMs: 5000, backoffMs: 1000, retries: 10, resendMs: 60_000 },
      { name: 'am2', type: 'alertmanager', url: 'http://am.internal/prefix', postUrl: 'http://am.internal/prefix/api/v2/alerts', timeoutMs: 5000, backoffMs: 1000, retries: 2, resendMs: 30_000 },
    ]);
  });

  it('refuses webhook fields on an alertmanager notifier, a resend under 1s and an unknown type, naming the line', () => {
    expect(problems(`notifiers:\n  - { name: am, type: alertmanager, url: "http://127.0.0.1:9093", format: json, secret_file: k }\nrules: []\n`)).toEqual([
      'r.yml:2: notifier "am": field "format": unknown field',
      'r.yml:2: notifier "am": field "secret_file": unknown field',
    ]);
    expect(problems(`notifiers:\n  - name: am\n    type: alertmanager\n    url: "http://127.0.0.1:9093"\n    resend: 500ms\nrules: []\n`)).toEqual([
      'r.yml:5: notifier "am": field "resend": at least 1s (got "500ms")',
    ]);
    expect(problems(`notifiers:\n  - { name: am, type: pagerduty, url: "http://127.0.0.1:9093" }\nrules: []\n`)).toEqual([
      'r.yml:2: notifier "am": field "type": webhook or alertmanager (got "pagerduty")',
    ]);
    expect(problems(`notifiers:\n  - { name: w, type: webhook, url: "http://127.0.0.1:9/", resend: 1m }\nrules: []\n`)).toEqual(['r.yml:2: notifier "w": field "resend": unknown field']);
  });
});

describe('alertmanager labels and body', () => {
  it('label names become [a-zA-Z_][a-zA-Z0-9_]*; alertname, host and severity win; empty values are left out', () => {
    expect(labelName('k8s.io/zone')).toBe('k8s_io_zone');
    expect(labelName('2fa')).toBe('_2fa');
    expect(labelName('env')).toBe('env');
    expect(alertLabels({ rule: 'r', host: 'web-1', severity: 'critical', labels: { severity: 'low', host: 'x', 'a.b': '1', a_b: '2', empty: '', env: 'prod' } })).toEqual({
      alertname: 'r',
      host: 'web-1',
      severity: 'critical',
      a_b: '1', // 'a.b' sorts first
      env: 'prod',
    });
    // A fleet alert has no host label; its labels are the rule's match.
    expect(alertLabels({ rule: 'r', severity: 'warning', labels: { env: 'prod' } })).toEqual({ alertname: 'r', severity: 'warning', env: 'prod' });
  });

  const p: AlertPayload = {
    status: 'firing',
    rule: 'established-spike',
    severity: 'warning',
    host: 'web-7',
    labels: { env: 'prod' },
    metric: 'states.established',
    value: 1840,
    baseline: 410,
    startsAt: T0,
    endsAt: null,
    evidence: {
      inbound: [{ port: 443, states: { ...emptyStates(), established: 1702 } }],
      outbound: [{ addr: 'fd00::9', port: 5432, states: { ...emptyStates(), established: 96 } }],
      other: { inbound: emptyStates(), outbound: emptyStates() },
    },
  };

  it('firing: labels, annotations, startsAt, and no endsAt (Alertmanager applies its resolve_timeout)', () => {
    expect(JSON.parse(alertmanagerBody(p, null, T0 + 5000))).toEqual([
      {
        labels: { alertname: 'established-spike', host: 'web-7', severity: 'warning', env: 'prod' },
        annotations: { summary: 'established-spike on web-7: states.established = 1840 (baseline 410)', value: '1840', baseline: '410', top_ports: ':443 1702', top_peers: '[fd00::9]:5432 96' },
        startsAt: new Date(T0).toISOString(),
      },
    ]);
  });

  it('resolved: endsAt is when it resolved, or the moment it was queued if that is earlier (never in the future); absent alerts say how long without data', () => {
    const { baseline: _b, ...rest } = p;
    const r: AlertPayload = { ...rest, status: 'resolved', endsAt: T0 + 60_000, evidence: null, metric: null, value: 130 };
    const [late] = JSON.parse(alertmanagerBody(r, 'it is down', T0 + 90_000)) as Record<string, unknown>[];
    expect(late).toEqual({
      labels: { alertname: 'established-spike', host: 'web-7', severity: 'warning', env: 'prod' },
      annotations: { summary: 'established-spike on web-7: no data for 130s', value: '130', description: 'it is down' },
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(T0 + 60_000).toISOString(),
    });
    const [early] = JSON.parse(alertmanagerBody(r, null, T0 + 30_000)) as Record<string, unknown>[];
    expect(early!['endsAt']).toBe(new Date(T0 + 30_000).toISOString());
  });
});

describe('alertmanager re-posts in the engine', () => {
  const snap = (ts: number, seq: number, established: number): Snapshot => ({ ...synthSnapshot('h', ts, seq, 1), labels: { env: 'test' }, states: { ...emptyStates(), established } });

  it('posts every `resend` while firing (webhooks only at `repeat`), superseding older queued posts; the resolution supersedes the last', () => {
    const { db, clock, engine } = engineOnFile(
      `notifiers:\n  - { name: am, type: alertmanager, url: "http://127.0.0.1:9/", resend: 10s }\n  - { name: hook, type: webhook, url: "http://127.0.0.1:9/" }\nrules:\n  - { name: cw, kind: threshold, metric: states.established, op: ">", value: 500, for: 0s, grace: 0s, repeat: 25s, notify: [am, hook] }\n`,
      closers,
      T0,
    );
    const rows = (): { notifier: string; state: string; status: string }[] =>
      (db.prepare('SELECT notifier, state, body FROM alert_deliveries ORDER BY id').all() as { notifier: string; state: string; body: string }[]).map((r) => {
        const b = JSON.parse(r.body) as unknown;
        return { notifier: r.notifier, state: r.state, status: Array.isArray(b) ? ((b[0] as { endsAt?: string }).endsAt === undefined ? 'firing' : 'resolved') : (b as { status: string }).status };
      });
    let seq = 0;
    const at = (s: number, v: number): void => {
      clock.now = T0 + s * 1000;
      engine.ingest([{ host: 'h', labels: { env: 'test' }, snapshots: [snap(clock.now, ++seq, v)] }], clock.now);
      engine.tick();
    };
    at(0, 600); // fires
    for (let s = 1; s <= 30; s++) at(s, 600);
    // Firing at 0 s to both; Alertmanager again at 10, 20 and 30 s (each superseding the one before);
    // the webhook again only at the rule's repeat (25 s).
    expect(rows().map((r) => `${r.notifier} ${r.status} ${r.state}`)).toEqual([
      'am firing failed',
      'hook firing queued',
      'am firing failed',
      'am firing failed',
      'hook firing queued',
      'am firing queued',
    ]);
    expect((db.prepare("SELECT DISTINCT last_error AS e FROM alert_deliveries WHERE state = 'failed'").all() as { e: string }[]).map((r) => r.e)).toEqual(['superseded by a newer post']);
    at(31, 10); // resolves
    for (let s = 32; s <= 60; s++) at(s, 10);
    expect(
      rows()
        .slice(6)
        .map((r) => `${r.notifier} ${r.status} ${r.state}`),
    ).toEqual(['am resolved queued', 'hook resolved queued']);
    expect(rows()[5]!.state).toBe('failed'); // the last firing post is superseded by the resolution

    // An alert firing for long: its posts to Alertmanager do not pile up (the newest 10 are kept).
    at(61, 600);
    for (let s = 62; s <= 300; s++) at(s, 600);
    const am = rows().filter((r) => r.notifier === 'am');
    // The first alert's 5 posts (0, 10, 20, 30 s and its resolution), and the newest 10 of the second (24 made).
    expect(am).toHaveLength(5 + 10);
    expect(am.slice(5).map((r) => r.state)).toEqual([...Array<string>(9).fill('failed'), 'queued']);
  });
});
