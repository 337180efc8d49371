/**
 * Ground-truth checks of the fault suite: acknowledged keys (from the simulator's side log)
 * against the rows in the database, duplicates, per-boot seq continuity of real agents,
 * PRAGMA integrity_check, and process memory from /proc.
 */
import Database from 'better-sqlite3';
import { appendFileSync, readFileSync } from 'node:fs';

/** Every stored key as `host boot seq`, plus the raw row count. */
export function storedKeys(db: string): { keys: Set<string>; rows: number } {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    d.pragma('busy_timeout = 5000');
    const rows = d.prepare('SELECT h.name AS host, b.boot, s.seq FROM snapshots s JOIN hosts h ON h.id = s.host_id JOIN boots b ON b.id = s.boot_id').all() as {
      host: string;
      boot: string;
      seq: number;
    }[];
    return { keys: new Set(rows.map((r) => `${r.host} ${r.boot} ${r.seq}`)), rows: rows.length };
  } finally {
    d.close();
  }
}

/** Runs a read-only query. */
export function query<T>(db: string, sql: string, ...params: unknown[]): T[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    d.pragma('busy_timeout = 5000');
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}

/** PRAGMA integrity_check of a (closed or open) database. */
export function integrity(db: string): string {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (d.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    d.close();
  }
}

/** The standard figures of a run: acked keys vs stored keys. */
export interface Figures {
  acked: number;
  lostAcked: number;
  stored: number;
  dups: number;
}

/** Compares a side log of acknowledged keys with the database. */
export function checkAcked(sideLog: string, db: string): Figures & { missing: string[] } {
  const acked = new Set(
    readFileSync(sideLog, 'utf8')
      .split('\n')
      .filter((l) => l !== ''),
  );
  const { keys, rows } = storedKeys(db);
  const missing = [...acked].filter((k) => !keys.has(k));
  return { acked: acked.size, lostAcked: missing.length, stored: keys.size, dups: rows - keys.size, missing: missing.slice(0, 10) };
}

/** Per boot of a host: stored seqs, and the seqs missing between 1 and the largest. */
export function seqHoles(db: string, host: string): { boot: string; count: number; max: number; holes: number[] }[] {
  const rows = query<{ boot: string; seq: number }>(
    db,
    'SELECT b.boot, s.seq FROM snapshots s JOIN hosts h ON h.id = s.host_id JOIN boots b ON b.id = s.boot_id WHERE h.name = ? ORDER BY b.boot, s.seq',
    host,
  );
  const byBoot = new Map<string, number[]>();
  for (const r of rows) byBoot.set(r.boot, [...(byBoot.get(r.boot) ?? []), r.seq]);
  return [...byBoot].map(([boot, seqs]) => {
    const have = new Set(seqs);
    const max = Math.max(...seqs);
    const holes: number[] = [];
    for (let i = 1; i <= max && holes.length < 1000; i++) if (!have.has(i)) holes.push(i);
    return { boot, count: seqs.length, max, holes };
  });
}

/** A /proc/PID/status field in kB (VmRSS, VmHWM), or 0 when the process is gone. */
export function memKb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** p-th percentile (0-100) of a list of numbers. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** Appends a line of figures to fault-figures.jsonl in the working directory and prints it as a FIGURES line (read by people, not by CI). */
export function report(test: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ test, at: new Date().toISOString(), ...figures });
  process.stdout.write(`FIGURES ${line}\n`);
  appendFileSync('fault-figures.jsonl', line + '\n');
}
