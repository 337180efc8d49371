/**
 * Agent configuration: one hand-written schema with the defaults (util/check.ts in common: the
 * same rules and messages a zod schema would give, without loading zod), merged from (lowest
 * first) defaults, a JSON config file (--config), environment variables (TCPFLEET_*) and flags;
 * validated once, then frozen.
 */
import { hostname } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import {
  BREAKDOWN_MAX_TOP,
  ConfigError,
  NAMESPACE_WIRE_LIMITS,
  bool,
  checkHostId,
  checkLabels,
  deepFreeze,
  defined,
  num,
  object,
  oneOf,
  parseLabels,
  readConfigFile,
  SettingSources,
  str,
} from '@tcpfleet/common/agent';
import type { Check, Issue } from '@tcpfleet/common/agent';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The validated settings, before the token file is read. */
export interface AgentSettings {
  /** The collectors, in the order given (one or more; the uplink fails over between them). */
  collector?: string[] | undefined;
  token?: string | undefined;
  tokenFile?: string | undefined;
  hostId: string;
  labels: Record<string, string>;
  interval: number;
  procfs: string;
  top: number;
  queue: number;
  spoolDir?: string | undefined;
  spoolBytes: number;
  ca?: string | undefined;
  walkBudget: number;
  namespaces: boolean;
  maxNamespaces: number;
  /** With --namespaces: where per-state counts come from (auto: netlink sock_diag when it works, else /proc). */
  walkSource: (typeof WALK_SOURCES)[number];
  kubeLogDir: string;
  dockerDir: string;
  reconnectMin: number;
  reconnectMax: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** --walk-source values: auto (netlink when the addon loads and CAP_SYS_ADMIN is held, else /proc), netlink, proc. */
export const WALK_SOURCES = ['auto', 'netlink', 'proc'] as const;

/** Most collectors one agent may be given. */
export const MAX_COLLECTORS = 16;
const COLLECTOR_URL = /^wss?:\/\/[^\s/]+(\/\S*)?$/;
const NOT_A_URL = 'a ws:// or wss:// URL such as ws://collector:7070';

/**
 * The `collector` setting: one URL, several separated by commas (flag, variable, config file), or
 * an array of URLs (config file). Each problem names the URL it is about; the output is the list.
 */
function collectorList(): Check<string[]> {
  return (v, path, issues) => {
    const isList = Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (typeof v !== 'string' && !isList) {
      issues.push({ path, message: 'Invalid input: expected a ws:// URL, several separated by commas, or an array of them' });
      return [];
    }
    const urls = typeof v === 'string' ? v.split(',').map((u) => u.trim()) : v;
    if (urls.length > MAX_COLLECTORS) {
      issues.push({ path, message: `at most ${MAX_COLLECTORS} collectors (got ${urls.length})` });
      return urls;
    }
    const seen = new Set<string>();
    urls.forEach((u, i) => {
      // In an array each URL has its own path (collector.1); in a comma list the message names it.
      const at = typeof v === 'string' ? path : [...path, i];
      const which = typeof v !== 'string' ? `${JSON.stringify(u)}: ` : urls.length > 1 ? `collector ${i + 1} of ${urls.length}, ${JSON.stringify(u)}: ` : '';
      if (!COLLECTOR_URL.test(u)) issues.push({ path: at, message: which === '' ? NOT_A_URL : `${which}not ${NOT_A_URL}` });
      else if (seen.has(u)) issues.push({ path: at, message: `${which === '' ? `${JSON.stringify(u)}: ` : which}listed twice` });
      seen.add(u);
    });
    return urls;
  };
}

/** Every key, its rule and its default, in the order problems are listed. Unknown keys are refused. */
export const checkAgentSettings = object<AgentSettings>(
  {
    collector: { check: collectorList(), optional: true },
    token: { check: str({ min: 1, max: 4096 }), optional: true },
    tokenFile: { check: str({ min: 1 }), optional: true },
    hostId: { check: checkHostId, default: hostname },
    labels: { check: checkLabels, default: () => ({}) },
    interval: { check: num({ min: [0.1, 'at least 0.1 seconds'], max: 86400 }), default: () => 10 },
    procfs: { check: str({ min: 1 }), default: () => '/proc' },
    top: { check: num({ int: true, min: 0, max: [BREAKDOWN_MAX_TOP, `at most ${BREAKDOWN_MAX_TOP}`] }), default: () => 10 },
    queue: { check: num({ int: true, min: 1, max: 1_000_000 }), default: () => 1000 },
    spoolDir: { check: str({ min: 1 }), optional: true },
    spoolBytes: { check: num({ int: true, min: 4096 }), default: () => 64 * 1024 * 1024 },
    ca: { check: str({ min: 1 }), optional: true },
    walkBudget: { check: num({ min: 0, max: 1 }), default: () => 0.01 },
    namespaces: { check: bool(), default: () => false },
    maxNamespaces: { check: num({ int: true, min: 1, max: NAMESPACE_WIRE_LIMITS.entries }), default: () => 512 },
    walkSource: { check: oneOf(WALK_SOURCES), default: () => 'auto' as const },
    kubeLogDir: { check: str({ min: 1 }), default: () => '/var/log/containers' },
    dockerDir: { check: str({ min: 1 }), default: () => '/var/lib/docker' },
    reconnectMin: { check: num({ min: 0.01 }), default: () => 0.5 },
    reconnectMax: { check: num({ min: 0.05 }), default: () => 30 },
    logLevel: { check: oneOf(LOG_LEVELS), default: () => 'info' as const },
  },
  true,
);

export type AgentConfig = Readonly<AgentSettings & { tokenValue: string | null }>;

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
  namespaces?: boolean | undefined;
  maxNamespaces?: number | undefined;
  walkSource?: string | undefined;
  kubeLogDir?: string | undefined;
  dockerDir?: string | undefined;
  reconnectMin?: number | undefined;
  reconnectMax?: number | undefined;
  logLevel?: string | undefined;
}

