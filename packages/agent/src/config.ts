/**
 * Agent configuration: one zod schema with the defaults, merged from (lowest first) defaults,
 * a JSON config file (--config), environment variables (TCPFLEET_*) and flags; validated once,
 * then frozen.
 */
import { hostname } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import * as z from 'zod';
import { BREAKDOWN_MAX_TOP, ConfigError, HostIdSchema, LabelsSchema, deepFreeze, defined, parseLabels, readConfigFile, validateConfig } from '@tcpfleet/common';

export const AgentConfigSchema = z.strictObject({
  collector: z
    .string()
    .regex(/^wss?:\/\/[^\s/]+(\/\S*)?$/, 'a ws:// or wss:// URL such as ws://collector:7070')
    .optional(),
  token: z.string().min(1).max(4096).optional(),
  tokenFile: z.string().min(1).optional(),
  hostId: HostIdSchema.default(hostname()),
  labels: LabelsSchema.default({}),
  interval: z.number().min(0.1, 'at least 0.1 seconds').max(86400).default(10),
  procfs: z.string().min(1).default('/proc'),
  top: z.number().int().min(0).max(BREAKDOWN_MAX_TOP, `at most ${BREAKDOWN_MAX_TOP}`).default(10),
  queue: z.number().int().min(1).max(1_000_000).default(1000),
  spoolDir: z.string().min(1).optional(),
  spoolBytes: z.number().int().min(4096).default(64 * 1024 * 1024),
  ca: z.string().min(1).optional(),
  walkBudget: z.number().min(0).max(1).default(0.01),
  reconnectMin: z.number().min(0.01).default(0.5),
  reconnectMax: z.number().min(0.05).default(30),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type AgentConfig = Readonly<z.infer<typeof AgentConfigSchema> & { tokenValue: string | null }>;

/** Flag values as yargs hands them over (undefined when not given). */
export interface AgentFlags {
  config?: string | undefined;
  collector?: string | undefined;
  token?: string | undefined;
  tokenFile?: string | undefined;
  hostId?: string | undefined;
  label?: string[] | undefined;
  interval?: number | undefined;
  procfs?: string | undefined;
  top?: number | undefined;
  queue?: number | undefined;
  spoolDir?: string | undefined;
  spoolBytes?: number | undefined;
  ca?: string | undefined;
  walkBudget?: number | undefined;
  reconnectMin?: number | undefined;
  reconnectMax?: number | undefined;
  logLevel?: string | undefined;
}

const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

/** Environment variables the agent reads, by config key. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return defined({
    collector: env['TCPFLEET_COLLECTOR'],
    token: env['TCPFLEET_TOKEN'],
    tokenFile: env['TCPFLEET_TOKEN_FILE'],
    hostId: env['TCPFLEET_HOST_ID'],
    labels: env['TCPFLEET_LABELS'] === undefined ? undefined : parseLabels(env['TCPFLEET_LABELS'].split(',').filter((s) => s !== ''), 'TCPFLEET_LABELS'),
    interval: num(env['TCPFLEET_INTERVAL']),
    procfs: env['TCPFLEET_PROCFS'],
    spoolDir: env['TCPFLEET_SPOOL_DIR'],
    ca: env['TCPFLEET_CA'],
    logLevel: env['TCPFLEET_LOG_LEVEL'],
  });
}

/**
 * Builds the frozen agent config. `needCollector` is false for --once. Reads the token file and
 * returns its value separately, so the token itself is never part of what gets logged.
 */
export function loadAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv, needCollector: boolean, warn: (msg: string) => void = () => {}): AgentConfig {
  const file = flags.config !== undefined ? readConfigFile(flags.config) : {};
  const fromFlags = defined({
    collector: flags.collector,
    token: flags.token,
    tokenFile: flags.tokenFile,
    hostId: flags.hostId,
    labels: flags.label === undefined || flags.label.length === 0 ? undefined : parseLabels(flags.label, '--label'),
    interval: flags.interval,
    procfs: flags.procfs,
    top: flags.top,
    queue: flags.queue,
    spoolDir: flags.spoolDir,
    spoolBytes: flags.spoolBytes,
    ca: flags.ca,
    walkBudget: flags.walkBudget,
    reconnectMin: flags.reconnectMin,
    reconnectMax: flags.reconnectMax,
    logLevel: flags.logLevel,
  });
  const envCfg = configFromEnv(env);
  const merged = { ...file, ...envCfg, ...fromFlags };
  if (merged['labels'] !== undefined && file['labels'] !== undefined && (envCfg['labels'] !== undefined || fromFlags['labels'] !== undefined)) {
    merged['labels'] = { ...(file['labels'] as object), ...((envCfg['labels'] as object) ?? {}), ...((fromFlags['labels'] as object) ?? {}) };
  }
  const cfg = validateConfig(AgentConfigSchema, merged, flags.config ?? 'agent config');
  const problems: string[] = [];
  if (needCollector && cfg.collector === undefined) problems.push('no collector: give --collector ws://HOST:PORT or set TCPFLEET_COLLECTOR');
  if (cfg.token !== undefined && cfg.tokenFile !== undefined) problems.push('give either a token or a token file, not both');
  if (cfg.reconnectMax < cfg.reconnectMin) problems.push('reconnectMax must not be below reconnectMin');
  if (problems.length > 0) throw new ConfigError(problems);
  let tokenValue: string | null = cfg.token ?? null;
  if (cfg.tokenFile !== undefined) tokenValue = readTokenFile(cfg.tokenFile, warn);
  if (needCollector && tokenValue === null) throw new ConfigError(['no token: give --token-file FILE (or TCPFLEET_TOKEN)']);
  const { token: _omit, ...rest } = cfg;
  return deepFreeze({ ...rest, tokenValue });
}

/** Reads a token file; warns when others may read it (it should be mode 0600). */
export function readTokenFile(path: string, warn: (msg: string) => void): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) warn(`token file ${path} has mode ${mode.toString(8)}: others can read it; chmod 600 it`);
  } catch (err) {
    throw new ConfigError([`token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  if (text === '') throw new ConfigError([`token file ${path} is empty`]);
  return text;
}
