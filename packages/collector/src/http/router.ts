/**
 * The collector's HTTP route table: every path the collector answers, written out once (see
 * app-routes.ts), with one parameter parser (Query) for all of them.
 *
 * A path is literal segments and `:name` parameters (percent-decoded; a bad encoding is a 400).
 * Two routes that could match the same path are refused when the table is built, so no route can
 * shadow another. Every route answers GET and HEAD; another method on a known path is a 405.
 * Before a handler runs, the guard (read-access.ts) checks the Host header (421) and, for routes
 * whose access is `read`, the read token (401).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseStateName } from '../api/fleet.js';
import { SelectorError, optionalSelector } from '@tcpfleet/common';
import type { Selector, TcpStateName } from '@tcpfleet/common';
import { sendError } from './respond.js';

/** Who may call a route: anyone (`open`), or readers only when read tokens are configured (`read`). */
export type Access = 'open' | 'read';

/** A bad parameter: answered 400 with the message. */
export class BadRequest extends Error {}

/** The query string of a request, read through bounded typed getters that throw BadRequest. */
export class Query {
  readonly #p: URLSearchParams;
  constructor(p: URLSearchParams) {
    this.#p = p;
  }

  has(name: string): boolean {
    return this.#p.has(name);
  }

  /** A raw value, null when absent. */
  string(name: string): string | null {
    return this.#p.get(name);
  }

  /** An integer in [min, max]; `def` when absent or empty. */
  int(name: string, def: number, min: number, max: number): number {
    const raw = this.#p.get(name);
    if (raw === null || raw === '') return def;
    if (!/^-?\d+$/.test(raw)) throw new BadRequest(`${name} must be an integer, got ${JSON.stringify(raw.slice(0, 40))}`);
    const n = Number(raw);
    if (n < min || n > max) throw new BadRequest(`${name} must be between ${min} and ${max}`);
    return n;
  }

  /** A TCP state name (`state`, default established). */
  state(name = 'state', def = 'established'): TcpStateName {
    const raw = this.#p.get(name) ?? def;
    const s = parseStateName(raw);
    if (s === null) throw new BadRequest(`unknown state ${JSON.stringify(raw.slice(0, 40))}`);
    return s;
  }

  /** A flag: true for 1 or true, false when absent, empty, 0 or false. */
  flag(name: string): boolean {
    const raw = this.#p.get(name);
    if (raw === null || raw === '' || raw === '0' || raw === 'false') return false;
    if (raw === '1' || raw === 'true') return true;
    throw new BadRequest(`${name} must be 1 or 0, got ${JSON.stringify(raw.slice(0, 40))}`);
  }

  /** A label selector (docs/selectors.md); null when absent or empty (every host). */
  selector(name = 'selector'): Selector | null {
    try {
      return optionalSelector(this.#p.get(name));
    } catch (err) {
      if (err instanceof SelectorError) throw new BadRequest(err.message);
      throw err;
    }
  }
}

/** What a handler gets. */
export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters by name, decoded. */
  params: Readonly<Record<string, string>>;
  query: Query;
  /** True when the caller may read: reads are open, or it sent a valid read token. */
  reader: boolean;
}

export type Handler = (r: Request) => Promise<void> | void;

/** One row of the route table. */
export interface Route {
  path: string;
  access: Access;
  handle: Handler;
}

/** The guard's verdict on a request. */
export type GuardResult = { ok: true; reader: boolean } | { ok: false; status: 401 | 421; code: string; message: string; headers?: Record<string, string> };

/** Checks a request before its handler runs (read-access.ts). */
export type Guard = (req: IncomingMessage, access: Access) => Promise<GuardResult> | GuardResult;

interface Compiled {
  route: Route;
  segments: readonly (string | { param: string })[];
}

function compile(route: Route): Compiled {
  if (!route.path.startsWith('/')) throw new Error(`route ${route.path}: paths start with /`);
  const segments = route.path
    .slice(1)
    .split('/')
    .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : s));
  return { route, segments };
}

/** True when some path matches both. */
function overlap(a: Compiled, b: Compiled): boolean {
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((s, i) => {
    const t = b.segments[i]!;
    return typeof s !== 'string' || typeof t !== 'string' || s === t;
  });
}

export class Router {
  readonly #routes: Compiled[] = [];
  readonly #guard: Guard;

  /** Builds the table; throws when two routes could match the same path. */
  constructor(routes: readonly Route[], guard: Guard) {
    for (const r of routes) {
      const c = compile(r);
      const other = this.#routes.find((o) => overlap(o, c));
      if (other !== undefined) throw new Error(`routes ${other.route.path} and ${r.path} match the same paths`);
      this.#routes.push(c);
    }
    this.#guard = guard;
  }

  /** Paths in the table, in order (for docs and tests). */
  get paths(): string[] {
    return this.#routes.map((c) => c.route.path);
  }

  /** The route for a path and its parameters, or null. Throws BadRequest for a bad encoding. */
  match(pathname: string): { route: Route; params: Record<string, string> } | null {
    const parts = pathname.slice(1).split('/');
    for (const c of this.#routes) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = c.segments[i]!;
        const part = parts[i]!;
        if (typeof seg === 'string') ok = seg === part;
        else if (part === '') ok = false;
        else params[seg.param] = part;
      }
      if (!ok) continue;
      for (const [k, v] of Object.entries(params)) {
        try {
          params[k] = decodeURIComponent(v);
        } catch {
          throw new BadRequest(`bad ${k} encoding`);
        }
      }
      return { route: c.route, params };
    }
    return null;
  }

  /** The request listener. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.#dispatch(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof BadRequest) return sendError(res, 400, 'TCPFLEET_ERR_USAGE', err.message);
      sendError(res, 500, 'TCPFLEET_ERR_STORAGE', (err as Error).message);
    });
  };

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://collector');
    let m: ReturnType<Router['match']> = null;
    let bad: unknown = null;
    try {
      m = this.match(url.pathname);
    } catch (err) {
      bad = err;
    }
    // Unknown paths are guarded like read routes: a caller without a token learns nothing of the table.
    const verdict = await this.#guard(req, m?.route.access ?? 'read');
    if (!verdict.ok) return sendError(res, verdict.status, verdict.code, verdict.message, verdict.headers);
    // What match() threw: a BadRequest (an Error); rethrown once the guard has let the request through.
    if (bad !== null) throw bad as Error;
    if (m === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `no route ${url.pathname.slice(0, 80)}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'TCPFLEET_ERR_USAGE', 'read-only API: GET only', { allow: 'GET, HEAD' });
    await m.route.handle({ req, res, url, params: m.params, query: new Query(url.searchParams), reader: verdict.reader });
  }
}
