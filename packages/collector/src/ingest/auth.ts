/**
 * Who may write: a per-host token (its SHA-256 stored by `tcpfleet token create HOST`, bound to
 * that host) or the shared fleet token given to `serve` (any host name; weaker: one leaked token
 * lets anyone write as any host, except a host that has its own token). Comparisons are
 * constant-time; failures are counted per client address without ever refusing a valid token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store, WriteAuth } from '../store/store.js';

/** SHA-256 of a token, hex. Tokens are 256 random bits, so a fast hash is enough. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new random token (43 characters of base64url). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Result of checking a bearer token; `limited`: the address failed too often recently (answer 429). */
export type AuthResult = { ok: true; boundHost: string | null; auth: WriteAuth } | { ok: false; reason: string; limited: boolean };

/** Extracts the token from an Authorization header. */
export function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header);
  return m?.[1] ?? null;
}

/** Limits of the failed-token table. */
export interface FailureLimits {
  /** Failures from one address within `windowMs` after which its bad tokens get 429 (default 20). */
  maxFailures?: number;
  windowMs?: number;
  /** Addresses remembered; beyond it the least recently failing one is forgotten (default 10,000). */
  maxAddresses?: number;
}

/**
 * Failed attempts per client address, least recently failing first (a Map keeps insertion
 * order; an address that fails again moves to the end). Old entries leave one at a time from the
 * front, by age or when the table is full; it is never cleared as a whole.
 */
class FailureTable {
  readonly #m = new Map<string, { count: number; since: number }>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;

  constructor(o: FailureLimits) {
    this.#max = o.maxFailures ?? 20;
    this.#windowMs = o.windowMs ?? 60_000;
    this.#maxAddresses = o.maxAddresses ?? 10_000;
  }

  /** Records a failure; true when the address is now over its limit. */
  fail(addr: string, now: number): boolean {
    let f = this.#m.get(addr);
    if (f !== undefined) this.#m.delete(addr);
    if (f === undefined || now - f.since > this.#windowMs) f = { count: 0, since: now };
    f.count++;
    this.#m.set(addr, f);
    // Expired entries at the front go two at a time (amortised against the failures that made
    // them); a full table loses its least recently failing address.
    for (let i = 0; i < 2; i++) {
      const first = this.#m.entries().next();
      if (first.done === true || first.value[0] === addr || now - first.value[1].since <= this.#windowMs) break;
      this.#m.delete(first.value[0]);
    }
    while (this.#m.size > this.#maxAddresses) {
      const oldest = this.#m.keys().next();
      if (oldest.done === true) break;
      this.#m.delete(oldest.value);
    }
    return f.count > this.#max;
  }

  get size(): number {
    return this.#m.size;
  }
}

/**
 * Checks write tokens. A token is checked first, always: a valid one is never refused because
 * of failures from the same address (a prober on an agent's address cannot keep it out). Bad
 * tokens are counted per address; past the limit they get 429 instead of 401 and are no longer
 * logged one by one. Per-host tokens are 256 random bits and the fleet token is compared as a
 * SHA-256 in constant time, so what stops guessing is the tokens' length, not the limit.
 */
export class Authenticator {
  readonly #fleetHash: Buffer | null;
  readonly #store: Store;
  readonly #failures: FailureTable;

  constructor(store: Store, fleetToken: string | null, limits: FailureLimits = {}) {
    this.#store = store;
    this.#fleetHash = fleetToken === null ? null : Buffer.from(hashToken(fleetToken), 'hex');
    this.#failures = new FailureTable(limits);
  }

  /** Checks a token; per-host tokens win over the fleet token. */
  async check(token: string | null, addr: string, now = Date.now()): Promise<AuthResult> {
    if (token !== null) {
      const hash = hashToken(token);
      const host = await this.#store.hostForToken(hash);
      if (host !== null) return { ok: true, boundHost: host, auth: { kind: 'host', hash } };
      if (this.#fleetHash !== null && timingSafeEqual(Buffer.from(hash, 'hex'), this.#fleetHash)) return { ok: true, boundHost: null, auth: { kind: 'fleet' } };
    }
    const limited = this.#failures.fail(addr, now);
    return { ok: false, reason: token === null ? 'no bearer token' : 'unknown or revoked token', limited };
  }

  /** Addresses in the failure table (for tests and /healthz). */
  get failingAddresses(): number {
    return this.#failures.size;
  }
}
