/**
 * The query commands' flags, declared once: for each of hosts, total, host, history and top, its
 * flags with their type, help text and default. Both parsers are derived from this table: the
 * fast path (fast-path.ts) and the yargs definition in main.ts (for help and usage errors), so
 * they cannot disagree about which flags exist or what they default to. Running a parsed query
 * (`runQuery`) is shared by both.
 */
import { collectorUrl } from './collector-url.js';
import { HISTORY_MAX_ROWS } from './query.js';

/** Where the query commands look when neither --url nor TCPFLEET_URL says. */
export const DEFAULT_URL = 'http://127.0.0.1:7070';

export interface QueryOption {
  type: 'string' | 'number' | 'boolean';
  describe: string;
  default?: string | number | boolean;
  /** A one-letter short form (-l). */
  alias?: string;
}

const STATES = 'established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, close_wait, last_ack, listen, closing, new_syn_recv';
/** Flags the query commands share; also used by watch and alerts in main.ts. */
export const urlOption = { type: 'string', describe: `Collector URL [env TCPFLEET_URL] (default ${DEFAULT_URL})` } as const satisfies QueryOption;
export const jsonOption = { type: 'boolean', default: false, describe: 'Print JSON for scripts' } as const satisfies QueryOption;
export const stateOption = { type: 'string', describe: `A state: ${STATES}` } as const satisfies QueryOption;
export const selectorOption = {
  type: 'string',
  alias: 'l',
  describe: 'Only hosts whose labels match this selector: k=v, k!=v, k in (a,b), k notin (a,b), k, !k, comma = and (docs/selectors.md)',
} as const satisfies QueryOption;
export const readOptions = {
  'read-token': { type: 'string', describe: 'Read token to send (visible in ps; prefer --read-token-file) [env TCPFLEET_READ_TOKEN]' },
  'read-token-file': { type: 'string', describe: 'File whose first line is the read token to send [env TCPFLEET_READ_TOKEN_FILE]' },
} as const satisfies Record<string, QueryOption>;
const url = urlOption;
const json = jsonOption;
const state = stateOption;
const read = readOptions;
const selector = selectorOption;

export type QueryCommand = 'hosts' | 'total' | 'host' | 'history' | 'top' | 'containers';

/** Each query command: whether it takes a host id, and its flags by name. */
export const QUERY_OPTIONS: Record<QueryCommand, { positional: boolean; options: Record<string, QueryOption> }> = {
  hosts: {
    positional: false,
    options: {
      url,
      json,
      selector,
      limit: { type: 'number', describe: 'Hosts at most, in name order (default: all)' },
      offset: { type: 'number', default: 0, describe: 'Hosts to skip first, in name order' },
      compact: { type: 'boolean', default: false, describe: 'With --json: each host without breakdown, kernel counters or zero states (the table always asks for this form)' },
      ...read,
    },
  },
  total: {
    positional: false,
    options: {
      url,
      json,
      state,
      selector,
      by: { type: 'string', describe: 'Group by this label: one row per value (hosts without it: null), largest first by established (by --state when given)' },
      ...read,
    },
  },
  host: { positional: true, options: { url, json, ...read } },
  history: {
    positional: true,
    options: {
      url,
      json,
      state,
      since: { type: 'string', default: '1h', describe: 'How far back: a duration (30m, 1h, 2d) or a date' },
      limit: { type: 'number', default: HISTORY_MAX_ROWS, describe: 'Rows at most (fetched in pages of 10,000)' },
      netns: { type: 'number', describe: "One network namespace's history instead of the host's own: its inode number (tcpfleet containers shows it)" },
      container: { type: 'string', describe: 'Like --netns, the namespace of this container id (or a unique prefix of it)' },
      ...read,
    },
  },
  top: {
    positional: false,
    options: {
      url,
      json,
      state: { ...state, default: 'established' },
      limit: { type: 'number', default: 10, describe: 'Rows to show' },
      by: {
        type: 'string',
        default: 'host',
        describe: 'host, port (local listening port), peer (remote address:port), container (network namespaces of containers) or label:LABEL (the values of a label)',
      },
      selector,
      ...read,
    },
  },
  containers: {
    positional: false,
    options: {
      url,
      json,
      host: { type: 'string', describe: "Only this host's namespaces" },
      state: { ...state, describe: `Show this state's count and rank by it: ${STATES}` },
      selector,
      ...read,
    },
  },
};

export const isQueryCommand = (cmd: string | undefined): cmd is QueryCommand => cmd !== undefined && Object.hasOwn(QUERY_OPTIONS, cmd);

/** A parsed query command line: the host id (or '') and every flag's value, defaults applied. */
export interface QueryArgs {
  id: string;
  values: Record<string, string | number | boolean | undefined>;
}

/** A command's flags as yargs options. */
export function queryYargsOptions(cmd: QueryCommand): Record<string, QueryOption> {
  return { ...QUERY_OPTIONS[cmd].options };
}

/** QueryArgs from values by flag name (yargs's argv, or the fast path's), with the table's defaults. */
export function queryArgsFrom(cmd: QueryCommand, id: string | undefined, get: (name: string) => unknown): QueryArgs {
  const values: QueryArgs['values'] = {};
  for (const [name, o] of Object.entries(QUERY_OPTIONS[cmd].options)) {
    const v = get(name);
    values[name] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : o.default;
  }
  return { id: id ?? '', values };
}

/** Runs a parsed query command. */
export async function runQuery(cmd: QueryCommand, a: QueryArgs, env: NodeJS.ProcessEnv, defaultUrl: string = DEFAULT_URL): Promise<void> {
  const v = a.values;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const num = (k: string): number | undefined => (typeof v[k] === 'number' ? v[k] : undefined);
  const readToken = (await import('./read-token.js')).cliReadToken({ readToken: str('read-token'), readTokenFile: str('read-token-file') }, env);
  const base = { url: collectorUrl(str('url'), env, defaultUrl), json: v['json'] === true, readToken };
  const q = await import('./query.js');
  const selector = str('selector');
  switch (cmd) {
    case 'hosts':
      return q.hostsCmd({ ...base, selector, limit: num('limit'), offset: num('offset') ?? 0, compact: v['compact'] === true });
    case 'total':
      return q.totalCmd({ ...base, state: str('state'), selector, by: str('by') });
    case 'host':
      return q.hostCmd({ ...base, id: a.id });
    case 'history':
      return q.historyCmd({ ...base, id: a.id, since: str('since') ?? '', state: str('state'), limit: num('limit'), netns: num('netns'), container: str('container') });
    case 'top':
      return q.topCmd({ ...base, state: str('state'), limit: num('limit') ?? NaN, by: str('by') ?? '', selector });
    case 'containers':
      return (await import('./containers.js')).containersCmd({ ...base, host: str('host'), state: str('state'), selector });
  }
}
