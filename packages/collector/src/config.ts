/**
 * `tcpfleet serve` configuration: one zod schema with defaults, merged from (lowest first)
 * defaults, a JSON config file (--config), environment (TCPFLEET_*) and flags; validated once,
 * then frozen.
 */
import { readFileSync, statSync } from 'node:fs';
import * as z from 'zod';
import { ConfigError, deepFreeze, defined, parseDuration, readConfigFile, validateConfig } from '@tcpfleet/common';
import { readAccessConfig } from './read-access-config.js';

const duration = z.string().refine((s) => parseDuration(s) !== null, 'a duration such as 30s, 10m, 1h');

export const ServeConfigSchema = z.strictObject({
  listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT such as 127.0.0.1:7070 or 0.0.0.0:7070').default('127.0.0.1:7070'),
  db: z.string().min(1).default('./data/tcpfleet.db'),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  durability: z.enum(['full', 'normal']).default('full'),
  writeThread: z.enum(['on', 'off']).default('on'),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  rules: z.string().min(1).optional(),
  heartbeat: duration.default('15s'),
  retention: duration.default('48h'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Read access (read-access-config.ts, http/read-access.ts).
  readToken: z.string().min(1).optional(),
  readTokenFile: z.string().min(1).optional(),
  publicRead: z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])], { error: 'true or false (or 1 or 0)' }).transform((v) => v === true || v === 'true' || v === '1').default(false),
  publicUrl: z.string().min(1).optional(),
});

export type ServeConfig = Readonly<Omit<z.infer<typeof ServeConfigSchema>, 'token' | 'readToken'> & { tokenValue: string | null; host: string; port: number; readTokenHashes: readonly string[]; publicHosts: readonly string[] }>;

/** Flags of `serve` as yargs hands them over. */
export type ServeFlags = Partial<Record<keyof z.infer<typeof ServeConfigSchema> | 'config', string | undefined>>;

/** Builds the frozen serve config. */
export function loadServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv, warn: (m: string) => void): ServeConfig {
  const file = flags.config !== undefined ? readConfigFile(flags.config) : {};
  const envCfg = defined({
    listen: env['TCPFLEET_LISTEN'],
    db: env['TCPFLEET_DB'],
    token: env['TCPFLEET_TOKEN'],
    tokenFile: env['TCPFLEET_TOKEN_FILE'],
    rules: env['TCPFLEET_RULES'],
    logLevel: env['TCPFLEET_LOG_LEVEL'],
    readToken: env['TCPFLEET_READ_TOKEN'],
    readTokenFile: env['TCPFLEET_READ_TOKEN_FILE'],
    publicRead: env['TCPFLEET_PUBLIC_READ'],
    publicUrl: env['TCPFLEET_PUBLIC_URL'],
  });
  const { config: _c, ...rest } = flags;
  const cfg = validateConfig(ServeConfigSchema, { ...file, ...envCfg, ...defined(rest) }, flags.config ?? 'serve config');
  const problems: string[] = [];
  if (cfg.token !== undefined && cfg.tokenFile !== undefined) problems.push('give either --token or --token-file, not both');
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined)) problems.push('--tls-cert and --tls-key go together');
  if (problems.length > 0) throw new ConfigError(problems);
  let tokenValue = cfg.token ?? null;
  if (cfg.tokenFile !== undefined) {
    try {
      tokenValue = readFileSync(cfg.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError([`token file ${cfg.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    if (tokenValue === '') throw new ConfigError([`token file ${cfg.tokenFile} is empty`]);
    const mode = statSync(cfg.tokenFile).mode & 0o777;
    if ((mode & 0o077) !== 0) warn(`token file ${cfg.tokenFile} has mode ${mode.toString(8)}: others can read it; chmod 600 it`);
  }
  if (tokenValue === null) warn('no fleet token: only agents with a per-host token (tcpfleet token create HOST) can connect');
  const colon = cfg.listen.lastIndexOf(':');
  const host = cfg.listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(cfg.listen.slice(colon + 1));
  if (port > 65535) throw new ConfigError([`listen: port ${port} is above 65535`]);
  const read = readAccessConfig(cfg, tokenValue, warn);
  const { token: _t, readToken: _r, ...kept } = cfg;
  return deepFreeze({ ...kept, tokenValue, host, port, ...read });
}
