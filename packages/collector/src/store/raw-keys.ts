/**
 * Keyset reads of a raw history ordered by (ts, boot_id, seq): a host's snapshots (RawHistory in
 * sqlite-store.ts) and one namespace series' entries (ns-store.ts) share these statements.
 */
import type { Statement } from 'better-sqlite3';
import type { RawKey } from './store.js';

/** A raw snapshot's key columns. */
export interface KeyRow {
  ts: number;
  boot_id: number;
  seq: number;
}

/**
 * The key statements of a raw history (`${name}KeyAt`, `Count`, `LastKey`) over `table` (as s)
 * rows that match `where` (its parameters first), ordered by (ts, boot_id, seq): the snapshots
 * of a host (RawHistory), or the entries of one namespace series (store/ns-store.ts).
 */
export function rawKeyStatements(p: (sql: string) => Statement, name: string, table: string, where: string): Record<string, Statement> {
  const after = '(s.ts, s.boot_id, s.seq) > (?, ?, ?)';
  return {
    [`${name}KeyAt`]: p(`SELECT s.ts, s.boot_id, s.seq FROM ${table} s WHERE ${where} AND ${after} AND s.ts < ? ORDER BY s.ts, s.boot_id, s.seq LIMIT 1 OFFSET ?`),
    [`${name}Count`]: p(`SELECT count(*) AS count FROM (SELECT 1 FROM ${table} s WHERE ${where} AND ${after} AND s.ts < ? LIMIT ?)`),
    [`${name}LastKey`]: p(`SELECT s.ts, s.boot_id, s.seq FROM ${table} s WHERE ${where} AND ${after} AND s.ts < ? ORDER BY s.ts DESC, s.boot_id DESC, s.seq DESC LIMIT 1`),
  };
}

/** How many rows (at most `n`) of a raw history follow `after` before `until`, and the last one's key (statements of rawKeyStatements; `args`: their `where` parameters). */
export function rawSeekWith(s: Record<string, Statement>, name: string, args: readonly unknown[], after: RawKey, until: number, n: number): { count: number; last: RawKey | null } {
  const at = s[`${name}KeyAt`]!.get(...args, ...after, until, n - 1) as KeyRow | undefined;
  if (at !== undefined) return { count: n, last: [at.ts, at.boot_id, at.seq] };
  const { count } = s[`${name}Count`]!.get(...args, ...after, until, n) as { count: number };
  const last = count === 0 ? undefined : (s[`${name}LastKey`]!.get(...args, ...after, until) as KeyRow | undefined);
  return { count, last: last === undefined ? null : [last.ts, last.boot_id, last.seq] };
}
