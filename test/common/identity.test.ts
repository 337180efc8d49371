/**
 * The host id and label rules exist twice: as zod schemas (HostIdSchema, LabelsSchema: the
 * collector checks what agents send) and as hand-written checks (checkHostId, checkLabels: the
 * agent, which loads no zod). Both are built from the same patterns and limits; this runs both on
 * the same inputs, listed and generated, and wants the same verdict, the same problems (path and
 * words) and the same output.
 */
import { describe, expect, it } from 'vitest';
import { HostIdSchema, LabelsSchema, SNAPSHOT_LIMITS } from '@tcpfleet/common';
import { checkHostId, checkLabels } from '@tcpfleet/common/agent';
import { randomString, randomValue, rng, viaCheck, viaZod } from '../helpers/parity.js';

const many = (n: number, v = 'v'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, v]));

const HOST_IDS: unknown[] = [
  'a',
  'web-1',
  'h.example.com',
  'a:b@c_d',
  '0',
  'x'.repeat(253),
  'x'.repeat(254),
  ' '.repeat(300),
  '',
  ' ',
  'a b',
  '-a',
  '.a',
  'é',
  'a\n',
  'a/b',
  '\u0000',
  '😀'.repeat(130),
  '😀'.repeat(300),
  'a' + '😀'.repeat(126),
  '\ud800',
  5,
  null,
  undefined,
  [],
  ['a'],
  Array(300).fill('a'),
  {},
  { length: 0 },
  true,
  NaN,
  Infinity,
];
const LABELS: unknown[] = [
  {},
  { a: 'b' },
  { _x: '' },
  { env: 'prod', rack: 'r1' },
  { a: 'é日本' },
  { a: '\u007f' },
  { a: '\u0085' },
  { a: '\u200b' },
  { a: 'x\u202ey' },
  { a: '\u2066' },
  { a: '\u2069' },
  { a: '\u200e' },
  { a: '\u200f' },
  { a: '\u202a' },
  { a: '\u009b' },
  { a: '\u2067\u202d' },
  { a: 'x'.repeat(256) },
  { a: 'x'.repeat(257) },
  { a: '😀'.repeat(200) },
  { a: '😀'.repeat(257) },
  { a: '\n'.repeat(300) },
  { '1a': 'x' },
  { ['k'.repeat(64)]: 'v' },
  { ['k'.repeat(65)]: 'v' },
  { 'a-b': 'v' },
  { '': 'v' },
  { a: 1 },
  { a: null },
  { a: {} },
  { a: [] },
  { a: 'x', b: 2, c: '\n' },
  { '1a': 7 },
  many(32),
  many(33),
  { ...many(33), '1x': 'v' },
  { ...many(33), a: 3 },
  [],
  ['a=b'],
  'a=b',
  null,
  undefined,
  7,
  new Map([['a', 'b']]),
  Object.assign(Object.create(null) as object, { a: 'b' }),
];

describe('host id: hand-written check and HostIdSchema agree', () => {
  it.each(HOST_IDS.map((v) => [JSON.stringify(v)?.slice(0, 40) ?? String(v), v]))('%s', (_name, v) => {
    expect(viaCheck(checkHostId, v)).toEqual(viaZod(HostIdSchema, v));
  });

  it('on 3,000 generated strings and values', () => {
    const r = rng(1);
    for (let i = 0; i < 3000; i++) {
      const v = i % 3 === 0 ? randomValue(r, [0, 1, SNAPSHOT_LIMITS.hostLength]) : randomString(r, [0, 1, 5, SNAPSHOT_LIMITS.hostLength]);
      expect(viaCheck(checkHostId, v), JSON.stringify(v)).toEqual(viaZod(HostIdSchema, v));
    }
  });

  it('accepts and refuses what the rule says (not only what zod says)', () => {
    expect(viaCheck(checkHostId, 'db-1.example.com')).toEqual({ ok: true, value: 'db-1.example.com' });
    expect(viaCheck(checkHostId, 'a b')).toEqual({ ok: false, issues: [{ path: '', message: 'host id: letters, digits and . _ : @ - only' }] });
  });
});

describe('labels: hand-written check and LabelsSchema agree', () => {
  it.each(LABELS.map((v, i) => [`${i}: ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}`, v]))('%s', (_name, v) => {
    expect(viaCheck(checkLabels, v)).toEqual(viaZod(LabelsSchema, v));
  });

  it('on 3,000 generated records and values', () => {
    const r = rng(2);
    for (let i = 0; i < 3000; i++) {
      let v: unknown;
      if (i % 4 === 0) v = randomValue(r, [0, 3, SNAPSHOT_LIMITS.labelValueLength]);
      else {
        const o: Record<string, unknown> = {};
        const n = r() < 0.1 ? SNAPSHOT_LIMITS.labels + Math.floor(r() * 3) - 1 : Math.floor(r() * 4);
        for (let k = 0; k < n; k++)
          o[r() < 0.8 ? `k${k}` : randomString(r, [1, 3, SNAPSHOT_LIMITS.labelKeyLength])] = r() < 0.85 ? randomString(r, [0, 3, SNAPSHOT_LIMITS.labelValueLength]) : randomValue(r);
        v = o;
      }
      expect(viaCheck(checkLabels, v), JSON.stringify(v)).toEqual(viaZod(LabelsSchema, v));
    }
  });

  it('keeps the labels it accepts, as a new plain object', () => {
    const input = { env: 'prod', rack: 'r1' };
    const out = viaCheck(checkLabels, input);
    expect(out).toEqual({ ok: true, value: input });
    if (out.ok) expect(out.value).not.toBe(input);
  });

  it('refuses C1 controls and bidi overrides, isolates and marks in label values (issue 14), keeps other Unicode', () => {
    for (const c of ['\u0080', '\u009b', '\u009f', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']) {
      expect(viaCheck(checkLabels, { a: `x${c}y` }), JSON.stringify(c)).toEqual({ ok: false, issues: [{ path: 'a', message: 'label value: no control characters or bidi overrides' }] });
    }
    expect(viaCheck(checkLabels, { a: 'é日本 \u00a0\u200b' }).ok).toBe(true);
  });
});
