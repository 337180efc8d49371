/**
 * Notifiers of the rules file (`notifiers:`): where notifications go and what body each gets.
 *
 *   { name, type: webhook, url, format: json|slack, timeout, retries, backoff, secret_file }
 *   { name, type: alertmanager, url, timeout, retries, backoff, resend }
 *
 * A webhook with `secret_file` signs every POST (signature.ts). An Alertmanager notifier posts to
 * URL/api/v2/alerts (alertmanager.ts) and re-posts a firing alert every `resend`, as Alertmanager
 * expects of its clients. The secret file is read here, once per load of the rules file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { parseDuration } from '@tcpfleet/common';
import { alertmanagerBody } from './alertmanager.js';
import { webhookBody } from './payload.js';
import type { AlertPayload } from './payload.js';

/** A webhook notifier, ready to use. */
export interface WebhookNotifier {
  name: string;
  type: 'webhook';
  url: string;
  format: 'json' | 'slack';
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** The HMAC key read from `secret_file`, or null: posts are not signed. */
  secret: string | null;
}

/** An Alertmanager notifier, ready to use. */
export interface AlertmanagerNotifier {
  name: string;
  type: 'alertmanager';
  /** Alertmanager's base URL as written; posts go to `postUrl`. */
  url: string;
  postUrl: string;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** A firing alert is posted again this often (below Alertmanager's resolve_timeout). */
  resendMs: number;
}

/** One notifier of the rules file. */
export type Notifier = WebhookNotifier | AlertmanagerNotifier;

/** Defaults of each notifier type. */
export const NOTIFIER_DEFAULTS = {
  timeout: '5s',
  backoff: '1s',
  retries: { webhook: 3, alertmanager: 10 },
  resend: '1m',
} as const;

/** A duration such as 30s (also used by rules-file.ts). */
export const duration = z.string().refine((s) => parseDuration(s) !== null, 'a duration such as 30s, 10m, 1h');
/** A rule or notifier name (also used by rules-file.ts). */
export const ident = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a name of letters, digits and . _ - (up to 100)');
const httpUrl = z.string().refine((u) => {
  try {
    const p = new URL(u).protocol;
    return p === 'http:' || p === 'https:';
  } catch {
    return false;
  }
}, 'an http:// or https:// URL');
const common = {
  name: ident,
  url: httpUrl,
  timeout: duration.optional(),
  retries: z.number().int().min(0).max(20).optional(),
  backoff: duration.optional(),
};

const WebhookSchema = z.strictObject({
  ...common,
  type: z.literal('webhook'),
  format: z.enum(['json', 'slack']).optional(),
  secret_file: z.string().min(1).max(4096).optional(),
});
const AlertmanagerSchema = z.strictObject({
  ...common,
  type: z.literal('alertmanager'),
  resend: duration.refine((s) => (parseDuration(s) ?? 0) >= 1000, 'at least 1s').optional(),
});

/** The schema of one entry of `notifiers:` (its type picks the fields it may have). */
export const NotifierSchema = z.discriminatedUnion('type', [WebhookSchema, AlertmanagerSchema], { error: 'webhook or alertmanager' });
export type RawNotifier = z.infer<typeof NotifierSchema>;

const ms = (text: string | undefined, fallback: string): number => parseDuration(text ?? fallback) ?? 0;

/**
 * A notifier ready to use; `bad(field, text)` is told of a problem (then null is returned).
 * `secret_file` is relative to the rules file's directory.
 */
export function buildNotifier(r: RawNotifier, rulesFile: string, bad: (field: string, text: string) => void): Notifier | null {
  const base = { name: r.name, url: r.url, timeoutMs: ms(r.timeout, NOTIFIER_DEFAULTS.timeout), backoffMs: ms(r.backoff, NOTIFIER_DEFAULTS.backoff) };
  if (r.type === 'alertmanager') {
    const u = new URL(r.url);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    return {
      ...base,
      type: 'alertmanager',
      postUrl: new URL('api/v2/alerts', u).toString(),
      retries: r.retries ?? NOTIFIER_DEFAULTS.retries.alertmanager,
      resendMs: ms(r.resend, NOTIFIER_DEFAULTS.resend),
    };
  }
  let secret: string | null = null;
  if (r.secret_file !== undefined) {
    const path = resolve(dirname(rulesFile), r.secret_file);
    try {
      secret = readFileSync(path, 'utf8').trim();
    } catch (err) {
      bad('secret_file', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return null;
    }
    if (secret === '') {
      bad('secret_file', `${path} is empty: put the shared secret in it`);
      return null;
    }
  }
  return { ...base, type: 'webhook', format: r.format ?? 'json', retries: r.retries ?? NOTIFIER_DEFAULTS.retries.webhook, secret };
}

/** The body a notifier receives for a notification queued at `now`. */
export function notificationBody(p: AlertPayload, n: Notifier, description: string | null, now: number): string {
  return n.type === 'alertmanager' ? alertmanagerBody(p, description, now) : webhookBody(p, n.format);
}
