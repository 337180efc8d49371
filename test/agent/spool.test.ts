/**
 * The disk spool on real files: replay after reopening (order, original boot), acks, torn and
 * corrupt records skipped and counted, drop-oldest within the byte cap, file mode and refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '@tcpfleet/common';
import { DiskSpool } from '../../packages/agent/src/uplink/spool.js';
import { Outbox } from '../../packages/agent/src/uplink/outbox.js';
import { tempDir } from '../helpers/procs.js';
import { snapshot } from '../helpers/wire.js';

const BOOT = '0123abcd-0000-4000-8000-000000000001';
/** A snapshot of h1 at a fixed time, its counts equal to its seq. */
const snap = (seq: number, boot = BOOT): Snapshot =>
  snapshot('h1', seq, boot, { ts: 1_700_000_000_000 + seq, summary: { total: seq, estab: seq, closed: 0, orphaned: 0, timewait: 0 } }) as unknown as Snapshot;
const seqs = (sp: DiskSpool): number[] => [...sp.entries()].map((e) => e.load()?.seq ?? -1);

describe('disk spool', () => {
  const tmps: { cleanup: () => void }[] = [];
  const dir = (): string => {
    const t = tempDir('spool');
    tmps.push(t);
    return join(t.dir, 'spool');
  };
  afterEach(() => {
    for (const t of tmps.splice(0)) t.cleanup();
  });
  const open = (d: string, maxBytes = 1024 * 1024): DiskSpool => new DiskSpool({ dir: d, maxBytes, memoryMax: 100 });

  it('keeps undeclared gaps across a restart, and forgets them once declared', () => {
    const d = dir();
    const a = open(d, 4096);
    const ob = new Outbox(a);
    for (let i = 1; i <= 20; i++) ob.push(snap(i));
    expect(ob.dropped).toBeGreaterThan(0);
    const before = ob.gaps.map((g) => ({ ...g }));
    expect(before).toEqual([{ boot: BOOT, from_seq: 1, to_seq: ob.dropped, count: ob.dropped, ts: 1_700_000_000_001 }]);
    expect(statSync(join(d, 'gaps.json')).mode & 0o777).toBe(0o600);
    a.close();
    // A new agent process on the same spool: the gap is still to be declared.
    const b = open(d, 4096);
    const ob2 = new Outbox(b);
    expect(ob2.gaps).toEqual(before);
    const g = ob2.gaps[0]!;
    ob2.gapSent(g);
    ob2.gapDeclared(g);
    b.close();
    const c = open(d, 4096);
    expect(new Outbox(c).gaps).toEqual([]);
    c.close();
    // A damaged gaps file is counted as corrupt and ignored, never fatal.
    writeFileSync(join(d, 'gaps.json'), '[{"boot": 1}]');
    const e = open(d, 4096);
    expect(new Outbox(e).gaps).toEqual([]);
    expect(e.stats.corrupt).toBeGreaterThanOrEqual(1);
    e.close();
  });

  it('survives a reopen: unacknowledged snapshots come back in order under their original boot', () => {
    const d = dir();
    const a = open(d);
    for (let i = 1; i <= 10; i++) a.append(snap(i));
    a.remove(BOOT, [1, 2, 5]);
    a.close();
    const b = open(d);
    expect(b.stats.recovered).toBe(7);
    expect(b.stats.corrupt).toBe(0);
    expect(seqs(b)).toEqual([3, 4, 6, 7, 8, 9, 10]);
    expect([...b.entries()][0]?.load()?.boot).toBe(BOOT);
    b.close();
  });

  it('creates its directory 0700 and its file 0600', () => {
    const d = dir();
    const a = open(d);
    a.append(snap(1));
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(statSync(join(d, 'spool.tfs')).mode & 0o777).toBe(0o600);
    a.close();
  });

  it('skips and counts a torn last record (a crash mid-write) and keeps the rest', () => {
    const d = dir();
    const a = open(d);
    for (let i = 1; i <= 5; i++) a.append(snap(i));
    const size = a.bytes;
    a.close();
    truncateSync(join(d, 'spool.tfs'), size - 40);
    const b = open(d);
    expect(b.stats.corrupt).toBe(1);
    expect(seqs(b)).toEqual([1, 2, 3, 4]);
    b.close();
  });

  it('skips and counts records with flipped bytes and finds the next good record', () => {
    const d = dir();
    const a = open(d);
    for (let i = 1; i <= 6; i++) a.append(snap(i));
    a.close();
    const file = join(d, 'spool.tfs');
    const buf = readFileSync(file);
    const rec = buf.length / 6;
    buf[Math.floor(rec * 1 + 40)] = (buf[Math.floor(rec * 1 + 40)] ?? 0) ^ 0xff; // payload of record 2
    buf[Math.floor(rec * 3 + 2)] = (buf[Math.floor(rec * 3 + 2)] ?? 0) ^ 0xff; // magic of record 4
    writeFileSync(file, buf);
    const b = open(d);
    expect(b.stats.corrupt).toBe(2);
    expect(seqs(b)).toEqual([1, 3, 5, 6]);
    b.close();
  });

  it('drops the oldest past the byte cap, the outbox declares them as one gap, and the file stays within the cap', () => {
    const d = dir();
    const cap = 16 * 1024;
    const sp = open(d, cap);
    const ob = new Outbox(sp);
    for (let i = 1; i <= 200; i++) ob.push(snap(i));
    expect(ob.dropped).toBeGreaterThan(0);
    expect(ob.gaps).toHaveLength(1);
    expect(ob.gaps[0]).toMatchObject({ boot: BOOT, from_seq: 1, to_seq: ob.dropped, count: ob.dropped });
    expect(seqs(sp)[0]).toBe(ob.dropped + 1);
    expect(seqs(sp).at(-1)).toBe(200);
    expect(sp.stats.maxFileBytes).toBeLessThanOrEqual(cap + 2048);
    sp.close();
    const again = open(d, cap);
    expect(seqs(again)[0]).toBe(ob.dropped + 1);
    again.close();
  });

  it('refuses a symlinked directory, a world-writable one and a spool in use by a live process', () => {
    const real = dir();
    mkdirSync(real, { recursive: true, mode: 0o700 });
    const link = `${real}-link`;
    symlinkSync(real, link);
    expect(() => open(link)).toThrow(/symbolic link/);
    expect(() => open(link)).toThrow(expect.objectContaining({ code: 'TCPFLEET_ERR_SPOOL' }));
    const ww = `${real}-ww`;
    mkdirSync(ww);
    chmodSync(ww, 0o777);
    expect(() => open(ww)).toThrow(/writable by everyone/);
    const a = open(real);
    writeFileSync(join(real, 'spool.lock'), String(process.ppid));
    expect(() => open(real)).toThrow(/in use by process/);
    expect(() => open(real)).toThrow(expect.objectContaining({ code: 'TCPFLEET_ERR_SPOOL' }));
    a.close();
  });
});
