/**
 * The query commands: hosts, total, host, history, top. Each prints a table, or with --json the
 * document scripts rely on (docs/api.md).
 */
import { TcpfleetError, formatSsTcpLine, parseDuration, parseGroupLabel, parseSelector, parseTopBy, printable, totalOfStates } from '@tcpfleet/common/light';
import type { SsSummary, StateCounts } from '@tcpfleet/common/light';
import { getJson } from './client.js';
import { walkHistory } from './history-walk.js';
import { UNSET, ago, formatGroups, formatHosts, formatStates, formatTotal, labelText, table } from './format.js';
import type { GroupsDoc } from './format.js';
import type { CompactHost } from '../api/compact-host.js';
import type { TopContainerDoc } from './containers.js';
import { checkState } from './query-args.js';
import type { QueryOpts } from './query-args.js';

export { checkState };
export type { QueryOpts };

const out = (s: string): void => void process.stdout.write(s);
const printJson = (v: unknown): void => out(JSON.stringify(v, null, 2) + '\n');

interface HostDoc {
  host: string;
  ts: number;
  seq: number;
  boot: string;
  labels: Record<string, string>;
  states: StateCounts;
  ipv4: StateCounts;
  ipv6: StateCounts;
  summary: SsSummary;
  recv_ts: number;
  stale: boolean;
  collect: { ms: number; errors: string[]; states_age_ms: number };
  breakdown?: {
    inbound: { port: number; states: StateCounts }[];
    outbound: { addr: string; port: number; states: StateCounts }[];
    other: { inbound: StateCounts; outbound: StateCounts };
  };
  gaps?: { boot: string; from_seq: number; to_seq: number; count: number; recv_ts: number }[];
}

const enc = encodeURIComponent;

/** A query string from the parameters that are set (undefined, null and false left out). */
function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k, v]) => `${k}=${v === true ? '1' : enc(String(v))}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** Checks -l/--selector here (one line naming the position, exit 2), before asking the collector. */
function checkSelector(selector: string | undefined): string | undefined {
  if (selector === undefined) return undefined;
  parseSelector(selector);
  return selector;
}

/** Checks a whole-number flag within [min, max]. */
function checkWhole(flag: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--${flag} must be a whole number from ${min} to ${max}`);
  return v;
}

export async function hostsCmd(o: QueryOpts & { selector?: string | undefined; limit?: number | undefined; offset: number; compact: boolean }): Promise<void> {
  const params = {
    selector: checkSelector(o.selector),
    limit: checkWhole('limit', o.limit, 1, Number.MAX_SAFE_INTEGER),
    offset: checkWhole('offset', o.offset, 0, Number.MAX_SAFE_INTEGER) || undefined,
    // The table needs no more than the compact form: a tenth of the bytes at scale.
    compact: o.compact || !o.json,
  };
  const hosts = await getJson<HostDoc[] | CompactHost[]>(o.url, `api/v1/hosts${qs(params)}`, undefined, o.readToken);
  if (o.json) return printJson(hosts);
  out(formatHosts(hosts, Date.now()));
}

export async function totalCmd(o: QueryOpts & { state?: string | undefined; selector?: string | undefined; by?: string | undefined }): Promise<void> {
  const state = checkState(o.state);
  const params = { state, selector: checkSelector(o.selector), by: o.by === undefined ? undefined : parseGroupLabel(o.by) };
  if (params.by !== undefined) {
    const g = await getJson<GroupsDoc>(o.url, `api/v1/total${qs(params)}`, undefined, o.readToken);
    return o.json ? printJson(g) : out(formatGroups(g, state));
  }
  const t = await getJson<{ hosts: number; stale: number; states: StateCounts; summary: SsSummary; namespaces?: { count: number; states: StateCounts } }>(
    o.url,
    `api/v1/total${qs(params)}`,
    undefined,
    o.readToken,
  );
  if (o.json) printJson(t);
  else out(formatTotal(t, state));
}

export async function hostCmd(o: QueryOpts & { id: string }): Promise<void> {
  const h = await getJson<HostDoc>(o.url, `api/v1/hosts/${enc(o.id)}`, undefined, o.readToken);
  if (o.json) return printJson(h);
  const now = Date.now();
  out(`host ${printable(h.host)}  ${h.stale ? 'STALE' : 'live'}  last seen ${ago(h.recv_ts, now)}  seq ${h.seq}  labels ${printable(labelText(h.labels)) || '-'}\n`);
  if (h.collect.states_age_ms > 0) out(`per-state counts are ${Math.round(h.collect.states_age_ms / 1000)} s old (cost-adaptive sampling)\n`);
  out(`\n${formatSsTcpLine(h.summary)}\n\n${formatStates(h)}`);
  const b = h.breakdown;
  if (b !== undefined) {
    out('\nINBOUND (by local listening port)\n');
    const inRows = b.inbound.map((e) => [e.port, totalOfStates(e.states), e.states.established, e.states.time_wait, e.states.close_wait, e.states.syn_recv] as (string | number)[]);
    inRows.push(['other', totalOfStates(b.other.inbound), b.other.inbound.established, b.other.inbound.time_wait, b.other.inbound.close_wait, b.other.inbound.syn_recv]);
    out(table(['PORT', 'TOTAL', 'ESTAB', 'TIME_WAIT', 'CLOSE_WAIT', 'SYN_RECV'], inRows));
    out('\nOUTBOUND (by remote address and port)\n');
    const outRows = b.outbound.map((e) => [`${e.addr}:${e.port}`, totalOfStates(e.states), e.states.established, e.states.time_wait, e.states.close_wait, e.states.syn_sent] as (string | number)[]);
    outRows.push(['other', totalOfStates(b.other.outbound), b.other.outbound.established, b.other.outbound.time_wait, b.other.outbound.close_wait, b.other.outbound.syn_sent]);
    out(table(['PEER', 'TOTAL', 'ESTAB', 'TIME_WAIT', 'CLOSE_WAIT', 'SYN_SENT'], outRows));
  }
  if (h.gaps !== undefined && h.gaps.length > 0) {
    out('\nGAPS (snapshots the agent had to drop)\n');
    out(
      table(
        ['BOOT', 'FROM_SEQ', 'TO_SEQ', 'COUNT', 'DECLARED'],
        h.gaps.map((g) => [g.boot.slice(0, 8), g.from_seq, g.to_seq, g.count, new Date(g.recv_ts).toISOString()]),
      ),
    );
  }
  if (h.collect.errors.length > 0) out(`\nagent reported: ${h.collect.errors.map(printable).join('; ')}\n`);
}

