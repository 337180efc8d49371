/**
 * Delivery of queued notifications to webhooks and Alertmanager, away from the ingest path: the engine only
 * writes rows into the outbox (alert-store.ts); this pump POSTs them with a timeout, retries with
 * exponential backoff, and records the outcome. A webhook that hangs, errors or is unreachable
 * costs a timer and a socket here, never a delay to ingest, and never the alert record.
 *
 * At least once: a delivery is marked sent after its 2xx. One in flight when the collector (or the
 * leader of several) dies is sent again by the next start (or leader), with the same body and the
 * same `Idempotency-Key` header (deliveryKey), so a receiver can drop the repeat.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { AlertStore, Delivery } from './alert-store.js';
import type { Notifier } from './rules-file.js';
import { signedHeaders } from './signature.js';

/** Longest wait between two attempts. */
const MAX_BACKOFF_MS = 300_000;
/** Deliveries in flight at once. */
const MAX_IN_FLIGHT = 8;
/** The header carrying deliveryKey() on every attempt. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * The idempotency key of one queued notification: the same on every attempt and after a leader
 * change (it is made of the outbox row: its id and a hash of its notifier and body), different
 * for each transition and each repeat.
 */
export function deliveryKey(d: Pick<Delivery, 'id' | 'notifier' | 'body'>): string {
  return `tcpfleet-${d.id}-${createHash('sha256').update(`${d.notifier}\0${d.body}`).digest('hex').slice(0, 16)}`;
}

/** POSTs a body; resolves with the status code, rejects on a network error or time-out. */
export function postJson(url: string, body: string, timeoutMs: number, extraHeaders: Record<string, string> = {}): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'tcpfleet-alerts', ...extraHeaders } }, (res) => {
      res.resume();
      res.on('end', () => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
      res.on('error', (err) => reject(err));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code ?? err.message));
    });
    req.end(body);
  });
}

/** Options of the delivery pump. */
export interface DeliveryOptions {
  store: AlertStore;
  log: Logger;
  /** The notifiers of the rules now loaded, by name. */
  notifiers: () => ReadonlyMap<string, Notifier>;
  pollMs?: number;
}

export class DeliveryPump {
  readonly #o: DeliveryOptions;
  readonly #log: Logger;
  readonly #inFlight = new Map<number, Promise<void>>();
  /** `alertId\0notifier` of each delivery in flight. */
  readonly #busy = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #scheduled = false;
  #stopped = false;
  /** Deliveries made, retried and given up since start. */
  readonly stats = { sent: 0, retried: 0, failed: 0 };

  constructor(o: DeliveryOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'alert-delivery' });
  }

  start(): void {
    this.#timer = setInterval(() => this.#pump(), this.#o.pollMs ?? 250);
    this.#timer.unref();
    this.kick();
  }

  /** Looks for due deliveries soon (after the current turn, never inside it). */
  kick(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#stopped || this.#inFlight.size >= MAX_IN_FLIGHT) return;
    let due: Delivery[];
    try {
      due = this.#o.store.due(Date.now(), MAX_IN_FLIGHT * 2);
    } catch (err) {
      this.#log.error({ err }, 'cannot read the notification outbox');
      return;
    }
    for (const d of due) {
      if (this.#inFlight.size >= MAX_IN_FLIGHT) break;
      if (this.#inFlight.has(d.id)) continue;
      // One post at a time per alert and notifier, in queue order: a resolution never overtakes the firing post.
      const key = `${d.alertId}\0${d.notifier}`;
      if (this.#busy.has(key)) continue;
      this.#busy.add(key);
      const p = this.#deliver(d)
        .catch((err: unknown) => this.#log.error({ err, delivery: d.id }, 'cannot record a delivery outcome'))
        .finally(() => {
          this.#inFlight.delete(d.id);
          this.#busy.delete(key);
        });
      this.#inFlight.set(d.id, p);
    }
  }

  async #deliver(d: Delivery): Promise<void> {
    const n = this.#o.notifiers().get(d.notifier);
    const attempts = d.attempts + 1;
    if (n === undefined) {
      this.#o.store.failed(d.id, d.attempts, `notifier ${d.notifier} is no longer in the rules file`);
      this.stats.failed++;
      this.#log.error({ notifier: d.notifier, delivery: d.id }, 'notification dropped: notifier removed from the rules file');
      return;
    }
    let error: string;
    try {
      const headers = { [IDEMPOTENCY_HEADER]: deliveryKey(d), ...(n.type === 'webhook' && n.secret !== null ? signedHeaders(n.secret, d.body, Date.now()) : {}) };
      const status = await postJson(n.type === 'alertmanager' ? n.postUrl : n.url, d.body, n.timeoutMs, headers);
      if (status >= 200 && status < 300) {
        this.#o.store.sent(d.id, Date.now());
        this.stats.sent++;
        this.#log.info({ notifier: n.name, delivery: d.id, alert: d.alertId, attempts }, 'notification delivered');
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    if (this.#stopped) {
      // Left queued: the next start sends it again.
      this.#o.store.retry(d.id, attempts, Date.now(), error);
      return;
    }
    if (attempts > n.retries) {
      this.#o.store.failed(d.id, attempts, error);
      this.stats.failed++;
      this.#log.error({ notifier: n.name, delivery: d.id, alert: d.alertId, attempts, error }, 'notification failed; giving up');
      return;
    }
    const wait = Math.min(MAX_BACKOFF_MS, n.backoffMs * 2 ** (attempts - 1));
    this.#o.store.retry(d.id, attempts, Date.now() + wait, error);
    this.stats.retried++;
    this.#log.warn({ notifier: n.name, delivery: d.id, alert: d.alertId, attempts, error, retry_in_ms: wait }, 'notification failed; will retry');
  }

  /** Stops polling; waits up to `deadlineMs` for deliveries in flight (the rest stay queued). */
  async stop(deadlineMs = 2000): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    const all = Promise.allSettled([...this.#inFlight.values()]);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (t = setTimeout(r, deadlineMs)))]);
    clearTimeout(t);
  }
}
