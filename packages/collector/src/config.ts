/**
 * `tcpfleet serve` configuration: one zod schema with defaults, merged from (lowest first)
 * defaults, a JSON config file (--config), environment (TCPFLEET_*) and flags; validated once,
 * then frozen. A bad setting is named as it was given (common/util/setting-sources.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import * as z from 'zod';
import { STOP_DEADLINE_MS } from './lifecycle.js';
import { ConfigError, SettingSources, deepFreeze, defined, parseDuration, readConfigFile, zodIssues } from '@tcpfleet/common';
import { DEFAULT_DB } from './cli/db-file.js';
import { readAccessConfig } from './read-access-config.js';

const duration = z.string().refine((s) => parseDuration(s) !== null, 'a duration such as 30s, 10m, 1h');

export const ServeConfigSchema = z.strictObject({
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT such as 127.0.0.1:7070 or 0.0.0.0:7070')
    .default('127.0.0.1:7070'),
  db: z.string().min(1).default(DEFAULT_DB),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  durability: z.enum(['full', 'normal']).default('full'),
  writeThread: z.enum(['on', 'off']).default('on'),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  rules: z.string().min(1).optional(),
  heartbeat: duration.default('15s'),
  retention: duration.default('48h'),
  stopTimeout: duration.default(`${STOP_DEADLINE_MS / 1000}s`),
  maxHosts: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  forgetAfter: duration.default('30d'),
  maxPendingPerAddress: z.coerce.number().int().min(1).max(100_000).default(64),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Read access (read-access-config.ts, http/read-access.ts).
  readToken: z.string().min(1).optional(),
  readTokenFile: z.string().min(1).optional(),
  publicRead: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], { error: 'true or false (or 1 or 0)' })
    .transform((v) => v === true || v === 'true' || v === '1')
    .default(false),
  publicUrl: z.string().min(1).optional(),
});

export type ServeConfig = Readonly<
  Omit<z.infer<typeof ServeConfigSchema>, 'token' | 'readToken'> & { tokenValue: string | null; host: string; port: number; readTokenHashes: readonly string[]; publicHosts: readonly string[] }
>;

/** Flags of `serve` as yargs hands them over. */
export type ServeFlags = Partial<Record<keyof z.infer<typeof ServeConfigSchema> | 'config', string | undefined>>;

/** Builds the frozen serve config; every problem names its flag, environment variable or config file and key. */
export function loadServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv, warn: (m: string) => void): ServeConfig {
  const src = new SettingSources();
  if (flags.config !== undefined) src.file(readConfigFile(flags.config), flags.config);
  src.env(
    defined({
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
    }),
    env,
  );
  const { config: _c, ...rest } = flags;
  src.flags(defined(rest));
  const r = ServeConfigSchema.safeParse(src.merged);
  if (!r.success) throw new ConfigError(src.problems(zodIssues(r.error), ServeConfigSchema.keyof().options));
  const cfg = r.data;
  const problems: string[] = [];
  if (cfg.token !== undefined && cfg.tokenFile !== undefined) problems.push(`${src.name(['token'])} and ${src.name(['tokenFile'])}: give a token or a token file, not both`);
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined)) {
    const given = cfg.tlsCert !== undefined ? 'tlsCert' : 'tlsKey';
    problems.push(
      `${src.name([given])} without ${given === 'tlsCert' ? '--tls-key' : '--tls-cert'}: a TLS certificate and its key go together (--tls-cert and --tls-key, or tlsCert and tlsKey in a config file)`,
    );
  }
  const colon = cfg.listen.lastIndexOf(':');
  const host = cfg.listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(cfg.listen.slice(colon + 1));
  if (port > 65535) problems.push(`${src.name(['listen'])}: port ${port} is above 65535: HOST:PORT such as 127.0.0.1:7070${src.got(['listen'])}`);
  if (problems.length > 0) throw new ConfigError(problems);
  let tokenValue = cfg.token ?? null;
  if (cfg.tokenFile !== undefined) {
    const where = src.name(['tokenFile']);
    try {
      tokenValue = readFileSync(cfg.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError([`${where}: cannot read ${cfg.tokenFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a readable file holding the fleet token`]);
    }
    if (tokenValue === '') throw new ConfigError([`${where}: ${cfg.tokenFile} is empty; put the fleet token in it`]);
    const mode = statSync(cfg.tokenFile).mode & 0o777;
    if ((mode & 0o077) !== 0) warn(`token file ${cfg.tokenFile} has mode ${mode.toString(8)}: others can read it; chmod 600 it`);
  }
  if (tokenValue === null) warn('no fleet token: only agents with a per-host token (tcpfleet token create HOST) can connect');
  const read = readAccessConfig(cfg, tokenValue, warn, (k) => src.name([k]));
  const { token: _t, readToken: _r, ...kept } = cfg;
  return deepFreeze({ ...kept, tokenValue, host, port, ...read });
}