/** Parses --since: a duration back from now (1h) or an ISO date. */
export function parseSince(since: string, now: number): number {
  const d = parseDuration(since);
  if (d !== null) return now - d;
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--since ${JSON.stringify(printable(since))} is neither a duration (30m, 1h, 2d) nor a date (2026-11-25T10:00:00Z)`);
  return t;
}

/** Rows `tcpfleet history` shows by default (its --limit). */
export const HISTORY_MAX_ROWS = 100_000;

export async function historyCmd(
  o: QueryOpts & { id: string; since: string; state?: string | undefined; limit?: number | undefined; netns?: number | undefined; container?: string | undefined },
): Promise<void> {
  const state = checkState(o.state);
  const max = o.limit ?? HISTORY_MAX_ROWS;
  if (!Number.isInteger(max) || max < 1 || max > 10_000_000) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--limit must be a whole number from 1 to 10000000`);
  const since = parseSince(o.since, Date.now());
  const netns = await (await import('./containers.js')).seriesOf(o);
  const what = netns === undefined ? printable(o.id) : `${printable(o.id)} netns ${netns}`;
  // --json: printed page by page, the same text as JSON.stringify(rows, null, 2).
  let n = 0;
  const lines: (string | number)[][] = [];
  const onRows = (rows: HostDoc[]): void => {
    for (const r of rows) {
      if (o.json) out(`${n++ === 0 ? '[\n' : ',\n'}  ${JSON.stringify(r, null, 2).replace(/\n/g, '\n  ')}`);
      else {
        const t = new Date(r.ts).toISOString();
        lines.push(state !== null ? [t, r.states[state]] : [t, r.states.established, r.states.syn_recv, r.states.time_wait, r.states.close_wait, r.states.listen, r.summary.total, r.summary.estab]);
      }
    }
  };
  await walkHistory<HostDoc>(o.url, o.id, since, max, o.readToken, onRows, netns);
  if (o.json) return out(n === 0 ? '[]\n' : '\n]\n');
  if (lines.length === 0) return out(`no snapshots of ${what} since ${new Date(since).toISOString()}\n`);
  if (state !== null) return out(table(['TIME', state.toUpperCase()], lines));
  out(table(['TIME', 'ESTAB', 'SYN_RECV', 'TIME_WAIT', 'CLOSE_WAIT', 'LISTEN', 'SS_TOTAL', 'SS_ESTAB'], lines));
}

export async function topCmd(o: QueryOpts & { state?: string | undefined; limit: number; by: string; selector?: string | undefined }): Promise<void> {
  const state = checkState(o.state) ?? 'established';
  if (!Number.isInteger(o.limit) || o.limit < 1 || o.limit > 10_000) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--limit must be a whole number from 1 to 10000`);
  const by = parseTopBy(o.by);
  const rows = await getJson<{ host?: string; addr?: string; port?: number; value: number; hosts?: number; labels?: Record<string, string>; label_value?: string | null }[]>(
    o.url,
    `api/v1/top${qs({ state, limit: o.limit, by: o.by, selector: checkSelector(o.selector) })}`,
    undefined,
    o.readToken,
  );
  if (o.json) return printJson(rows);
  if (o.by === 'container') return out((await import('./containers.js')).formatTopContainers(rows as unknown as TopContainerDoc[], state));
  if (rows.length === 0) return out('no live hosts\n');
  const col = state.toUpperCase();
  if (by.kind === 'label')
    out(
      table(
        ['RANK', by.label.toUpperCase(), col, 'HOSTS'],
        rows.map((r, i) => [i + 1, r.label_value ?? UNSET, r.value, r.hosts ?? 0]),
      ),
    );
  else if (by.kind === 'host')
    out(
      table(
        ['RANK', 'HOST', col, 'LABELS'],
        rows.map((r, i) => [i + 1, r.host ?? '', r.value, labelText(r.labels ?? {})]),
      ),
    );
  else if (by.kind === 'port')
    out(
      table(
        ['RANK', 'PORT', col, 'HOSTS'],
        rows.map((r, i) => [i + 1, r.port ?? 0, r.value, r.hosts ?? 0]),
      ),
    );
  else
    out(
      table(
        ['RANK', 'PEER', col, 'HOSTS'],
        rows.map((r, i) => [i + 1, `${r.addr ?? ''}:${r.port ?? 0}`, r.value, r.hosts ?? 0]),
      ),
    );
}
