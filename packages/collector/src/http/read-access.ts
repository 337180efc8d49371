/**
 * Who may read, checked before every HTTP route runs (router.ts):
 *
 * 1. The Host header must name this collector: localhost, 127.0.0.1, [::1], the --listen host
 *    (any IP literal when it listens on 0.0.0.0 or ::), or a --public-url host. Anything else is
 *    421: a web page whose own name was re-pointed at this address (DNS rebinding) cannot read
 *    through the operator's browser. A request without a Host header (HTTP/1.0) passes.
 * 2. Reads are protected as soon as one read token exists: given to serve (--read-token,
 *    --read-token-file) or created in the database (tcpfleet token create --read NAME). Then a
 *    `read` route answers 401 unless the request carries `Authorization: Bearer <read token>`.
 *    Write tokens (fleet or per-host) are not read tokens, so they get 401 too. `open` routes
 *    (/healthz, the dashboard's static page) answer everyone and learn whether the caller is a
 *    reader, to decide what to show.
 *
 * Tokens are compared by their SHA-256, so the time a lookup takes says nothing about the token.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { bearer, hashToken } from '../ingest/auth.js';
import type { Access, Guard, GuardResult } from './router.js';
import type { ReadTokenLookup } from '../store/store.js';

/** The live read tokens in the database (store/read-tokens.ts, store/pg/pg-read-tokens.ts). */
export type { ReadTokenLookup } from '../store/store.js';

/** What the guard checks against. */
export interface ReadAccessOptions {
  /** SHA-256 (hex) of the read tokens given to serve. */
  tokenHashes: readonly string[];
  /** Read tokens created with `tcpfleet token create --read`; null without a database. */
  tokens: ReadTokenLookup | null;
  /** The host serve listens on (an address or name, IPv6 without brackets). */
  listenHost: string;
  /** Host names of the --public-url values. */
  publicHosts: readonly string[];
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** A Host header's (or listen address's) host part, normalised as URLs do; null when malformed. */
export function hostPart(host: string): string | null {
  const h = isIPv6(host) ? `[${host}]` : host;
  try {
    const u = new URL(`http://${h}/`);
    return u.username === '' && u.password === '' && u.pathname === '/' ? u.hostname : null;
  } catch {
    return null;
  }
}

function ipLiteral(h: string): boolean {
  return isIPv4(h) || (h.startsWith('[') && h.endsWith(']') && isIPv6(h.slice(1, -1)));
}

/** True for an address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = hostPart(host);
  return h === 'localhost' || h === '[::1]' || (h !== null && isIPv4(h) && h.startsWith('127.'));
}

/** The guard for the route table. */
export function readAccessGuard(o: ReadAccessOptions): Guard {
  const hashes = new Set(o.tokenHashes);
  const allowed = new Set(['localhost', '127.0.0.1', '[::1]', ...o.publicHosts]);
  const anyIp = WILDCARD.has(o.listenHost);
  const listen = anyIp ? null : hostPart(o.listenHost);
  if (listen !== null) allowed.add(listen);
  const unauthorized = (message: string): GuardResult => ({ ok: false, status: 401, code: 'TCPFLEET_ERR_AUTH', message, headers: { 'www-authenticate': 'Bearer realm="tcpfleet"' } });
  return (req: IncomingMessage, access: Access): GuardResult => {
    const hostHeader = req.headers.host;
    if (hostHeader !== undefined) {
      const h = hostPart(hostHeader);
      if (h === null || !(allowed.has(h) || (anyIp && ipLiteral(h)))) {
        return {
          ok: false,
          status: 421,
          code: 'TCPFLEET_ERR_AUTH',
          message: `Host ${JSON.stringify(hostHeader.slice(0, 80))} is not this collector: use its address, localhost, or a name given with serve --public-url`,
        };
      }
    }
    if (hashes.size === 0 && o.tokens?.anyLive() !== true) return { ok: true, reader: true };
    const token = bearer(req.headers.authorization);
    if (token !== null) {
      const hash = hashToken(token);
      if (hashes.has(hash) || o.tokens?.nameFor(hash) != null) return { ok: true, reader: true };
    }
    if (access === 'open') return { ok: true, reader: false };
    return unauthorized(
      token === null
        ? 'this collector needs a read token: send Authorization: Bearer <read token> (tcpfleet: --read-token-file FILE or TCPFLEET_READ_TOKEN)'
        : 'read token refused: unknown or revoked (write tokens cannot read)',
    );
  };
}
