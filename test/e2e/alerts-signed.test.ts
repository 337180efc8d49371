/**
 * Signed webhooks (`secret_file`) end to end: a real collector and agent, a real receiver on
 * 127.0.0.1. The receiver checks each post the way docs/alerting.md tells receivers to (the code
 * below is that snippet's logic, not the collector's): the signature verifies; a tampered body,
 * a replayed post with another timestamp, and a post signed with another key do not. A webhook
 * without a secret sends no signature headers. A missing or empty secret file is one line, exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { startWebhook } from '../helpers/webhook.js';
import type { Received, WebhookReceiver } from '../helpers/webhook.js';

const SECRET = 'a-shared-secret-only-the-receiver-knows';

/** What docs/alerting.md tells a receiver to do. */
function verify(secret: string, body: string, timestamp: string, sig: string, nowS: number): boolean {
  if (Math.abs(nowS - Number(timestamp)) > 300) return false; // too old or from the future: a replay
  const want = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return want.length === sig.length && timingSafeEqual(Buffer.from(want), Buffer.from(sig));
}

const header = (r: Received, name: string): string => {
  const v = r.headers[name];
  return typeof v === 'string' ? v : '';
};

describe('alerting: webhooks signed with a secret from a file', () => {
  const tmp = tempDir('alerts-signed');
  let signed: WebhookReceiver;
  let plain: WebhookReceiver;
  let col: Collector;
  let agent: Proc;

  beforeAll(async () => {
    signed = await startWebhook();
    plain = await startWebhook();
    // The trailing newline is not part of the secret.
    writeFileSync(join(tmp.dir, 'hook.key'), `${SECRET}\n`, { mode: 0o600 });
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(
      rules,
      `notifiers:
  - { name: signed, type: webhook, url: "${signed.url()}", secret_file: hook.key }
  - { name: plain, type: webhook, url: "${plain.url()}" }
rules:
  - { name: listening, kind: threshold, metric: states.listen, op: ">=", value: 1, for: 1s, grace: 1s, notify: [signed, plain] }
`,
    );
    col = await startCollector(tmp.dir, ['--rules', rules]);
    agent = startAgent(col, tmp.dir, ['--host-id', 'self']);
  });

  afterAll(async () => {
    if (agent !== undefined) await stopProc(agent);
    if (col !== undefined) await stopProc(col);
    killAll();
    await signed?.close();
    await plain?.close();
    tmp.cleanup();
  });

  it('the signature verifies; a tampered body, a replayed timestamp or another key do not', async () => {
    await waitFor(() => signed.received.length >= 1 && plain.received.length >= 1, 'both webhooks to be posted to', 30_000);
    const r = signed.received[0]!;
    expect(r.json).toMatchObject({ status: 'firing', rule: 'listening', host: 'self' });
    const ts = header(r, 'x-tcpfleet-timestamp');
    const sig = header(r, 'x-tcpfleet-signature');
    expect(ts).toMatch(/^\d{10}$/);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    const now = Math.floor(r.at / 1000);
    expect(Math.abs(now - Number(ts))).toBeLessThanOrEqual(5);
    expect(verify(SECRET, r.body, ts, sig, now)).toBe(true);

    const tampered = r.body.replace('"host":"self"', '"host":"evil"');
    expect(tampered).not.toBe(r.body);
    expect(verify(SECRET, tampered, ts, sig, now)).toBe(false);
    // The same post with a fresh timestamp (to get past the receiver's clock check) no longer matches.
    expect(verify(SECRET, r.body, String(Number(ts) + 600), sig, now + 600)).toBe(false);
    // The original timestamp, 10 minutes later: refused as a replay.
    expect(verify(SECRET, r.body, ts, sig, now + 600)).toBe(false);
    expect(verify('another-secret', r.body, ts, sig, now)).toBe(false);

    // Without secret_file: no signature headers.
    expect(plain.received[0]!.headers['x-tcpfleet-signature']).toBeUndefined();
    expect(plain.received[0]!.headers['x-tcpfleet-timestamp']).toBeUndefined();
    // The secret is in no log line and not in GET /api/v1/rules.
    expect(col.stderr()).not.toContain(SECRET);
    const rulesDoc = await fetch(`${col.url}/api/v1/rules`).then((x) => x.text());
    expect(rulesDoc).not.toContain(SECRET);
    expect(JSON.parse(rulesDoc)).toMatchObject({
      notifiers: [
        { name: 'signed', type: 'webhook', format: 'json', signed: true },
        { name: 'plain', signed: false },
      ],
    });
  });

  it('a missing or empty secret file is one line naming the line, the notifier and the file, exit 2 (rules check and serve)', () => {
    const rules = join(tmp.dir, 'bad.yml');
    writeFileSync(rules, `notifiers:\n  - { name: ops, type: webhook, url: "http://127.0.0.1:9/", secret_file: missing.key }\nrules: []\n`);
    const missing = cli(['rules', 'check', rules]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([`${rules}:2: notifier "ops": field "secret_file": cannot read ${join(tmp.dir, 'missing.key')}: ENOENT`]);

    writeFileSync(join(tmp.dir, 'missing.key'), '\n');
    const empty = cli(['rules', 'check', rules]);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split('\n')).toEqual([`${rules}:2: notifier "ops": field "secret_file": ${join(tmp.dir, 'missing.key')} is empty: put the shared secret in it`]);

    const serve = cli(['serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, 'other.db'), '--token-file', join(tmp.dir, 'fleet.token'), '--rules', rules]);
    expect(serve.code).toBe(2);
    expect(serve.stderr.split('\n').filter((l) => l.startsWith('tcpfleet:'))).toEqual([
      `tcpfleet: ${rules}:2: notifier "ops": field "secret_file": ${join(tmp.dir, 'missing.key')} is empty: put the shared secret in it`,
    ]);
  });
});
