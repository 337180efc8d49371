/**
 * The agent decodes the collector's frames (welcome, ack, nack) with a hand-written check (it
 * loads no zod); CollectorMessageSchema is the same rule in zod. Both run here on the same
 * inputs, listed and generated, and must agree on every problem (path and words) and on the
 * output; the refusal is the ProtocolError "schema violation at <path>: <problem>" with close code
 * 4000, and bad frames (size, UTF-8, JSON) are refused as the collector's own decoder refuses them.
 */
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, CollectorMessageSchema, ProtocolError, decodeAgentMessage, decodeCollectorMessage as viaIndex } from '@tcpfleet/common';
import { checkCollectorMessage, decodeCollectorMessage, encodeMessage } from '@tcpfleet/common/agent';
import type { Check } from '@tcpfleet/common/agent';
import { randomString, randomValue, rng, viaCheck, viaZod } from '../../helpers/parity.js';

// checkCollectorMessage as a Check, so viaCheck can compare it with zod.
const asCheck: Check<unknown> = (v, _path, issues) => {
  const r = checkCollectorMessage(v);
  if (r.ok) return r.message;
  issues.push(...r.issues);
  return undefined;
};

function refusal(raw: Buffer | string, decode: (raw: Buffer | string) => unknown): ProtocolError {
  try {
    decode(raw);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('decoded, but should have been refused');
}

const welcome = { type: 'welcome', v: 1, host: 'h', heartbeat_ms: 15000, max_batch: 64 };
const CASES: unknown[] = [
  welcome,
  { ...welcome, encodings: ['json', 'bin1'] },
  { ...welcome, encodings: [] },
  { ...welcome, encodings: Array(8).fill('json') },
  { ...welcome, encodings: Array(9).fill('json') },
  { ...welcome, encodings: ['x'.repeat(32)] },
  { ...welcome, encodings: ['x'.repeat(33)] },
  { ...welcome, encodings: ['json', 7] },
  { ...welcome, encodings: 'json' },
  { ...welcome, encodings: null },
  { ...welcome, encodings: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
  { ...welcome, encodings: ['😀'.repeat(20)] },
  { ...welcome, future: { a: 1 } },
  { ...welcome, encodings: ['json', 'bin1'], features: ['ns1'] },
  { ...welcome, features: [] },
  { ...welcome, features: Array(9).fill('ns1') },
  { ...welcome, features: ['x'.repeat(33)] },
  { ...welcome, features: 'ns1' },
  { ...welcome, features: [1] },
  null,
  [],
  'x',
  5,
  {},
  { type: 'x' },
  { type: 5 },
  { type: 'hello' },
  { type: 'toString' },
  { type: 'welcome' },
  { type: 'welcome', v: 1.5, host: 3, heartbeat_ms: -1, max_batch: 0 },
  { ...welcome, v: 2 ** 60 },
  { ...welcome, heartbeat_ms: NaN },
  { type: 'ack', id: 3, stored: 2, duplicates: 1 },
  { type: 'ack', id: -1, stored: 1.5, duplicates: 'x' },
  { type: 'ack', id: 2 ** 60, stored: 0, duplicates: 0 },
  { type: 'ack', id: 1, stored: 0 },
  { type: 'nack', id: 4, code: 'CLOCK_SKEW', retryable: false, message: 'ahead' },
  { type: 'nack', id: 1, code: 'x'.repeat(65), retryable: 'no', message: 'm'.repeat(1025) },
  { type: 'nack', id: 1, code: 'C', retryable: true, message: '' },
];

describe('collector messages: hand-written decoder and CollectorMessageSchema agree', () => {
  it.each(CASES.map((v, i) => [`${i}: ${JSON.stringify(v)?.slice(0, 70) ?? String(v)}`, v]))('%s', (_name, v) => {
    expect(viaCheck(asCheck, v)).toEqual(viaZod(CollectorMessageSchema, v));
  });

  it('on 3,000 generated messages', () => {
    const r = rng(4);
    const shapes = { welcome: ['v', 'host', 'heartbeat_ms', 'max_batch', 'encodings'], ack: ['id', 'stored', 'duplicates'], nack: ['id', 'code', 'retryable', 'message'] };
    const base: Record<string, Record<string, unknown>> = { welcome, ack: { type: 'ack', id: 3, stored: 2, duplicates: 1 }, nack: { type: 'nack', id: 4, code: 'C', retryable: false, message: 'm' } };
    for (let i = 0; i < 3000; i++) {
      const type = (['welcome', 'ack', 'nack'] as const)[Math.floor(r() * 3)] ?? 'ack';
      const m: Record<string, unknown> = { ...base[type] };
      for (let k = Math.floor(r() * 3); k > 0; k--) {
        const keys = shapes[type];
        const key = r() < 0.9 ? (keys[Math.floor(r() * keys.length)] ?? 'id') : randomString(r, [2]);
        m[key] = key === 'encodings' && r() < 0.7 ? Array.from({ length: Math.floor(r() * 11) }, () => (r() < 0.9 ? randomString(r, [4, 32]) : randomValue(r))) : randomValue(r, [0, 4, 64, 1024]);
      }
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the fuzzer drops a required key on purpose
      if (r() < 0.05) delete m[shapes[type][0] ?? 'id'];
      expect(viaCheck(asCheck, m), JSON.stringify(m)).toEqual(viaZod(CollectorMessageSchema, m));
    }
  });
});

describe('decodeCollectorMessage', () => {
  it('is one function, whichever entry it is imported from', () => {
    expect(viaIndex).toBe(decodeCollectorMessage);
  });

  it('keeps encodings and drops unknown keys', () => {
    const m = decodeCollectorMessage(JSON.stringify({ ...welcome, encodings: ['json', 'bin1'], future: 1 }));
    expect(m).toEqual({ ...welcome, encodings: ['json', 'bin1'] });
    expect(decodeCollectorMessage(JSON.stringify(welcome))).not.toHaveProperty('encodings');
  });

  it('refuses a schema violation with 4000 and the first problem, worded as before', () => {
    const err = refusal(JSON.stringify({ ...welcome, encodings: ['json', 'x'.repeat(33)] }), decodeCollectorMessage);
    expect(err.closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
    expect(err.message).toBe('schema violation at encodings.1: Too big: expected string to have <=32 characters');
    expect(refusal('[]', decodeCollectorMessage).message).toBe('schema violation at (message): Invalid input: expected object, received array');
    expect(refusal('{"type":"hello"}', decodeCollectorMessage).message).toBe("schema violation at type: Invalid discriminator value. Expected 'welcome' | 'ack' | 'nack'");
  });

  it('refuses bad frames with the same close code and words as the collector-side decoder', () => {
    const frames: (Buffer | string)[] = [
      Buffer.alloc(2 * 1024 * 1024, 32),
      'x'.repeat(2 * 1024 * 1024),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      '{"type":',
      '{"type":"ack","id":NaN}',
      '['.repeat(100_000) + ']'.repeat(100_000),
    ];
    for (const f of frames) {
      const mine = refusal(f, decodeCollectorMessage);
      const theirs = refusal(f, decodeAgentMessage);
      expect([mine.closeCode, mine.message.replace(/^schema violation.*/, 'schema')]).toEqual([theirs.closeCode, theirs.message.replace(/^schema violation.*/, 'schema')]);
    }
    expect(refusal(Buffer.alloc(2 * 1024 * 1024, 32), decodeCollectorMessage).closeCode).toBe(CLOSE_CODES.TOO_BIG);
    expect(refusal(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), decodeCollectorMessage).closeCode).toBe(CLOSE_CODES.INVALID_PAYLOAD);
  });

  it('round-trips what the agent entry encodes, from every frame form ws hands over', () => {
    const text = encodeMessage({ type: 'ack', id: 3, stored: 2, duplicates: 1 });
    const buf = Buffer.from(text);
    for (const raw of [text, buf, [buf.subarray(0, 5), buf.subarray(5)], buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)]) {
      expect(decodeCollectorMessage(raw)).toEqual({ type: 'ack', id: 3, stored: 2, duplicates: 1 });
    }
  });
});
