/**
 * The worked example of docs/fields.md done for real: the field table with one more field
 * (sockstat.udp_inuse, since 2) against the samples release 0.1.0 wrote. Old databases, old
 * agents' bin1 frames and JSON batches still read (the new field as 0); new data carries it; a
 * reader of the current table refuses new data rather than misreading it.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Bin1Decoder, Bin1Encoder, PLAN, ProtocolError, SECTIONS, SOCKSTAT_READS, VALUES, ValuesCodec, parseLayout, planOf, sectionPlan, sectionSchema, sockstatReader } from '@tcpfleet/common';
import type { SectionDef, Snapshot } from '@tcpfleet/common';
import { sectionCheck } from '../../packages/common/src/protocol/fast-batch.js';
import { EXAMPLE_FIELD } from '../../packages/common/src/model/fields-doc.js';
import { decodeAgg, encodeAgg, lastOnlyParts, statesAndSummary } from '../../packages/collector/src/store/rollup-codec.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/procs.js';

const SAMPLES = `${FIXTURES}compat/v0.1.0/`;
const EXTENDED: readonly SectionDef[] = (SECTIONS as readonly SectionDef[]).map((s) => (s.key === 'sockstat' ? { ...s, fields: [...s.fields, EXAMPLE_FIELD] } : s));
const V2 = planOf(EXTENDED);
const VALUES2 = new ValuesCodec(V2);
const same = (v: unknown): string => JSON.stringify(v);
/** What a 0.1.0 snapshot reads as under the extended table: udp_inuse 0, last of sockstat. */
const withZero = <T extends { sockstat: object }>(s: T): T => ({ ...s, sockstat: { ...s.sockstat, udp_inuse: 0 } });

const tmp = tempDir('fields-ext');
afterAll(() => tmp.cleanup());

/** The stored rows of the 0.1.0 database: values blobs with their layouts, rollup blobs. */
function storedRows(): { values: { vals: Buffer; layout: string }[]; rollups: { vals: Buffer; last_ts: number }[] } {
  const path = join(tmp.dir, 'store.db');
  copyFileSync(`${SAMPLES}store.db`, path);
  const db = new Database(path, { readonly: true });
  try {
    const values = db
      .prepare('SELECT s.vals, l.fields AS layout FROM snapshots s JOIN layouts l ON l.id = s.layout_id UNION ALL SELECT t.vals, l.fields FROM latest t JOIN layouts l ON l.id = t.layout_id')
      .all() as { vals: Buffer; layout: string }[];
    const rollups = db.prepare('SELECT vals, last_ts FROM rollup_1m UNION ALL SELECT vals, last_ts FROM rollup_1h').all() as { vals: Buffer; last_ts: number }[];
    return { values, rollups };
  } finally {
    db.close();
  }
}

