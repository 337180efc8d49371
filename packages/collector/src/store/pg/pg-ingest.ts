/**
 * The PostgreSQL ingest statement (PgStore.ingest): what one group commit writes, in one
 * statement over arrays, and how its answer is read back. The host rows, the snapshots, the
 * late-minute marks, the latest rows and the commit's sync_log line are data-modifying WITH parts
 * of one statement; the values and breakdowns travel as one binary parameter cut by offset; the
 * credentials can be checked inside it (the guard). The store owns the caches it reads
 * (IngestContext) and runs the statement (store/pg/pg-store.ts).
 */
import type { IngestRows } from '../ingest-rows.js';
import type { IngestOutcome, IngestRefusal, WriteAuth } from '../store.js';
import { BinArrays } from './pg-arrays.js';

/** What the statement reads of the store: its caches and settings. */
export interface IngestContext {
  readonly writer: string;
  readonly hostSeenStepMs: number;
  /** The host rows this collector last wrote. */
  readonly hostRows: ReadonlyMap<string, HostRowState>;
  readonly labelText: (labels: Record<string, string>) => string;
  /** Database layout ids by text, and the text of an encoder's layout id. */
  readonly layoutIds: ReadonlyMap<string, number>;
  readonly wireText: (id: number) => string;
  /** Boot ids by host, then boot. */
  readonly bootIds: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** The statement, its parameters, the taken rows' keys, the layout ids used and the host rows it rewrites. */
export interface IngestStatement {
  text: string;
  params: unknown[];
  col: RowKeys;
  dbLayout: Map<number, number>;
  wroteHosts: Map<string, HostRowState>;
}

/** The rows of a commit that go in (PgStore.#select), by their index in the commit's rows. */
export interface Selection {
  /** Indexes of the rows stored, in order. */
  take: number[];
  hostOfRow: string[];
  /** The last item of each host whose credential holds (its labels and interval go in the host row). */
  hostItem: Map<string, IngestRows['items'][number]>;
  /** Per item: why it is refused, or null. */
  refused: (IngestRefusal | null)[];
  /** Boots without an id here yet, by host. */
  missingBoots: Map<string, Set<string>>;
  /** The encoder's layout ids of the rows taken and of the namespace entries. */
  wireIds: Set<number>;
}

/** The taken rows' keys, in order (read again after the statement). */
export interface RowKeys {
  host: string[];
  boot: number[];
  seq: number[];
  ts: number[];
}

/** What this collector last wrote in a host's row. */
export interface HostRowState {
  labels: string;
  interval: number;
  seen: number;
}

/** A row of the ingest statement's answer: the first with the count stored and the guard, the others the rows stored. */
export interface IngestAnswer {
  n: number | null;
  ok: boolean | null;
  host: string | null;
  boot_id: number | null;
  seq: number | null;
  ts: number | null;
}

/** Why a batch may not be stored under its credential, given its host's live token hash (`live`), or null. */
export function refusalOf(live: ReadonlyMap<string, string>, host: string, auth: WriteAuth | undefined): IngestRefusal | null {
  // The statement's guard checks the same rule in SQL (ingestStatement).
  if (auth === undefined || (live.get(host) ?? null) === expectedHash(auth)) return null;
  return auth.kind === 'host' ? 'REVOKED' : 'HOST_HAS_TOKEN';
}

/** The live token hash a host must have for `auth` to hold: its own for a host token, none (null) for the fleet token. */
function expectedHash(auth: WriteAuth): string | null {
  return auth.kind === 'host' ? auth.hash : null;
}

/** The outcome of each item of a commit, in order (`stored`: per row taken). */
export function outcomes(rows: IngestRows, sel: Selection, stored: readonly boolean[]): IngestOutcome[] {
  let tn = 0;
  return rows.items.map((item, x): IngestOutcome => {
    const r = sel.refused[x];
    if (r !== null && r !== undefined) return { stored: 0, duplicates: 0, refused: r };
    let s = 0;
    for (let k = 0; k < item.n; k++, tn++) if (stored[tn]) s++;
    return { stored: s, duplicates: item.n - s };
  });
}

/**
 * The ingest statement of a commit: the host rows, the snapshots, the late-minute marks, the
 * latest rows and the sync log line in one statement (data-modifying WITH parts run to
 * completion whether read or not). With `guard`, the credentials of the commit's items are
 * checked in it (the hosts' live tokens read FOR SHARE, as the transaction's refusals read them)
 * and nothing is written when one changed (the answer's `ok` is false).
 */
export function ingestStatement(
  ctx: IngestContext,
  rows: IngestRows,
  recvTs: number,
  sel: Selection,
  newBoots: ReadonlyMap<string, ReadonlyMap<string, number>>,
  newLayouts: ReadonlyMap<string, number>,
  guard: boolean,
): IngestStatement {
  const { take, hostOfRow } = sel;
  // Hosts in name order, so concurrent commits of several collectors lock rows in one order;
  // which rows are rewritten (hostSeenStepMs): the others are only checked (below).
  const hosts = [...sel.hostItem.keys()].sort();
  const hostItems = hosts.map((h) => sel.hostItem.get(h)!);
  const wroteHosts = new Map<string, HostRowState>();
  const write = hosts.map((h, x) => {
    const labels = ctx.labelText(hostItems[x]!.labels);
    const interval = hostItems[x]!.intervalMs;
    const was = ctx.hostRows.get(h);
    const w = was === undefined || was.labels !== labels || was.interval !== interval || recvTs - was.seen >= ctx.hostSeenStepMs;
    if (w) wroteHosts.set(h, { labels, interval, seen: recvTs });
    return w;
  });
  // Database layout ids by the encoder's ids (snapshots' and namespace entries').
  const dbLayout = new Map<number, number>();
  for (const id of sel.wireIds) dbLayout.set(id, ctx.layoutIds.get(ctx.wireText(id)) ?? newLayouts.get(ctx.wireText(id))!);
  // The columns read again after the statement (storedRows, the namespace entries); the others are written straight from `rows`.
  const n = take.length;
  const col: RowKeys = { host: new Array<string>(n), boot: new Array<number>(n), seq: new Array<number>(n), ts: new Array<number>(n) };
  for (let t = 0; t < n; t++) {
    const i = take[t]!;
    const h = hostOfRow[i]!;
    col.host[t] = h;
    col.boot[t] = ctx.bootIds.get(h)?.get(rows.boot[i]!) ?? newBoots.get(h)?.get(rows.boot[i]!) ?? NaN;
    col.seq[t] = rows.seq[i]!;
    col.ts[t] = rows.ts[i]!;
  }
  // Each host's latest row once, with its newest snapshot of this commit (the ts guard keeps the newer row).
  const newest = new Map<string, number>();
  for (let t = 0; t < n; t++) {
    const h = col.host[t]!;
    const cur = newest.get(h);
    if (cur === undefined || col.ts[t]! >= col.ts[cur]!) newest.set(h, t);
  }
  const ln = [...newest.keys()].sort().map((h) => newest.get(h)!);
  // The values and breakdowns travel as one binary parameter (the commit's encoded bytes), cut
  // by offset in the statement: no hex text per row. Arrays go in PostgreSQL's binary array
  // format, all in one buffer (pg-arrays.ts BinArrays).
  const a = new BinArrays(96 * (n + ln.length + hosts.length) + 1024);
  const params: unknown[] = [];
  const $ = (v: unknown): string => `$${params.push(v)}`;
  const recv = `${$(recvTs)}::bigint`;
  const bytes = $(Buffer.from(rows.bytes.buffer, rows.bytes.byteOffset, rows.bytes.length));
  // The guard: each item with a credential, the live token its host must have (a host token:
  // its own hash; the fleet token: none). FOR SHARE: a token command waits for this commit, or
  // this commit sees its change.
  const authed = guard ? rows.items.filter((i) => i.auth !== undefined) : [];
  const guarded = authed.length > 0;
  let guardPart = '';
  if (guarded) {
    const gh = $(a.text(authed.length, (k) => authed[k]!.host));
    const gx = $(a.text(authed.length, (k) => expectedHash(authed[k]!.auth!)));
    guardPart = `tok AS (SELECT host, hash FROM tokens WHERE revoked IS NULL AND host = ANY(${gh}::text[]) FOR SHARE),
       guard AS (SELECT NOT EXISTS (SELECT 1 FROM unnest(${gh}::text[], ${gx}::text[]) AS u(h, x) LEFT JOIN tok ON tok.host = u.h WHERE tok.hash IS DISTINCT FROM u.x) AS ok),`;
  }
  const held = guarded ? '(SELECT ok FROM guard)' : 'true';
  const hostsPart =
    hosts.length === 0
      ? ''
      : `up_hosts AS (INSERT INTO hosts (host, labels, interval_ms, first_seen, last_seen)
         SELECT h, l, i, ${recv}, ${recv} FROM unnest(${$(a.text(hosts.length, (k) => hosts[k]))}::text[], ${$(a.text(hosts.length, (k) => ctx.labelText(hostItems[k]!.labels)))}::text[], ${$(a.int4(hosts.length, (k) => hostItems[k]!.intervalMs))}::int[], ${$(a.bool(write.length, (k) => write[k]!))}::boolean[]) AS u(h, l, i, w)
         WHERE ${held}${
           // A row not rewritten now is still written when it is missing (a purge by another process) or differs (labels another collector wrote).
           write.every(Boolean) ? '' : ' AND (w OR NOT EXISTS (SELECT 1 FROM hosts x WHERE x.host = u.h AND x.labels = u.l AND x.interval_ms = u.i))'
         }
         ON CONFLICT (host) DO UPDATE SET labels = excluded.labels, interval_ms = excluded.interval_ms, last_seen = greatest(hosts.last_seen, excluded.last_seen)),`;
  // The snapshot columns, one parameter each; the latest rows take their fixed-width columns
  // from them by index (a subscript of an integer array without NULLs is direct), their text
  // columns (host, errors) and the breakdown from arrays of their own: the newest snapshot of
  // each host is not sent twice.
  const sc = {
    host: $(a.text(n, (k) => col.host[k])),
    boot: $(a.int8(n, (k) => col.boot[k])),
    seq: $(a.int8(n, (k) => col.seq[k])),
    ts: $(a.int8(n, (k) => col.ts[k])),
    layout: $(a.int4(n, (k) => dbLayout.get(rows.layout[take[k]!]!))),
    valsAt: $(a.int4(n, (k) => rows.valsAt[take[k]!])),
    valsLen: $(a.int4(n, (k) => rows.valsLen[take[k]!])),
    errors: $(a.text(n, (k) => rows.errors[take[k]!])),
  };
  const L = ln.length;
  const lr = (k: number): number => take[ln[k]!]!;
  const latestHosts = L === 0 ? '' : $(a.text(L, (k) => col.host[ln[k]!]));
  const writer = L === 0 ? '' : $(ctx.writer);
  // With the latest rows, the commit's line in sync_log (the hosts and snapshot times it moved: what the other collectors' fleet sync reads).
  const latestPart =
    L === 0
      ? ''
      : `synced AS (INSERT INTO sync_log (writer, at, hosts, ts) SELECT ${writer}, ${recv}, ${latestHosts}::text[], ${$(a.int8(L, (k) => col.ts[ln[k]!]))}::bigint[] WHERE ${held}),
         up_latest AS (INSERT INTO latest (host, boot_id, seq, ts, recv_ts, layout_id, vals, errors, breakdown, breakdown_json, writer)
         SELECT h, (${sc.boot}::bigint[])[x], (${sc.seq}::bigint[])[x], (${sc.ts}::bigint[])[x], ${recv}, (${sc.layout}::int[])[x],
           substring(${bytes}::bytea from (${sc.valsAt}::int[])[x] + 1 for (${sc.valsLen}::int[])[x]), e, CASE WHEN bn >= 0 THEN substring(${bytes}::bytea from bo + 1 for bn) END, bj, ${writer}
         FROM unnest(${$(a.int4(L, (k) => ln[k]! + 1))}::int[], ${latestHosts}::text[], ${$(a.text(L, (k) => rows.errors[lr(k)]))}::text[],
           ${$(a.int4(L, (k) => rows.bdAt[lr(k)]))}::int[], ${$(a.int4(L, (k) => rows.bdLen[lr(k)]))}::int[], ${$(a.text(L, (k) => rows.bdJson[lr(k)]))}::text[]) AS u(x, h, e, bo, bn, bj)
         WHERE ${held}
         ON CONFLICT (host) DO UPDATE SET boot_id = excluded.boot_id, seq = excluded.seq, ts = excluded.ts, recv_ts = excluded.recv_ts, layout_id = excluded.layout_id,
         vals = excluded.vals, errors = excluded.errors, breakdown = excluded.breakdown, breakdown_json = excluded.breakdown_json, writer = excluded.writer WHERE excluded.ts >= latest.ts),`;
  // Late snapshots (older than the grace of the rollup job, with margin) mark their minute for a new roll.
  // The answer: the count of rows stored (and whether the guard held), and the rows only when
  // some were not stored (a replay): the usual commit, all stored, sends back and parses one row.
  const text = `WITH ${guardPart} ${hostsPart} ${latestPart}
     ins AS (INSERT INTO snapshots (host, boot_id, seq, ts, recv_ts, layout_id, vals, errors)
       SELECT h, b, s, t, ${recv}, l, substring(${bytes}::bytea from o + 1 for n), e
       FROM unnest(${sc.host}::text[], ${sc.boot}::bigint[], ${sc.seq}::bigint[], ${sc.ts}::bigint[], ${sc.layout}::int[], ${sc.valsAt}::int[], ${sc.valsLen}::int[], ${sc.errors}::text[]) AS u(h, b, s, t, l, o, n, e)
       WHERE ${held}
       ON CONFLICT DO NOTHING RETURNING host, boot_id, seq, ts),
     late AS (INSERT INTO rollup_dirty (host, minute) SELECT DISTINCT host, (ts / 60000) * 60000 FROM ins
       WHERE ts < ${recv} - 60000 AND ts < (SELECT done_until FROM rollup_state WHERE resolution = '1m') ON CONFLICT DO NOTHING),
     n AS (SELECT count(*)::int AS n FROM ins)
     SELECT n, ${held} AS ok, NULL::text AS host, NULL::bigint AS boot_id, NULL::bigint AS seq, NULL::bigint AS ts FROM n
     UNION ALL SELECT NULL, NULL, host, boot_id, seq, ts FROM ins WHERE (SELECT n FROM n) < ${$(take.length)}::int`;
  return { text, params, col, dbLayout, wroteHosts };
}

/**
 * Whether each taken row was stored by the commit, from the insert statement's answer: a first
 * row with the count stored (n), then, only when fewer than all were stored, one row per row
 * stored. A row twice in one commit counts as stored the first time only.
 */
export function storedRows(answer: readonly IngestAnswer[], col: RowKeys): boolean[] {
  const total = col.host.length;
  const n = answer.find((r) => r.n !== null)?.n ?? 0;
  if (n === total) return new Array<boolean>(total).fill(true);
  const inRows = new Set<string>();
  for (const r of answer) if (r.n === null) inRows.add(`${r.host}\n${r.boot_id}\n${r.seq}\n${r.ts}`);
  return col.host.map((h, i) => inRows.delete(`${h}\n${col.boot[i]}\n${col.seq[i]}\n${col.ts[i]}`));
}
