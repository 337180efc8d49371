/**
 * `tcpfleet serve`'s flags, declared once: name, the ServeFlags key it sets, help text and the
 * environment variable shown. The `(default X)` in --help is read from ServeConfigSchema's
 * defaults (config.ts, the one place they live), passed in so that this file does not load zod.
 */
import { optionHelp } from '@tcpfleet/common/light';
import type { ServeFlags } from '../config.js';

export interface ServeOption {
  name: string;
  key: keyof ServeFlags;
  type: 'string' | 'boolean';
  describe: string;
  /** --help shows the schema's default of `key`. */
  showDefault?: boolean;
  /** Said after the default inside its parentheses. */
  note?: string;
  /** The environment variable, as --help shows it. */
  env?: string;
}

export const SERVE_OPTIONS: readonly ServeOption[] = [
  { name: 'listen', key: 'listen', type: 'string', describe: 'HOST:PORT to listen on', showDefault: true, env: 'TCPFLEET_LISTEN' },
  {
    name: 'db',
    key: 'db',
    type: 'string',
    describe: 'SQLite database file, or postgres://USER@HOST:PORT/DB (password in PGPASSWORD or TCPFLEET_DB_PASSWORD_FILE; docs/storage.md)',
    showDefault: true,
    env: 'TCPFLEET_DB',
  },
  { name: 'token', key: 'token', type: 'string', describe: 'Shared fleet token (visible in ps; prefer --token-file)', env: 'TCPFLEET_TOKEN' },
  { name: 'token-file', key: 'tokenFile', type: 'string', describe: 'File holding the shared fleet token', env: 'TCPFLEET_TOKEN_FILE' },
  { name: 'durability', key: 'durability', type: 'string', describe: 'full (default: acknowledged = survives power loss) or normal (faster; last commits at risk on power loss)' },
  { name: 'write-thread', key: 'writeThread', type: 'string', describe: 'on (default): SQLite writes on their own thread, off: on the event loop' },
  { name: 'tls-cert', key: 'tlsCert', type: 'string', describe: 'TLS certificate (PEM): serve wss:// and https://' },
  { name: 'tls-key', key: 'tlsKey', type: 'string', describe: 'TLS private key (PEM)' },
  { name: 'rules', key: 'rules', type: 'string', describe: 'Alert rules file (YAML); reloaded on SIGHUP', env: 'TCPFLEET_RULES' },
  { name: 'heartbeat', key: 'heartbeat', type: 'string', describe: 'Ping interval to agents', showDefault: true },
  { name: 'retention', key: 'retention', type: 'string', describe: 'How long raw snapshots are kept', showDefault: true },
  { name: 'stop-timeout', key: 'stopTimeout', type: 'string', describe: 'On SIGTERM/SIGINT, exit (code 1, naming what it waited for) if stopping takes longer', showDefault: true },
  { name: 'max-hosts', key: 'maxHosts', type: 'string', describe: 'Most hosts kept; a new host beyond it is refused (close 4008)', showDefault: true },
  { name: 'forget-after', key: 'forgetAfter', type: 'string', describe: 'Forget hosts silent for longer: latest row removed, history kept until --retention', showDefault: true, note: '0s: never' },
  {
    name: 'max-pending-per-address',
    key: 'maxPendingPerAddress',
    type: 'string',
    describe: 'Connections from one address that have not said hello yet, beyond which its new ones get 429',
    showDefault: true,
  },
  { name: 'config', key: 'config', type: 'string', describe: 'JSON config file; env and flags override it' },
  { name: 'log-level', key: 'logLevel', type: 'string', describe: 'fatal|error|warn|info|debug|trace|silent', showDefault: true, env: 'TCPFLEET_LOG_LEVEL' },
  {
    name: 'read-token',
    key: 'readToken',
    type: 'string',
    describe: 'Token readers must send to the API, /metrics and the dashboard (visible in ps; prefer --read-token-file)',
    env: 'TCPFLEET_READ_TOKEN',
  },
  { name: 'read-token-file', key: 'readTokenFile', type: 'string', describe: 'File of read tokens, one a line', env: 'TCPFLEET_READ_TOKEN_FILE' },
  { name: 'public-read', key: 'publicRead', type: 'boolean', describe: 'Let anyone who reaches a non-loopback --listen read without a token', env: 'TCPFLEET_PUBLIC_READ=1' },
  {
    name: 'public-url',
    key: 'publicUrl',
    type: 'string',
    describe: 'URL(s), comma-separated, by which browsers and clients reach this collector; their host names are accepted in the Host header',
    env: 'TCPFLEET_PUBLIC_URL',
  },
];

/** The yargs options of `serve`, their help showing `defaults` (ServeConfigSchema.parse({})). */
export function serveYargsOptions(defaults: Readonly<Record<string, unknown>>): Record<string, { type: 'string' | 'boolean'; describe: string }> {
  return Object.fromEntries(SERVE_OPTIONS.map((o) => [o.name, { type: o.type, describe: optionHelp({ ...o, value: o.showDefault === true ? defaults[o.key] : undefined }) }]));
}

/** ServeFlags from yargs's argv (a flag not given stays undefined; --public-read gives 'true'; a repeated flag's array is passed on for the schema to refuse). */
export function serveFlagsFrom(get: (name: string) => unknown): ServeFlags {
  const flags: ServeFlags = {};
  for (const o of SERVE_OPTIONS) {
    const v = get(o.name);
    if (o.type === 'boolean') flags[o.key] = v === true ? 'true' : undefined;
    else flags[o.key] = v as string | undefined;
  }
  return flags;
}
