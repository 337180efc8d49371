/**
 * Who may write: a per-host token (its SHA-256 stored by `tcpfleet token create HOST`, bound to
 * that host) or the shared fleet token given to `serve` (any host name; weaker: one leaked token
 * lets anyone write as any host). Comparisons are constant-time; failures are rate-limited per
 * client address.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.js';

/** SHA-256 of a token, hex. Tokens are 256 random bits, so a fast hash is enough. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new random token (43 characters of base64url). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Result of checking a bearer token. */
export type AuthResult = { ok: true; boundHost: string | null } | { ok: false; reason: string };

/** Extracts the token from an Authorization header. */
export function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header);
  return m?.[1] ?? null;
}

export class Authenticator {
  readonly #fleetHash: Buffer | null;
  readonly #store: Store;
  readonly #failures = new Map<string, { count: number; since: number }>();
  readonly #maxFailures: number;
  readonly #windowMs: number;

  constructor(store: Store, fleetToken: string | null, maxFailures = 20, windowMs = 60_000) {
    this.#store = store;
    this.#fleetHash = fleetToken === null ? null : Buffer.from(hashToken(fleetToken), 'hex');
    this.#maxFailures = maxFailures;
    this.#windowMs = windowMs;
  }

  /** True when this address failed too often recently; it gets 429 without a check. */
  limited(addr: string, now = Date.now()): boolean {
    const f = this.#failures.get(addr);
    if (f === undefined) return false;
    if (now - f.since > this.#windowMs) {
      this.#failures.delete(addr);
      return false;
    }
    return f.count >= this.#maxFailures;
  }

  /** Checks a token; per-host tokens win over the fleet token. */
  async check(token: string | null, addr: string, now = Date.now()): Promise<AuthResult> {
    if (token === null) return this.#fail(addr, now, 'no bearer token');
    const hash = hashToken(token);
    const host = await this.#store.hostForToken(hash);
    if (host !== null) return { ok: true, boundHost: host };
    if (this.#fleetHash !== null && timingSafeEqual(Buffer.from(hash, 'hex'), this.#fleetHash)) return { ok: true, boundHost: null };
    return this.#fail(addr, now, 'unknown or revoked token');
  }

  #fail(addr: string, now: number, reason: string): AuthResult {
    const f = this.#failures.get(addr);
    if (f === undefined || now - f.since > this.#windowMs) this.#failures.set(addr, { count: 1, since: now });
    else f.count++;
    if (this.#failures.size > 10_000) this.#failures.clear();
    return { ok: false, reason };
  }
}
