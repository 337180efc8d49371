/**
 * The agent's command line, declared once: every flag's name, type, where it goes, its
 * environment variable and its help text. The default shown in --help is read from the config
 * check's defaults (checkAgentSettings in config.ts, the one place defaults live). Both parsers
 * are derived from this table: the fast path (fast-argv.ts) and the yargs definition
 * (yargs-argv.ts, for help, version and usage errors), so they cannot disagree about which flags
 * exist.
 */
import { optionHelp } from '@tcpfleet/common/agent';
import { checkAgentSettings } from './config.js';
import type { AgentFlags, AgentSettings } from './config.js';

/** What main.ts needs from the command line. */
export interface AgentArgs {
  once: boolean;
  json: boolean;
  flags: AgentFlags;
}

export interface AgentOption {
  /** Command-line name, without `--`. */
  name: string;
  type: 'string' | 'number' | 'boolean' | 'strings';
  /** Where the value goes: an AgentFlags key, or `once`/`json` (modes, not settings). */
  to: keyof AgentFlags | 'once' | 'json';
  describe: string;
  /** The setting whose default --help shows. */
  setting?: keyof AgentSettings;
  /** How --help shows that default, when not as the plain value. */
  shown?: (value: unknown) => string;
  /** Said after the default inside its parentheses. */
  note?: string;
  /** The environment variable, as --help shows it. */
  env?: string;
}

const MIB = 1024 * 1024;

export const AGENT_OPTIONS: readonly AgentOption[] = [
  { name: 'once', type: 'boolean', to: 'once', describe: 'Take one snapshot, print it and exit' },
  { name: 'json', type: 'boolean', to: 'json', describe: 'With --once: print the snapshot as JSON' },
  {
    name: 'collector',
    type: 'string',
    to: 'collector',
    describe: 'Collector URL, ws://HOST:PORT or wss://HOST:PORT; several comma-separated: one at a time, the next on failure',
    env: 'TCPFLEET_COLLECTOR',
  },
  { name: 'token', type: 'string', to: 'token', describe: 'Token (visible in ps; prefer --token-file)', env: 'TCPFLEET_TOKEN' },
  { name: 'token-file', type: 'string', to: 'tokenFile', describe: 'File holding the token, mode 0600', env: 'TCPFLEET_TOKEN_FILE' },
  { name: 'host-id', type: 'string', to: 'hostId', describe: 'Name of this host in the fleet', setting: 'hostId', shown: () => 'hostname', env: 'TCPFLEET_HOST_ID' },
  { name: 'label', type: 'strings', to: 'label', describe: 'key=value label, repeatable', env: 'TCPFLEET_LABELS=k=v,k2=v2' },
  { name: 'interval', type: 'number', to: 'interval', describe: 'Seconds between snapshots', setting: 'interval', env: 'TCPFLEET_INTERVAL' },
  {
    name: 'procfs',
    type: 'string',
    to: 'procfs',
    describe: "procfs root: /proc, /proc/PID (that process's network namespace), /host/proc",
    setting: 'procfs',
    env: 'TCPFLEET_PROCFS',
  },
  { name: 'top', type: 'number', to: 'top', describe: 'Ports and peers kept in the breakdown, 0-100', setting: 'top' },
  { name: 'queue', type: 'number', to: 'queue', describe: 'Unacknowledged snapshots kept in memory', setting: 'queue' },
  { name: 'spool-dir', type: 'string', to: 'spoolDir', describe: 'Directory of the disk spool that survives restarts', env: 'TCPFLEET_SPOOL_DIR' },
  { name: 'spool-bytes', type: 'number', to: 'spoolBytes', describe: 'Size cap of the disk spool in bytes', setting: 'spoolBytes', shown: (v) => `${Number(v) / MIB} MiB` },
  { name: 'ca', type: 'string', to: 'ca', describe: "CA certificate (PEM) that signed the collector's certificate, for wss://", env: 'TCPFLEET_CA' },
  { name: 'reconnect-min', type: 'number', to: 'reconnectMin', describe: 'Smallest reconnect delay window in seconds', setting: 'reconnectMin' },
  { name: 'reconnect-max', type: 'number', to: 'reconnectMax', describe: 'Largest reconnect delay window in seconds', setting: 'reconnectMax' },
  { name: 'walk-budget', type: 'number', to: 'walkBudget', describe: 'Share of one core the tcp/tcp6 walk may use, 0-1', setting: 'walkBudget', note: '0 = walk every interval' },
  {
    name: 'namespaces',
    type: 'boolean',
    to: 'namespaces',
    describe: 'Also count every other network namespace (containers, pods), each with its container; needs root or CAP_SYS_PTRACE',
    env: 'TCPFLEET_NAMESPACES=1',
  },
  { name: 'max-namespaces', type: 'number', to: 'maxNamespaces', describe: 'With --namespaces: most namespaces reported, the rest counted as overflow', setting: 'maxNamespaces' },
  {
    name: 'walk-source',
    type: 'string',
    to: 'walkSource',
    describe: 'With --namespaces: per-state counts from auto|netlink|proc (netlink sock_diag needs CAP_SYS_ADMIN and the built addon; auto falls back to /proc)',
    setting: 'walkSource',
    env: 'TCPFLEET_WALK_SOURCE',
  },
  { name: 'kube-log-dir', type: 'string', to: 'kubeLogDir', describe: 'With --namespaces: Kubernetes container log links, for pod and container names', setting: 'kubeLogDir' },
  { name: 'docker-dir', type: 'string', to: 'dockerDir', describe: 'With --namespaces: Docker data directory, for container names', setting: 'dockerDir' },
  { name: 'config', type: 'string', to: 'config', describe: 'JSON config file (keys as in the docs); flags and env override it' },
  { name: 'log-level', type: 'string', to: 'logLevel', describe: 'fatal|error|warn|info|debug|trace|silent', setting: 'logLevel', env: 'TCPFLEET_LOG_LEVEL' },
];

/** The option of a command-line name. */
export const AGENT_OPTION = new Map(AGENT_OPTIONS.map((o) => [o.name, o]));

/** The defaults of every setting, from the config check itself. */
export function agentDefaults(): Partial<AgentSettings> {
  return checkAgentSettings({}, [], []);
}

/** The --help text of an option: its description, its default from the config check, its variable. */
export function helpText(o: AgentOption, defaults: Partial<AgentSettings>): string {
  return optionHelp({ ...o, value: o.setting === undefined ? undefined : defaults[o.setting] });
}

/** A parsed command line in the shape main.ts uses, from values by command-line name. */
export function agentArgsFrom(get: (name: string) => unknown): AgentArgs {
  const out: AgentArgs = { once: false, json: false, flags: {} };
  const flags = out.flags as Record<string, unknown>;
  for (const o of AGENT_OPTIONS) {
    const v = get(o.name);
    if (v === undefined) continue;
    if (o.to === 'once' || o.to === 'json') out[o.to] = v === true;
    else flags[o.to] = v;
  }
  return out;
}
