/**
 * The disk spool (`--spool-dir`, `--spool-bytes`): the outbox's store on disk, so unacknowledged
 * snapshots survive an agent restart and are replayed, in the order they were taken and under
 * their original boot id, once the collector is back.
 *
 * One file, `spool.tfs`, of records: magic "TFS1" (4) | type (1) | payload length u32 BE (4) |
 * CRC-32 of type and payload u32 BE (4) | payload (JSON). Types: `S` a snapshot, `A` keys that
 * left the spool (acknowledged or evicted). Every `S` append is fsynced before the snapshot is
 * offered for sending, so a crash loses at most the snapshot being written at that moment (its
 * torn record fails the checksum and is skipped). `A` records are not fsynced: losing one only
 * means a resend, which the collector's idempotent storage turns into nothing.
 *
 * Bounds: live records are kept to 3/4 of --spool-bytes (the oldest are evicted and declared as a
 * gap by the outbox); when the file passes --spool-bytes it is compacted (live records rewritten
 * to a new file, fsynced, renamed over the old one), so the file never exceeds --spool-bytes by
 * more than one record. On a disk error (full disk, I/O error) appends fall back to memory,
 * bounded by a count, and the disk is tried again later.
 *
 * Gaps (snapshots dropped to stay in bounds, not yet declared to the collector) are kept in a
 * side file, `gaps.json`, rewritten atomically (temporary file, fsync, rename) whenever they
 * change, so a gap survives an agent restart and is still declared; declaring one twice is
 * harmless (the collector stores gaps idempotently).
 *
 * Safety: the directory must not be a symbolic link nor writable by others; files are created
 * 0600 with O_NOFOLLOW; a lock file stops two agents sharing one spool.
 */
import { closeSync, constants, fsyncSync, ftruncateSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { TcpfleetError } from '@tcpfleet/common/agent';

/** A spool that cannot be used safely (TCPFLEET_ERR_SPOOL); the agent refuses to start on it. */
const spoolError = (message: string): TcpfleetError => new TcpfleetError('TCPFLEET_ERR_SPOOL', message);
import type { Snapshot } from '@tcpfleet/common/agent';
import type { Gap, HeldEntry, OutboxStore } from './outbox.js';

const MAGIC = Buffer.from('TFS1');
const HEADER = 13;
const T_SNAP = 0x53;
const T_ACK = 0x41;
/** Largest payload a record may have; anything claiming more is corrupt. */
const MAX_RECORD = 4 * 1024 * 1024;
const FILE = 'spool.tfs';
const GAPS_FILE = 'gaps.json';

interface Entry {
  boot: string;
  seq: number;
  ts: number;
  /** Offset of the payload in the file, or -1 when held in memory. */
  off: number;
  /** Record bytes on disk (header included); 0 in memory. */
  size: number;
  mem: Snapshot | null;
}

/** What the spool found and did, for logs and tests. */
export interface SpoolStats {
  /** Snapshots found in the spool at start-up. */
  recovered: number;
  /** Corrupt or torn records skipped at start-up. */
  corrupt: number;
  /** Snapshots held in memory because the disk refused a write. */
  fallback: number;
  compactions: number;
  writeErrors: number;
  /** Largest size the file reached, in bytes. */
  maxFileBytes: number;
}

/** Options of the disk spool. */
export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  /** Cap of the memory fallback, in snapshots. */
  memoryMax: number;
  /** Told about disk trouble (once per episode) and recovery. */
  onEvent?: (event: 'disk-error' | 'disk-ok', detail: string) => void;
}

function record(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head[4] = type;
  head.writeUInt32BE(payload.length, 5);
  head.writeUInt32BE(crc32(payload, crc32(Buffer.from([type]))), 9);
  return Buffer.concat([head, payload]);
}

function keyOf(boot: string, seq: number): string {
  return `${boot}/${seq}`;
}

