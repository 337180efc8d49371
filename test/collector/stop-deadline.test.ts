/**
 * The collector's stop has a deadline (`serve --stop-timeout`, default 10 s), like the agent's:
 * a real collector asked to stop (SIGTERM) while a webhook delivery hangs (the alert job gives
 * deliveries in flight 2 s) exits after its 1 s deadline with code 1 and one log line naming the
 * step it was waiting for and the steps not started; a collector with nothing hanging stops
 * cleanly with code 0 and no such line, also when the signal comes while its components are
 * still starting (the listener is up before the last of them).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import { startWebhook } from '../helpers/webhook.js';
import type { WebhookReceiver } from '../helpers/webhook.js';

const t = tempDir('stop-deadline');
let hook: WebhookReceiver | undefined;
afterAll(async () => {
  killAll();
  await hook?.close();
  t.cleanup();
});

describe('collector stop deadline', () => {
  it('exits after --stop-timeout, naming what it waited for', async () => {
    hook = await startWebhook({ kind: 'hang' });
    const rules = join(t.dir, 'rules.yml');
    writeFileSync(
      rules,
      `defaults: { for: 0s, grace: 0s, repeat: 1h }
notifiers:
  - { name: hang, type: webhook, url: "${hook.url()}", format: json, timeout: 60s, retries: 0 }
rules:
  - { name: listening, kind: threshold, metric: states.listen, op: ">=", value: 1, notify: [hang] }
`,
    );
    const dir = join(t.dir, 'hanging');
    mkdirSync(dir);
    const c = await startCollector(dir, ['--rules', rules, '--stop-timeout', '1s']);
    // This host always has a listener (the collector), so the rule fires and the delivery hangs.
    const a = startAgent(c, dir, ['--host-id', 'self']);
    await waitFor(() => hook!.received.length === 1, 'the webhook to receive the notification', 30_000);
    await stopProc(a);
    c.proc.kill('SIGTERM');
    expect(await c.exited).toBe(1);
    const line = c.logs().find((l) => l['msg'] === 'stop deadline passed; exiting anyway');
    expect(line, c.stderr()).toMatchObject({
      deadline_ms: 1000,
      waiting_for: 'alerts',
      // Stopped in reverse start order: leadership (the singleton jobs' term) and the store were still to go.
      not_started: ['leadership', 'store'],
    });
    expect(c.logs().some((l) => l['msg'] === 'collector stopped')).toBe(false);
  }, 60_000);

  it('stops cleanly with code 0 when nothing hangs', async () => {
    const dir = join(t.dir, 'clean');
    mkdirSync(dir);
    const c = await startCollector(dir, ['--stop-timeout', '5s']);
    c.proc.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(c.logs().some((l) => l['msg'] === 'collector stopped')).toBe(true);
    expect(c.logs().some((l) => l['msg'] === 'stop deadline passed; exiting anyway')).toBe(false);
    await stopProc(c);
  }, 30_000);

  it('a SIGTERM as soon as the listener is up (components still starting) stops cleanly with code 0, every time of 6', async () => {
    for (let i = 0; i < 6; i++) {
      const dir = join(t.dir, `early-${i}`);
      mkdirSync(dir);
      const c = await startCollector(dir, ['--stop-timeout', '5s']);
      c.proc.kill('SIGTERM');
      expect(await c.exited, c.stderr()).toBe(0);
      expect(c.logs().some((l) => l['msg'] === 'collector stopped')).toBe(true);
      await stopProc(c);
    }
  }, 90_000);
});
