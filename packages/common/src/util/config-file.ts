/**
 * Shared pieces of configuration loading for both binaries: the JSON config file, zod issues
 * turned into one ConfigError that lists every problem, and key=value label parsing.
 *
 * Precedence, lowest first: built-in defaults < config file < environment (TCPFLEET_*) < flags.
 */
import { readFileSync } from 'node:fs';
import type * as z from 'zod';
import { ConfigError } from '../errors.js';
import type { Issue } from './check.js';

/** Reads a JSON config file into an object; a missing file or bad JSON is a ConfigError. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`config file ${path} (flag --config): cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a readable JSON file`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`config file ${path} (flag --config): not valid JSON (${(err as Error).message})`]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError([`config file ${path} (flag --config): must hold a JSON object of settings, such as {"logLevel": "debug"}`]);
  return value as Record<string, unknown>;
}

/** Parses `value` with `schema`, throwing one ConfigError naming every bad key. */
export function validateConfig<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new ConfigError(configProblems(zodIssues(r.error), where));
}

/** zod's issues in the shape of the hand-written checks' (util/check.ts). */
export function zodIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message, ...(i.code === 'unrecognized_keys' ? { keys: i.keys } : {}) }));
}

/** One line per problem, "<where>: <path>: <message>" or "<where>: unknown key(s) ...": zod's issues and the hand-written checks' (util/check.ts) alike. */
export function configProblems(issues: readonly Issue[], where: string): string[] {
  return issues.map((i) => {
    if (i.keys !== undefined) return `${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    const path = i.path.length === 0 ? '(root)' : i.path.join('.');
    return `${where}: ${path}: ${i.message}`;
  });
}

/** Parses "key=value" strings into a record; a malformed one is a ConfigError. */
export function parseLabels(items: readonly string[], where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError([`${where}: label ${JSON.stringify(item)} is not key=value`]);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Drops keys whose value is undefined, so lower-precedence sources show through. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