/** Checks the spool directory, creating it (0700) when missing; refuses symlinks and world-writable ones. */
export function checkSpoolDir(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = lstatSync(dir);
  }
  if (st.isSymbolicLink()) throw spoolError(`spool dir ${dir} is a symbolic link; give the real directory`);
  if (!st.isDirectory()) throw spoolError(`spool dir ${dir} is not a directory`);
  if ((st.mode & 0o002) !== 0) throw spoolError(`spool dir ${dir} is writable by everyone (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it`);
}

export class DiskSpool implements OutboxStore {
  readonly #o: DiskSpoolOptions;
  readonly #path: string;
  readonly #lock: string;
  #fd: number;
  #fileBytes = 0;
  #liveBytes = 0;
  #entries: Entry[] = [];
  #memCount = 0;
  #diskFailed = false;
  #sinceFailure = 0;
  readonly stats: SpoolStats = { recovered: 0, corrupt: 0, fallback: 0, compactions: 0, writeErrors: 0, maxFileBytes: 0 };

  constructor(o: DiskSpoolOptions) {
    this.#o = o;
    checkSpoolDir(o.dir);
    this.#path = join(o.dir, FILE);
    this.#lock = join(o.dir, 'spool.lock');
    this.#takeLock();
    try {
      const st = lstatSync(this.#path);
      if (st.isSymbolicLink()) throw spoolError(`spool file ${this.#path} is a symbolic link; remove it`);
    } catch (err) {
      if (err instanceof TcpfleetError) throw err;
    }
    this.#fd = openSync(this.#path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    this.#load();
    this.#compact();
  }

  #takeLock(): void {
    try {
      this.#writeLock();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(readFileSync(this.#lock, 'utf8').trim());
    let alive = false;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (alive) throw spoolError(`spool dir ${this.#o.dir} is in use by process ${pid}; give each agent its own --spool-dir`);
    unlinkSync(this.#lock);
    this.#writeLock();
  }

  #writeLock(): void {
    const fd = openSync(this.#lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
  }

  /** Reads every record; keeps the snapshots whose checksum holds and that no ack record removed. */
  #load(): void {
    const size = fstatSync(this.#fd).size;
    const head = Buffer.alloc(HEADER);
    const found: Entry[] = [];
    const gone = new Set<string>();
    let pos = 0;
    for (let guard = 0; pos + HEADER <= size && guard < 10_000_000; guard++) {
      readSync(this.#fd, head, 0, HEADER, pos);
      const len = head.readUInt32BE(5);
      const type = head[4] ?? 0;
      if (!head.subarray(0, 4).equals(MAGIC) || (type !== T_SNAP && type !== T_ACK) || len > MAX_RECORD) {
        this.stats.corrupt++;
        pos = this.#resync(pos + 1, size);
        continue;
      }
      if (pos + HEADER + len > size) {
        this.stats.corrupt++; // torn tail: the write a crash interrupted
        break;
      }
      const payload = Buffer.alloc(len);
      readSync(this.#fd, payload, 0, len, pos + HEADER);
      if (crc32(payload, crc32(Buffer.from([type]))) !== head.readUInt32BE(9)) {
        this.stats.corrupt++;
        pos = this.#resync(pos + 1, size);
        continue;
      }
      try {
        if (type === T_SNAP) {
          const s = JSON.parse(payload.toString('utf8')) as Snapshot;
          if (typeof s.boot !== 'string' || typeof s.seq !== 'number') throw new Error('not a snapshot');
          found.push({ boot: s.boot, seq: s.seq, ts: s.ts, off: pos + HEADER, size: HEADER + len, mem: null });
        } else {
          for (const [boot, seq] of JSON.parse(payload.toString('utf8')) as [string, number][]) gone.add(keyOf(boot, seq));
        }
      } catch {
        this.stats.corrupt++;
      }
      pos += HEADER + len;
    }
    const seen = new Set<string>();
    for (const e of found) {
      const k = keyOf(e.boot, e.seq);
      if (gone.has(k) || seen.has(k)) continue;
      seen.add(k);
      this.#entries.push(e);
      this.#liveBytes += e.size;
    }
    this.#fileBytes = size;
    this.stats.recovered = this.#entries.length;
  }

  /** Position of the next magic at or after `from`, or `size`. */
  #resync(from: number, size: number): number {
    const chunk = Buffer.alloc(64 * 1024);
    for (let pos = from; pos < size; pos += chunk.length - MAGIC.length) {
      const n = readSync(this.#fd, chunk, 0, chunk.length, pos);
      const i = chunk.subarray(0, n).indexOf(MAGIC);
      if (i >= 0) return pos + i;
      if (n < chunk.length) break;
    }
    return size;
  }

  append(s: Snapshot): { boot: string; seq: number; ts: number }[] {
    const e: Entry = { boot: s.boot, seq: s.seq, ts: s.ts, off: -1, size: 0, mem: null };
    if (this.#diskFailed && ++this.#sinceFailure >= 20) this.#diskFailed = false; // try the disk again now and then
    if (!this.#diskFailed) {
      const rec = record(T_SNAP, Buffer.from(JSON.stringify(s)));
      if (this.#write(rec, true)) {
        e.off = this.#fileBytes - rec.length + HEADER;
        e.size = rec.length;
        this.#liveBytes += rec.length;
      }
    }
    if (e.off < 0) {
      e.mem = s;
      this.#memCount++;
      this.stats.fallback++;
    }
    this.#entries.push(e);
    const evicted: Entry[] = [];
    while (this.#entries.length > 1 && (this.#liveBytes > (this.#o.maxBytes * 3) / 4 || this.#memCount > this.#o.memoryMax)) {
      const old = this.#entries.shift();
      if (old === undefined) break;
      this.#forget(old);
      evicted.push(old);
    }
    if (evicted.length > 0) this.#writeGone(evicted);
    return evicted.map((x) => ({ boot: x.boot, seq: x.seq, ts: x.ts }));
  }

  /** Appends a record at the end; on failure cuts any partial write and switches to memory. */
  #write(rec: Buffer, sync: boolean): boolean {
    try {
      let done = 0;
      while (done < rec.length) done += writeSync(this.#fd, rec, done, rec.length - done, this.#fileBytes + done);
      if (sync) fsyncSync(this.#fd);
      this.#fileBytes += rec.length;
      this.stats.maxFileBytes = Math.max(this.stats.maxFileBytes, this.#fileBytes);
      if (this.#sinceFailure > 0 && !this.#diskFailed) {
        this.#sinceFailure = 0;
        this.#o.onEvent?.('disk-ok', this.#path);
      }
      return true;
    } catch (err) {
      this.stats.writeErrors++;
      try {
        ftruncateSync(this.#fd, this.#fileBytes);
      } catch {
        // the next load skips a torn record by its checksum
      }
      if (this.#sinceFailure === 0) this.#o.onEvent?.('disk-error', `${this.#path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      this.#diskFailed = true;
      this.#sinceFailure = 1;
      return false;
    }
  }

  #forget(e: Entry): void {
    if (e.mem !== null) this.#memCount--;
    else this.#liveBytes -= e.size;
  }

  #writeGone(list: readonly Entry[]): void {
    const onDisk = list.filter((e) => e.mem === null).map((e) => [e.boot, e.seq]);
    if (onDisk.length > 0 && !this.#diskFailed) this.#write(record(T_ACK, Buffer.from(JSON.stringify(onDisk))), false);
    if (this.#fileBytes > this.#o.maxBytes) this.#compact();
  }

  remove(boot: string, seqs: readonly number[]): void {
    const gone = new Set(seqs);
    const removed: Entry[] = [];
    this.#entries = this.#entries.filter((e) => {
      if (e.boot === boot && gone.has(e.seq)) {
        removed.push(e);
        return false;
      }
      return true;
    });
    for (const e of removed) this.#forget(e);
    if (this.#entries.length === 0 && this.#memCount === 0) {
      // Nothing held: start the file afresh instead of logging acks.
      try {
        ftruncateSync(this.#fd, 0);
        this.#fileBytes = 0;
        this.#liveBytes = 0;
        return;
      } catch {
        // fall through to an ack record
      }
    }
    if (removed.length > 0) this.#writeGone(removed);
  }

  /** Rewrites the live records into a new file and renames it over the old one. */
  #compact(): void {
    const tmp = `${this.#path}.tmp`;
    let fd = -1;
    try {
      try {
        unlinkSync(tmp);
      } catch {
        // not there
      }
      fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      let pos = 0;
      const moved: [Entry, number][] = [];
      for (const e of this.#entries) {
        if (e.mem !== null) continue;
        const buf = Buffer.alloc(e.size);
        readSync(this.#fd, buf, 0, e.size, e.off - HEADER);
        let done = 0;
        while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, pos + done);
        moved.push([e, pos + HEADER]);
        pos += buf.length;
      }
      fsyncSync(fd);
      renameSync(tmp, this.#path);
      const dirFd = openSync(this.#o.dir, constants.O_RDONLY);
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
      closeSync(this.#fd);
      this.#fd = fd;
      fd = -1;
      for (const [e, off] of moved) e.off = off;
      this.#fileBytes = pos;
      this.#liveBytes = pos;
      this.stats.compactions++;
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // not there
      }
      this.#o.onEvent?.('disk-error', `${this.#path}: compaction failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  *entries(): Iterable<HeldEntry> {
    for (const e of this.#entries) yield this.#held(e);
  }

  newest(): HeldEntry | null {
    const e = this.#entries[this.#entries.length - 1];
    return e === undefined ? null : this.#held(e);
  }

  #held(e: Entry): HeldEntry {
    return { boot: e.boot, seq: e.seq, load: () => this.#read(e) };
  }

  #read(e: Entry): Snapshot | null {
    if (e.mem !== null) return e.mem;
    try {
      const buf = Buffer.alloc(e.size - HEADER);
      readSync(this.#fd, buf, 0, buf.length, e.off);
      return JSON.parse(buf.toString('utf8')) as Snapshot;
    } catch {
      return null;
    }
  }

  get size(): number {
    return this.#entries.length;
  }

  get bytes(): number {
    return this.#fileBytes;
  }

  /** Writes the undeclared gaps atomically; a failure is counted, never thrown (they stay in memory). */
  saveGaps(gaps: readonly Gap[]): void {
    const path = join(this.#o.dir, GAPS_FILE);
    const tmp = `${path}.tmp`;
    try {
      try {
        unlinkSync(tmp);
      } catch {
        // no leftover
      }
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, JSON.stringify(gaps));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch {
      this.stats.writeErrors++;
    }
  }

  /** The gaps an earlier run saved; an unreadable or malformed file counts as corrupt and yields none. */
  loadGaps(): Gap[] {
    const path = join(this.#o.dir, GAPS_FILE);
    let text: string;
    try {
      if (lstatSync(path).isSymbolicLink()) return [];
      text = readFileSync(path, 'utf8');
    } catch {
      return [];
    }
    try {
      const v = JSON.parse(text) as unknown;
      const ok = (g: unknown): g is Gap => {
        if (typeof g !== 'object' || g === null) return false;
        const o = g as Record<string, unknown>;
        return typeof o['boot'] === 'string' && ['from_seq', 'to_seq', 'count', 'ts'].every((k) => Number.isInteger(o[k]) && (o[k] as number) >= 0);
      };
      if (!Array.isArray(v) || !v.every(ok)) throw new Error('not a list of gaps');
      return v.map((g) => ({ boot: g.boot, from_seq: g.from_seq, to_seq: g.to_seq, count: g.count, ts: g.ts }));
    } catch {
      this.stats.corrupt++;
      return [];
    }
  }

  /** Closes the file and releases the lock; what is held stays on disk for the next start. */
  close(): void {
    try {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(this.#lock);
    } catch {
      // already gone
    }
  }
}
