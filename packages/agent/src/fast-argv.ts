/**
 * The agent's fast start: yargs is the largest thing the agent would load (about 5 MB of the
 * bundle's resident memory, 12 MB unbundled, held for the life of the daemon), so a plain
 * command line (known flags as `--flag value` or `--flag=value`, each at most once except
 * `--label`, numbers in plain decimal, boolean flags without a value) is parsed here.
 * Anything else (help, version, unknown or repeated flags, values starting with '-', a number
 * yargs would read differently, positionals) returns null and goes through yargs
 * (yargs-argv.ts). Both take their flags from the one table in options.ts.
 */
import type { AgentFlags } from './config.js';
import { AGENT_OPTION, AGENT_OPTIONS, agentArgsFrom } from './options.js';
import type { AgentArgs } from './options.js';

export type FastArgs = AgentArgs;

const byType = (type: string): Record<string, keyof AgentFlags> => Object.fromEntries(AGENT_OPTIONS.flatMap((o) => (o.type === type && o.to !== 'once' && o.to !== 'json' ? [[o.name, o.to]] : [])));

/** Flags taking a string, by command-line name, with their AgentFlags key (from options.ts). */
export const STRINGS = byType('string');
/** Flags taking a number (from options.ts). */
export const NUMBERS = byType('number');

const PLAIN_NUMBER = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** The parsed command line, or null to let yargs handle it. */
export function fastAgentArgs(args: readonly string[]): FastArgs | null {
  const values = new Map<string, unknown>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) return null;
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const o = AGENT_OPTION.get(name);
    if (o === undefined) return null;
    if (o.type !== 'strings' && values.has(name)) return null;
    if (o.type === 'boolean') {
      if (eq >= 0) return null;
      values.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (o.type === 'strings') values.set(name, [...((values.get(name) as string[] | undefined) ?? []), value]);
    else if (o.type === 'string') values.set(name, value);
    else if (PLAIN_NUMBER.test(value)) values.set(name, Number(value));
    else return null;
  }
  return agentArgsFrom((name) => values.get(name));
}
