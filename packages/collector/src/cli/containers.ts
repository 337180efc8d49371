/**
 * `tcpfleet containers`, the table of `top --by container`, and `history --netns/--container`'s
 * choice of series (issue 10). The numbers are the agents' namespace entries (docs/namespaces.md).
 */
import { TcpfleetError, parseSelector, printable, totalOfStates } from '@tcpfleet/common/light';
import type { StateCounts, TcpStateName } from '@tcpfleet/common/light';
// Types only (erased): the CLI still loads only @tcpfleet/common/light.
import type { ContainerIdentity } from '@tcpfleet/common';
import { getJson } from './client.js';
import { table } from './format.js';
import { checkState } from './query-args.js';
import type { QueryOpts } from './query-args.js';

/** An entry of /api/v1/containers. */
interface ContainerRowDoc {
  host: string;
  netns: number;
  pid: number;
  container: ContainerIdentity | null;
  states: StateCounts;
  collect: { states_age_ms: number; states_unchanged: boolean };
}

/** A row of /api/v1/top?by=container. */
export interface TopContainerDoc {
  host: string;
  netns: number;
  container: ContainerIdentity | null;
  value: number;
}

const out = (s: string): void => void process.stdout.write(s);

/** How a namespace's holder is shown: namespace/pod/container for a pod, else the container name or short id; '-' for none. */
export function containerLabel(c: ContainerIdentity | null): string {
  if (c === null) return '-';
  if (c.pod !== undefined) return printable(`${c.namespace ?? '?'}/${c.pod}${c.name === undefined ? '' : `/${c.name}`}`);
  return printable(c.name ?? c.id.slice(0, 12));
}

/** How old the per-state counts were when the snapshot was taken: `0s`, or `40s` (`40s=` when proven unchanged). */
function age(c: ContainerRowDoc['collect']): string {
  const s = Math.round(c.states_age_ms / 1000);
  return s === 0 ? '0s' : `${s}s${c.states_unchanged ? '=' : ''}`;
}

export async function containersCmd(o: QueryOpts & { host?: string | undefined; state?: string | undefined; selector?: string | undefined }): Promise<void> {
  const state = checkState(o.state);
  const q = new URLSearchParams();
  if (o.host !== undefined) q.set('host', o.host);
  if (state !== null) q.set('state', state);
  if (o.selector !== undefined) {
    parseSelector(o.selector); // a bad selector: one line naming the position, before asking the collector
    q.set('selector', o.selector);
  }
  const qs = q.toString();
  const rows = await getJson<ContainerRowDoc[]>(o.url, `api/v1/containers${qs === '' ? '' : `?${qs}`}`, undefined, o.readToken);
  if (o.json) return out(JSON.stringify(rows, null, 2) + '\n');
  if (rows.length === 0) return out('no namespaces reported by live hosts (agents run with --namespaces report them)\n');
  const counts = (s: StateCounts): (string | number)[] => (state !== null ? [s[state], totalOfStates(s)] : [s.established, s.time_wait, s.close_wait, s.listen, totalOfStates(s)]);
  const head = state !== null ? [state.toUpperCase(), 'ALL'] : ['ESTAB', 'TIME_WAIT', 'CLOSE_WAIT', 'LISTEN', 'ALL'];
  out(
    table(
      ['HOST', 'NETNS', 'RUNTIME', 'CONTAINER', ...head, 'AGE'],
      rows.map((r) => [printable(r.host), r.netns, r.container?.runtime ?? '-', containerLabel(r.container), ...counts(r.states), age(r.collect)]),
    ),
  );
}

/** The table of `top --by container`. */
export function formatTopContainers(rows: readonly TopContainerDoc[], state: TcpStateName): string {
  if (rows.length === 0) return 'no namespaces reported by live hosts\n';
  return table(
    ['RANK', 'HOST', 'NETNS', 'RUNTIME', 'CONTAINER', state.toUpperCase()],
    rows.map((r, i) => [i + 1, printable(r.host), r.netns, r.container?.runtime ?? '-', containerLabel(r.container), r.value]),
  );
}

/** A series as /api/v1/hosts/:id/netns lists it. */
interface SeriesDoc {
  netns: number;
  container: ContainerIdentity | null;
}

/**
 * The namespace `history` walks: --netns as given, or the one whose container id (or one of its
 * other containers' ids) is --container or starts with it (one namespace only); undefined: the
 * host's own history.
 */
export async function seriesOf(o: QueryOpts & { id: string; netns?: number | undefined; container?: string | undefined }): Promise<number | undefined> {
  if (o.netns !== undefined && o.container !== undefined) throw new TcpfleetError('TCPFLEET_ERR_USAGE', '--netns and --container name the same thing: give one');
  if (o.netns !== undefined) {
    if (!Number.isSafeInteger(o.netns) || o.netns < 0) throw new TcpfleetError('TCPFLEET_ERR_USAGE', '--netns must be a namespace inode number (tcpfleet containers shows them)');
    return o.netns;
  }
  if (o.container === undefined) return undefined;
  const want = o.container.toLowerCase();
  if (!/^[0-9a-f]{1,128}$/.test(want))
    throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--container ${JSON.stringify(printable(o.container))} is not a container id (hex digits, or the first few of them)`);
  const series = await getJson<SeriesDoc[]>(o.url, `api/v1/hosts/${encodeURIComponent(o.id)}/netns`, undefined, o.readToken);
  const ids = (s: SeriesDoc): string[] => (s.container === null ? [] : [s.container.id, ...(s.container.other_ids ?? [])]);
  const exact = series.filter((s) => ids(s).includes(want));
  const found = exact.length > 0 ? exact : series.filter((s) => ids(s).some((id) => id.startsWith(want)));
  if (found.length === 1) return found[0]!.netns;
  if (found.length === 0) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no namespace of ${printable(o.id)} held by a container ${want}`);
  throw new TcpfleetError(
    'TCPFLEET_ERR_USAGE',
    `--container ${want} matches ${found.length} namespaces of ${printable(o.id)} (${found.map((s) => `${s.netns} ${s.container?.id.slice(0, 16) ?? ''}`).join(', ')}): give more of the id, or --netns`,
  );
}
