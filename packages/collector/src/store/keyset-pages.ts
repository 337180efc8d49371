/**
 * Pages of an ordered history read by key (issue 14: every read bounded). A history is a list of
 * stages (one-hour rollups, then one-minute rollups, then raw snapshots; or the fleet's minutes),
 * each a source of rows ordered by a numeric key. A page is planned first from the keys alone
 * (index-only counts: which rows, how many, and where the next page starts), then its rows are
 * read in small slices, each one short statement, so a reader can yield between slices and no
 * statement stays open while it waits.
 *
 * No row is answered twice and none is skipped between pages, whatever was written meanwhile:
 * the next page starts after the last key of this one. (Rows written behind a walk's position
 * after it passed, like a late replay, are not seen by that walk.)
 */

/** A row's position in its source; compared element by element. */
export type Key = readonly number[];

/** Rows of one stage, after a key and before the stage's end (the source knows its range). */
export interface KeyedSource<T> {
  /** How many rows (at most `n`) follow `after`, and the key of the last of them. */
  seek(after: Key, n: number): { count: number; last: Key | null };
  /** True when a row follows `after`. */
  any(after: Key): boolean;
  /** At most `n` rows with after < key <= end, in key order, and the key of the last one. */
  slice(after: Key, end: Key, n: number): { rows: T[]; last: Key | null };
}

/** One stage of a history: `rank` orders the stages, `start` is the key just before its first row. */
export interface Stage<T> {
  name: string;
  rank: number;
  source: KeyedSource<T>;
  start: Key;
}

/** Where a walk stands: the stage and key of the last row answered. */
export interface Position {
  stage: string;
  rank: number;
  key: Key;
}

/** A stage's share of a page: its rows with after < key <= end. */
interface PagePart<T> {
  source: KeyedSource<T>;
  after: Key;
  end: Key;
}

/** A planned page: `rows` rows in `parts`, and where the next page starts (null: this is the last). */
export interface Page<T> {
  rows: number;
  next: Position | null;
  /** Reads the page's next rows, at most `n`; an empty array once the page is done. */
  read(n: number): T[];
}

/** -1, 0 or 1 as a is before, at or after b. */
export function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? -Infinity;
    const y = b[i] ?? -Infinity;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Plans the page of at most `limit` rows that follows `from` (null: the first page). */
export function planPage<T>(stages: readonly Stage<T>[], from: Position | null, limit: number): Page<T> {
  const parts: PagePart<T>[] = [];
  let left = limit;
  let next: Position | null = null;
  for (let i = 0; i < stages.length && left > 0; i++) {
    const st = stages[i]!;
    if (from !== null && st.rank < from.rank) continue;
    const after = from !== null && st.rank === from.rank && compareKeys(from.key, st.start) > 0 ? from.key : st.start;
    const { count, last } = st.source.seek(after, left);
    if (count === 0 || last === null) continue;
    parts.push({ source: st.source, after, end: last });
    left -= count;
    if (left === 0 && (st.source.any(last) || stages.slice(i + 1).some((later) => later.source.any(later.start)))) {
      next = { stage: st.name, rank: st.rank, key: last };
    }
  }
  let k = 0;
  return {
    rows: limit - left,
    next,
    read(n: number): T[] {
      while (k < parts.length) {
        const p = parts[k]!;
        const got = p.source.slice(p.after, p.end, n);
        if (got.last !== null) p.after = got.last;
        if (got.rows.length > 0 && compareKeys(p.after, p.end) < 0) return got.rows;
        k++;
        if (got.rows.length > 0) return got.rows;
      }
      return [];
    },
  };
}
