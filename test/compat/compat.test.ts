/**
 * Old agents and old databases keep working: the samples under test/fixtures/compat/<release>/
 * were written by that release (test/fixtures/compat/generate.mjs run on it, never on newer
 * code). The current code must read each to exactly what that release read, and write the same
 * bytes again from what it read; /metrics keeps its families as that release wrote them.
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Bin1Decoder, Bin1Encoder, decodeAgentMessage, decodeValues, encodeValues, parseLayout } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { RollupReader } from '../../packages/collector/src/store/rollup-history.js';
import { decodeAgg, encodeAgg } from '../../packages/collector/src/store/rollup-codec.js';
import { renderMetrics } from '../../packages/collector/src/views/metrics.js';
import type { Fleet } from '../../packages/collector/src/api/fleet.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/procs.js';

const RELEASES = readdirSync(`${FIXTURES}compat`, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const text = (release: string, file: string): string => readFileSync(`${FIXTURES}compat/${release}/${file}`, 'utf8');
const expected = <T>(release: string, file: string): T => JSON.parse(text(release, file)) as T;
/** JSON text, key order included: a reader must give the same fields in the same order. */
const same = (v: unknown): string => JSON.stringify(v);

/** A writable copy of a release's database (opening it may migrate it). */
function copyOfDb(release: string): string {
  const t = tempDir('compat');
  cleanups.push(t.cleanup);
  const path = join(t.dir, 'store.db');
  copyFileSync(`${FIXTURES}compat/${release}/store.db`, path);
  return path;
}

it('has the samples of at least one release', () => {
  expect(RELEASES).toContain('v0.1.0');
});

describe.each(RELEASES)('samples of %s', (release) => {
  it('bin1 frames of that agent decode to what it decoded, and encode again to the same bytes', () => {
    const frames = text(release, 'bin1-frames.hex').trim().split('\n');
    const want = expected<{ host: string; labels: Record<string, string>; batches: { id: number; snapshots: Snapshot[] }[] }>(release, 'bin1-frames.expected.json');
    expect(frames).toHaveLength(want.batches.length);
    const dec = new Bin1Decoder();
    const enc = new Bin1Encoder();
    frames.forEach((hex, i) => {
      const got = dec.decode(Buffer.from(hex, 'hex'), want.host, want.labels);
      expect(same(got)).toBe(same(want.batches[i]));
      // The same session's encoder, fed what was decoded, writes the frame byte for byte.
      expect(enc.encode(got.id, got.snapshots)?.toString('hex')).toBe(hex);
    });
  });

  it('JSON batches of that agent decode to what it decoded', () => {
    const frames = text(release, 'json-batches.ndjson').trim().split('\n');
    const want = expected<unknown[]>(release, 'json-batches.expected.json');
    expect(frames.map((f) => same(decodeAgentMessage(f)))).toEqual(want.map(same));
  });

  it('its database reads back as it did: latest, raw history, rollups, fleet sums, gaps', async () => {
    const want = expected<{ rawRetentionMs: number; reads: { call: string; args: unknown[]; result: unknown }[] }>(release, 'store.expected.json');
    const store = new SqliteStore({ path: copyOfDb(release) });
    cleanups.push(() => store.close());
    const reader = new RollupReader(store.db, store, want.rawRetentionMs);
    // Store methods of different signatures, called by name with the recorded arguments.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const calls: Record<string, (...a: any[]) => unknown> = {
      latest: () => store.latest(),
      history: (host: string, since: number, until: number, limit: number) => store.history(host, since, until, limit),
      rollupHistory: (host: string, since: number, until: number, limit: number, now: number) => reader.history(host, since, until, limit, now),
      fleetHistory: (since: number, until: number) => reader.fleetHistory(since, until),
      gaps: (host: string | null, since: number) => store.gaps(host, since),
    };
    expect(want.reads.length).toBeGreaterThan(5);
    for (const r of want.reads) expect(same(await calls[r.call]!(...r.args)), `${r.call}(${same(r.args)})`).toBe(same(r.result));
  });

  it('its stored values and rollup rows decode and encode again to the same bytes', () => {
    const db = new Database(copyOfDb(release));
    cleanups.push(() => void db.close());
    const layouts = new Map((db.prepare('SELECT id, fields FROM layouts').all() as { id: number; fields: string }[]).map((r) => [r.id, r.fields]));
    const rows = db.prepare('SELECT layout_id, vals FROM snapshots UNION ALL SELECT layout_id, vals FROM latest').all() as { layout_id: number; vals: Buffer }[];
    expect(rows.length).toBeGreaterThan(20);
    for (const r of rows) {
      const v = decodeValues(r.vals, parseLayout(layouts.get(r.layout_id) ?? ''));
      const again = encodeValues({ ...v, host: 'h', ts: 0, seq: 1, boot: '00000000', labels: {} });
      expect(again.toString('hex')).toBe(r.vals.toString('hex'));
    }
    const aggs = db.prepare('SELECT last_ts, vals FROM rollup_1m UNION ALL SELECT last_ts, vals FROM rollup_1h').all() as { last_ts: number; vals: Buffer }[];
    expect(aggs.length).toBeGreaterThan(20);
    for (const r of aggs) expect(encodeAgg(decodeAgg(r.vals, r.last_ts)).toString('hex')).toBe(r.vals.toString('hex'));
  });

  it('its database takes new snapshots of the same kernels without new layouts', async () => {
    const want = expected<{ reads: { call: string; result: unknown }[] }>(release, 'store.expected.json');
    const path = copyOfDb(release);
    const store = new SqliteStore({ path });
    cleanups.push(() => store.close());
    const layoutsBefore = (store.db.prepare('SELECT count(*) AS n FROM layouts').get() as { n: number }).n;
    const last = (want.reads.find((r) => r.call === 'latest')!.result as (Snapshot & { recv_ts: number })[]).map(({ recv_ts: _r, ...s }) => s);
    const dec = new Bin1Decoder();
    const enc = new Bin1Encoder();
    for (const s of last) {
      const next = { ...s, seq: s.seq + 1000, ts: s.ts + 60_000 };
      const snapshots = s.host === 'web-2' ? dec.decode(enc.encode(1, [next])!, s.host, s.labels).snapshots : [next];
      expect(await store.ingest([{ host: s.host, labels: s.labels, snapshots }], next.ts + 100)).toEqual([{ stored: 1, duplicates: 0 }]);
    }
    expect((store.db.prepare('SELECT count(*) AS n FROM layouts').get() as { n: number }).n).toBe(layoutsBefore);
    const latest = await store.latest();
    expect(latest.map((s) => s.seq)).toEqual(last.map((s) => s.seq + 1000));
    expect(same(latest.map(({ recv_ts: _r, ...s }) => ({ ...s, seq: s.seq - 1000, ts: s.ts - 60_000 })))).toBe(same(last));
  });

  it('its /metrics exposition of a fleet is written again byte for byte (family names, help, labels, order)', () => {
    const input = expected<{ hosts: unknown[]; total: unknown; gauges: Parameters<typeof renderMetrics>[1]; alerts: Parameters<typeof renderMetrics>[2]; version: string; now: number }>(
      release,
      'metrics.input.json',
    );
    const fleet = { hosts: () => input.hosts, total: () => input.total } as unknown as Fleet;
    expect(renderMetrics(fleet, input.gauges, input.alerts, input.version, input.now)).toBe(text(release, 'metrics.prom'));
  });
});