describe('a table with one more field (the docs/fields.md example)', () => {
  it('is version 2: the new number follows every number of version 1', () => {
    expect(V2.version).toBe(2);
    expect(V2.stored[0]!.map((x) => x.path)).toEqual(PLAN.latest.map((x) => x.path));
    expect(V2.latest.map((x) => x.path)).toEqual([...PLAN.latest.map((x) => x.path), 'sockstat.udp_inuse']);
    expect(V2.last.at(-1)?.path).toBe('sockstat.udp_inuse');
  });

  it('reads it from its sockstat line; the fixture tree has the line', () => {
    const read = sockstatReader([...SOCKSTAT_READS, { name: EXAMPLE_FIELD.name, kernel: EXAMPLE_FIELD.kernel! }]);
    expect(read('sockets: used 24\nTCP: inuse 17 orphan 0 tw 4 alloc 25 mem 0\nUDP: inuse 3 mem 2\n', null)['udp_inuse']).toBe(3);
    expect(read(readFileSync(`${FIXTURES}proc/net/sockstat`, 'utf8'), null)['udp_inuse']).toBe(0);
    expect(() => read('sockets: used 24\nTCP: inuse 17 orphan 0 tw 4 alloc 25 mem 0\n', null)).toThrow('"UDP:" inuse missing');
  });

  it('reads every values blob of a 0.1.0 database as 0.1.0 did, with udp_inuse 0', () => {
    const { values } = storedRows();
    expect(values.length).toBeGreaterThan(20);
    for (const r of values) {
      const layout = parseLayout(r.layout);
      expect(same(VALUES2.decode(r.vals, layout))).toBe(same(withZero(VALUES.decode(r.vals, layout))));
    }
  });

  it('stores a new snapshot with one more number after the fixed ones, which the current table refuses to misread', () => {
    const { values } = storedRows();
    const r = values[0]!;
    const layout = parseLayout(r.layout);
    const old = VALUES.decode(r.vals, layout);
    const s = { ...old, sockstat: { ...old.sockstat, udp_inuse: 3 }, host: 'h', ts: 1, seq: 1, boot: '00000000', labels: {} } as unknown as Snapshot;
    const blob = VALUES2.encode(s);
    // The 0.1.0 bytes with one more varint (3, zig-zag 06) after the 41 fixed numbers, before the counters.
    let at = 0;
    for (let k = 0; k < PLAN.latest.length; at++) if (r.vals[at]! < 128) k++;
    expect(blob.toString('hex')).toBe(`${r.vals.subarray(0, at).toString('hex')}06${r.vals.subarray(at).toString('hex')}`);
    expect((VALUES2.decode(blob, layout).sockstat as Record<string, number>)['udp_inuse']).toBe(3);
    expect(same({ ...VALUES2.decode(blob, layout), sockstat: old.sockstat })).toBe(same(old));
    expect(() => VALUES.decode(blob, layout)).toThrow(/written by a newer tcpfleet/);
  });

  it("decodes the bin1 frames of a 0.1.0 agent, with udp_inuse 0; a new agent's frames carry it, and the current decoder refuses them", () => {
    const frames = readFileSync(`${SAMPLES}bin1-frames.hex`, 'utf8')
      .trim()
      .split('\n')
      .map((h) => Buffer.from(h, 'hex'));
    const want = JSON.parse(readFileSync(`${SAMPLES}bin1-frames.expected.json`, 'utf8')) as { host: string; labels: Record<string, string>; batches: { id: number; snapshots: Snapshot[] }[] };
    const dec = new Bin1Decoder(V2);
    frames.forEach((f, i) => {
      const got = dec.decode(f, want.host, want.labels);
      expect(same(got.snapshots)).toBe(same(want.batches[i]!.snapshots.map(withZero)));
    });
    const next = want.batches[0]!.snapshots.map((s, i) => ({ ...s, seq: 100 + i, sockstat: { ...s.sockstat, udp_inuse: 5 + i } }));
    const frame = new Bin1Encoder(VALUES2).encode(9, next)!;
    expect(same(new Bin1Decoder(V2).decode(frame, want.host, want.labels).snapshots)).toBe(same(next));
    let refused: unknown;
    try {
      new Bin1Decoder().decode(frame, want.host, want.labels);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ProtocolError);
    expect((refused as Error).message).toMatch(/^binary batch: snapshot 1: values: \d+ numbers, not 41 fixed fields plus \d+ counters \(a newer agent\? upgrade the collector first\)$/);
  });

  it("accepts the sockstat of a 0.1.0 agent's JSON batch (zod and the fast check), filling in 0; checks a new one's", () => {
    const batches = readFileSync(`${SAMPLES}json-batches.ndjson`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { snapshots: Snapshot[] });
    const sockstat = sectionPlan('sockstat', V2);
    const fast = sectionCheck(sockstat);
    const zod = sectionSchema(sockstat);
    for (const s of batches.flatMap((b) => b.snapshots)) {
      expect(same(fast(s.sockstat))).toBe(same({ ...s.sockstat, udp_inuse: 0 }));
      expect(same(zod.parse(s.sockstat))).toBe(same({ ...s.sockstat, udp_inuse: 0 }));
      const next = { ...s.sockstat, udp_inuse: 7 };
      expect(fast(next)).toEqual(next);
      expect(zod.parse(next)).toEqual(next);
      for (const bad of [
        { ...s.sockstat, udp_inuse: -1 },
        { ...s.sockstat, udp_inuse: 1.5 },
        { ...s.sockstat, udp_inuse: 1, extra: 1 },
      ]) {
        expect(fast(bad)).toBeNull();
        expect(zod.safeParse(bad).success).toBe(false);
      }
    }
  });

  it("reads the rollups of a 0.1.0 database with udp_inuse 0, and keeps a new one's last value", () => {
    const { rollups } = storedRows();
    expect(rollups.length).toBeGreaterThan(20);
    for (const r of rollups) {
      const a1 = decodeAgg(r.vals, r.last_ts);
      const a2 = decodeAgg(r.vals, r.last_ts, V2);
      expect(a2.lastOnly).toEqual([...a1.lastOnly, 0]);
      expect(same(statesAndSummary(a2.last, false, V2))).toBe(same(statesAndSummary(a1.last)));
      expect(lastOnlyParts(a2, V2).sockstat).toEqual({ ...lastOnlyParts(a1).sockstat, udp_inuse: 0 });
      // Written again under version 2: the 0.1.0 bytes and one more number.
      expect(encodeAgg(a2, V2).toString('hex')).toBe(`${r.vals.toString('hex')}00`);
      a2.lastOnly[a2.lastOnly.length - 1] = 9;
      expect(decodeAgg(encodeAgg(a2, V2), r.last_ts, V2).lastOnly.at(-1)).toBe(9);
    }
  });
});
