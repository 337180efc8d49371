/**
 * The query commands' fast start: yargs alone takes longer to import than Node takes to start,
 * so a plain query invocation (a known command, its known flags as `--flag value`,
 * `--flag=value` or `--json`, each at most once) is dispatched without loading it. Anything else
 * (help, version, unknown or repeated flags, values starting with '-', missing arguments) returns
 * null and goes through the yargs definition in main.ts, which stays the one source of truth for
 * usage and errors. Defaults here are main.ts's.
 */
import { collectorUrl } from './collector-url.js';

type Flags = Record<string, string | true>;

const READ = ['read-token', 'read-token-file'] as const;
export const QUERY_FLAGS: Record<string, { positional: boolean; strings: readonly string[] }> = {
  hosts: { positional: false, strings: ['url', ...READ] },
  total: { positional: false, strings: ['url', 'state', ...READ] },
  host: { positional: true, strings: ['url', ...READ] },
  history: { positional: true, strings: ['url', 'state', 'since', 'limit', ...READ] },
  top: { positional: false, strings: ['url', 'state', 'limit', 'by', ...READ] },
};

function parse(args: readonly string[], strings: readonly string[], positional: boolean): { flags: Flags; id: string | null } | null {
  const flags: Flags = {};
  let id: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) {
      if (!positional || id !== null || a.startsWith('-') || a === '') return null;
      id = a;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (Object.hasOwn(flags, name)) return null;
    if (name === 'json') {
      if (eq >= 0) return null;
      flags[name] = true;
      continue;
    }
    if (!strings.includes(name)) return null;
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    flags[name] = value;
  }
  if (positional && id === null) return null;
  return { flags, id };
}

/** A runner for a plain query invocation, or null to let yargs handle the command line. */
export function fastQuery(argv: readonly string[], env: NodeJS.ProcessEnv, defaultUrl: string): (() => Promise<void>) | null {
  const [cmd, ...rest] = argv;
  const spec = cmd === undefined ? undefined : QUERY_FLAGS[cmd];
  if (spec === undefined) return null;
  const p = parse(rest, spec.strings, spec.positional);
  if (p === null) return null;
  const f = p.flags;
  const str = (k: string): string | undefined => (typeof f[k] === 'string' ? f[k] : undefined);
  const id = p.id ?? '';
  return async () => {
    const readToken = (await import('./read-token.js')).cliReadToken({ readToken: str('read-token'), readTokenFile: str('read-token-file') }, env);
    const base = { url: collectorUrl(str('url'), env, defaultUrl), json: f['json'] === true, readToken };
    const q = await import('./query.js');
    switch (cmd) {
      case 'hosts':
        return q.hostsCmd(base);
      case 'total':
        return q.totalCmd({ ...base, state: str('state') });
      case 'host':
        return q.hostCmd({ ...base, id });
      case 'history':
        return q.historyCmd({ ...base, id, since: str('since') ?? '1h', state: str('state'), limit: str('limit') === undefined ? undefined : Number(str('limit')) });
      default:
        return q.topCmd({ ...base, state: str('state') ?? 'established', limit: str('limit') === undefined ? 10 : Number(str('limit')), by: str('by') ?? 'host' });
    }
  };
}
