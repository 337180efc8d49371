/**
 * The agent's fast start: yargs is the largest thing the agent would load (about 5 MB of the
 * bundle's resident memory, 12 MB unbundled, held for the life of the daemon), so a plain
 * command line (known flags as `--flag value` or `--flag=value`, each at most once except
 * `--label`, numbers in plain decimal, `--once`, `--json` and `--namespaces` without a value) is parsed here.
 * Anything else (help, version, unknown or repeated flags, values starting with '-', a number
 * yargs would read differently, positionals) returns null and goes through the yargs definition
 * in main.ts, which stays the one source of truth for usage and errors.
 */
import type { AgentFlags } from './config.js';

/** Flags taking a string, by command-line name, with their AgentFlags key. */
export const STRINGS: Record<string, keyof AgentFlags> = {
  collector: 'collector',
  token: 'token',
  'token-file': 'tokenFile',
  'host-id': 'hostId',
  procfs: 'procfs',
  'spool-dir': 'spoolDir',
  ca: 'ca',
  'kube-log-dir': 'kubeLogDir',
  'docker-dir': 'dockerDir',
  config: 'config',
  'log-level': 'logLevel',
};

/** Flags taking a number. */
export const NUMBERS: Record<string, keyof AgentFlags> = {
  interval: 'interval',
  top: 'top',
  queue: 'queue',
  'spool-bytes': 'spoolBytes',
  'walk-budget': 'walkBudget',
  'max-namespaces': 'maxNamespaces',
  'reconnect-min': 'reconnectMin',
  'reconnect-max': 'reconnectMax',
};

const PLAIN_NUMBER = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** What main.ts needs from the command line. */
export interface FastArgs {
  once: boolean;
  json: boolean;
  flags: AgentFlags;
}

/** The parsed command line, or null to let yargs handle it. */
export function fastAgentArgs(args: readonly string[]): FastArgs | null {
  const flags: Record<string, unknown> = {};
  const seen = new Set<string>();
  const labels: string[] = [];
  let once = false;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) return null;
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (name !== 'label' && seen.has(name)) return null;
    seen.add(name);
    if (name === 'once' || name === 'json' || name === 'namespaces') {
      if (eq >= 0) return null;
      if (name === 'once') once = true;
      else if (name === 'json') json = true;
      else flags['namespaces'] = true;
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (name === 'label') {
      labels.push(value);
      continue;
    }
    const s = STRINGS[name];
    if (s !== undefined) {
      flags[s] = value;
      continue;
    }
    const n = NUMBERS[name];
    if (n === undefined || !PLAIN_NUMBER.test(value)) return null;
    flags[n] = Number(value);
  }
  if (labels.length > 0) flags['label'] = labels;
  return { once, json, flags: flags };
}
