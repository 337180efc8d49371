/**
 * A real HTTP server on 127.0.0.1 that receives alert webhooks: it records every request and
 * answers as told (ok, hang forever, fail a number of times first, or hold the first requests
 * unanswered and answer the rest). Closed by close(), which
 * also drops the connections a hanging receiver holds.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One request the receiver got. */
export interface Received {
  at: number;
  path: string;
  body: string;
  json: Record<string, unknown> | null;
  /** The request headers (names in lowercase). */
  headers: IncomingMessage['headers'];
}

/** How the receiver answers. */
export type WebhookMode = { kind: 'ok' } | { kind: 'hang' } | { kind: 'fail-first'; times: number; status: number } | { kind: 'hang-first'; times: number };

export interface WebhookReceiver {
  url: (path?: string) => string;
  port: number;
  received: Received[];
  close: () => Promise<void>;
}

/** Starts a receiver on 127.0.0.1, on `port` or a free one. */
export async function startWebhook(mode: WebhookMode = { kind: 'ok' }, port = 0): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  let failures = 0;
  let held = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        json = null;
      }
      received.push({ at: Date.now(), path: req.url ?? '/', body, json, headers: req.headers });
      if (mode.kind === 'hang') return; // never answers
      if (mode.kind === 'hang-first' && held < mode.times) {
        held++;
        return; // this one is never answered
      }
      if (mode.kind === 'fail-first' && failures < mode.times) {
        failures++;
        res.writeHead(mode.status).end('try again');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port: bound,
    url: (path = '/hook') => `http://127.0.0.1:${bound}${path}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Writes `rules.yml` in `dir`: one spike rule, established-spike (states.established, window 60s,
 * factor 3, min_delta 40, for 1s, grace 1s, severity warning), notifying `hook` as JSON with
 * 3 retries. Returns the file's path.
 */
export function writeSpikeRules(dir: string, hook: WebhookReceiver): string {
  const file = join(dir, 'rules.yml');
  writeFileSync(
    file,
    `defaults: { for: 1s, grace: 1s, repeat: 1h }
notifiers:
  - { name: hook, type: webhook, url: "${hook.url()}", format: json, timeout: 2s, retries: 3, backoff: 200ms }
rules:
  - name: established-spike
    kind: spike
    metric: states.established
    window: 60s
    factor: 3
    min_delta: 40
    severity: warning
    notify: [hook]
`,
  );
  return file;
}