const envNum = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
/** 1/true/yes and 0/false/no; anything else is passed on as text, for the check to refuse by name. */
const envBool = (v: string | undefined): boolean | string | undefined => {
  if (v === undefined || v === '') return undefined;
  const t = v.trim().toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes') return true;
  if (t === '0' || t === 'false' || t === 'no') return false;
  return v;
};

/** Environment variables the agent reads, by config key. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return defined({
    collector: env['TCPFLEET_COLLECTOR'],
    token: env['TCPFLEET_TOKEN'],
    tokenFile: env['TCPFLEET_TOKEN_FILE'],
    hostId: env['TCPFLEET_HOST_ID'],
    labels:
      env['TCPFLEET_LABELS'] === undefined
        ? undefined
        : parseLabels(
            env['TCPFLEET_LABELS'].split(',').filter((s) => s !== ''),
            'environment variable TCPFLEET_LABELS',
          ),
    interval: envNum(env['TCPFLEET_INTERVAL']),
    procfs: env['TCPFLEET_PROCFS'],
    namespaces: envBool(env['TCPFLEET_NAMESPACES']),
    walkSource: env['TCPFLEET_WALK_SOURCE'],
    spoolDir: env['TCPFLEET_SPOOL_DIR'],
    ca: env['TCPFLEET_CA'],
    logLevel: env['TCPFLEET_LOG_LEVEL'],
  });
}

/**
 * Builds the frozen agent config. `needCollector` is false for --once. Reads the token file and
 * returns its value separately, so the token itself is never part of what gets logged. Every
 * problem names its source: the flag, the environment variable or the config file and key.
 */
export function loadAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv, needCollector: boolean, warn: (msg: string) => void = () => {}): AgentConfig {
  const src = new SettingSources();
  if (flags.config !== undefined) src.file(readConfigFile(flags.config), flags.config, ['labels']);
  src.env(configFromEnv(env), env, ['labels']);
  src.flags(
    defined({
      collector: flags.collector,
      token: flags.token,
      tokenFile: flags.tokenFile,
      hostId: flags.hostId,
      labels: flags.label === undefined || flags.label.length === 0 ? undefined : parseLabels(flags.label, 'flag --label'),
      interval: flags.interval,
      procfs: flags.procfs,
      top: flags.top,
      queue: flags.queue,
      spoolDir: flags.spoolDir,
      spoolBytes: flags.spoolBytes,
      ca: flags.ca,
      walkBudget: flags.walkBudget,
      namespaces: flags.namespaces,
      maxNamespaces: flags.maxNamespaces,
      walkSource: flags.walkSource,
      kubeLogDir: flags.kubeLogDir,
      dockerDir: flags.dockerDir,
      reconnectMin: flags.reconnectMin,
      reconnectMax: flags.reconnectMax,
      logLevel: flags.logLevel,
    }),
    ['labels'],
  );
  const issues: Issue[] = [];
  const cfg = checkAgentSettings(src.merged, [], issues);
  const problems = src.problems(issues, checkAgentSettings.keys);
  if (problems.length === 0) {
    if (needCollector && (cfg.collector === undefined || cfg.collector.length === 0))
      problems.push('no collector: give --collector ws://HOST:PORT (or several, comma-separated), set TCPFLEET_COLLECTOR, or "collector" in a config file');
    if (cfg.token !== undefined && cfg.tokenFile !== undefined) problems.push(`${src.name(['token'])} and ${src.name(['tokenFile'])}: give a token or a token file, not both`);
    if (cfg.reconnectMax < cfg.reconnectMin)
      problems.push(`${src.name(['reconnectMax'])} (${cfg.reconnectMax}) is below ${src.name(['reconnectMin'])} (${cfg.reconnectMin}): the largest reconnect delay must be at least the smallest`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  let tokenValue: string | null = cfg.token ?? null;
  if (cfg.tokenFile !== undefined) tokenValue = readTokenFile(cfg.tokenFile, warn, src.name(['tokenFile']));
  if (needCollector && tokenValue === null) throw new ConfigError(['no token: give --token-file FILE, set TCPFLEET_TOKEN_FILE or TCPFLEET_TOKEN, or "tokenFile" in a config file']);
  const { token: _omit, ...rest } = cfg;
  return deepFreeze({ ...rest, tokenValue });
}

/** Reads a token file; warns when others may read it (it should be mode 0600). `where` names the setting that gave the path. */
export function readTokenFile(path: string, warn: (msg: string) => void, where = 'token file'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) warn(`token file ${path} has mode ${mode.toString(8)}: others can read it; chmod 600 it`);
  } catch (err) {
    throw new ConfigError([`${where}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a readable file holding the token`]);
  }
  if (text === '') throw new ConfigError([`${where}: ${path} is empty; put the token in it`]);
  return text;
}
