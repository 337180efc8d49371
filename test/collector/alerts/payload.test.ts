/** The notification bodies: the JSON payload's keys and order, and the Slack-compatible line. */
import { describe, expect, it } from 'vitest';
import { emptyStates } from '@tcpfleet/common';
import type { AlertRecord } from '../../../packages/collector/src/alerts/alert-store.js';
import { toPayload, webhookBody } from '../../../packages/collector/src/alerts/payload.js';

const rec: AlertRecord = {
  id: 1,
  rule: 'established-spike',
  key: 'web-7',
  status: 'firing',
  severity: 'warning',
  host: 'web-7',
  labels: { env: 'prod' },
  metric: 'states.established',
  value: 1840,
  baseline: 410,
  pendingSince: 1000,
  startsAt: 2000,
  endsAt: null,
  lastNotified: 2000,
  evidence: {
    inbound: [{ port: 443, states: { ...emptyStates(), established: 1702 } }],
    outbound: [
      { addr: '10.0.0.9', port: 5432, states: { ...emptyStates(), established: 96 } },
      { addr: 'fd00::9', port: 6379, states: { ...emptyStates(), established: 12 } },
    ],
    other: { inbound: emptyStates(), outbound: emptyStates() },
  },
};

describe('notification bodies', () => {
  it('json: the documented keys in order; baseline only for spikes; host absent for the fleet', () => {
    expect(Object.keys(JSON.parse(webhookBody(toPayload(rec, 'spike'), 'json')) as object)).toEqual([
      'status',
      'rule',
      'severity',
      'host',
      'labels',
      'metric',
      'value',
      'baseline',
      'startsAt',
      'endsAt',
      'evidence',
    ]);
    const threshold = toPayload({ ...rec, baseline: null }, 'threshold');
    expect(threshold).not.toHaveProperty('baseline');
    const fleet = toPayload({ ...rec, host: null, key: '', evidence: null }, 'threshold', 'resolved');
    expect(fleet).not.toHaveProperty('host');
    expect(fleet).toMatchObject({ status: 'resolved', endsAt: null, evidence: null });
    expect(toPayload({ ...rec, status: 'resolved', endsAt: 9000 }, 'spike')).toMatchObject({ status: 'resolved', startsAt: 2000, endsAt: 9000 });
  });

  it('slack: one line with the value, the baseline, the top ports and the top peers', () => {
    expect(JSON.parse(webhookBody(toPayload(rec, 'spike'), 'slack'))).toEqual({
      text: '[FIRING] established-spike on web-7 (warning): states.established = 1840 (baseline 410); top listening ports: :443 1702; top peers: 10.0.0.9:5432 96, [fd00::9]:6379 12',
    });
    expect(JSON.parse(webhookBody(toPayload({ ...rec, rule: 'host-down', metric: null, value: 130, baseline: null, evidence: null }, 'absent', 'firing'), 'slack'))).toEqual({
      text: '[FIRING] host-down on web-7 (warning): no data for 130s',
    });
  });
});
