/**
 * The query commands' fast start: yargs alone takes longer to import than Node takes to start,
 * so a plain query invocation (a known command, its known flags as `--flag value`,
 * `--flag=value` or `--json`, each at most once) is dispatched without loading it. Anything else
 * (help, version, unknown or repeated flags, values starting with '-', missing arguments) returns
 * null and goes through yargs in main.ts. A flag's one-letter short form (`-l VALUE`) is taken too.
 * Both take the commands, flags and defaults from the one table in query-options.ts.
 */
import { QUERY_OPTIONS, isQueryCommand, queryArgsFrom, runQuery } from './query-options.js';
import type { QueryArgs, QueryCommand } from './query-options.js';

/** Per query command: whether it takes a host id, and the flags that take a value (from query-options.ts). */
export const QUERY_FLAGS: Record<string, { positional: boolean; strings: readonly string[] }> = Object.fromEntries(
  Object.entries(QUERY_OPTIONS).map(([cmd, spec]) => [cmd, { positional: spec.positional, strings: Object.keys(spec.options).filter((n) => spec.options[n]?.type !== 'boolean') }]),
);

/** The parsed query command line, or null to let yargs handle it. */
export function fastQueryArgs(argv: readonly string[]): { cmd: QueryCommand; args: QueryArgs } | null {
  const [cmd, ...rest] = argv;
  if (!isQueryCommand(cmd)) return null;
  const spec = QUERY_OPTIONS[cmd];
  const values = new Map<string, string | number | boolean>();
  let id: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    let a = rest[i] ?? '';
    const short = /^-([a-zA-Z])$/.exec(a)?.[1];
    if (short !== undefined) {
      const long = Object.keys(spec.options).find((n) => spec.options[n]?.alias === short);
      if (long === undefined) return null;
      a = `--${long}`;
    }
    if (!a.startsWith('--')) {
      if (!spec.positional || id !== undefined || a.startsWith('-') || a === '') return null;
      id = a;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const o = Object.hasOwn(spec.options, name) ? spec.options[name] : undefined;
    if (o === undefined || values.has(name)) return null;
    if (o.type === 'boolean') {
      if (eq >= 0) return null;
      values.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : rest[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    values.set(name, o.type === 'number' ? Number(value) : value);
  }
  if (spec.positional && id === undefined) return null;
  return { cmd, args: queryArgsFrom(cmd, id, (n) => values.get(n)) };
}

/** A runner for a plain query invocation, or null to let yargs handle the command line. */
export function fastQuery(argv: readonly string[], env: NodeJS.ProcessEnv, defaultUrl?: string): (() => Promise<void>) | null {
  const p = fastQueryArgs(argv);
  return p === null ? null : () => runQuery(p.cmd, p.args, env, defaultUrl);
}
