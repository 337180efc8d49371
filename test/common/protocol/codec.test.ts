import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, ProtocolError, decodeAgentMessage, decodeCollectorMessage, encodeMessage } from '@tcpfleet/common';
import { FIXTURES } from '../../helpers/fixtures.js';

// The corpus is the executable form of docs/protocol.md: every valid message must decode,
// every invalid one must be refused with a ProtocolError and the close code it names.
const dir = `${FIXTURES}protocol/`;
const cases = (kind: string): string[] => readdirSync(dir + kind).sort();

function refusal(raw: Buffer | string): ProtocolError {
  try {
    decodeAgentMessage(raw);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('decoded, but should have been refused');
}

describe('wire corpus', () => {
  it.each(cases('valid'))('accepts valid/%s', (file) => {
    const raw = readFileSync(dir + 'valid/' + file);
    const msg = decodeAgentMessage(raw);
    expect(msg.type).toBe(JSON.parse(raw.toString()).type);
  });

  it.each(cases('invalid'))('refuses invalid/%s with close code 4000 and a reason', (file) => {
    const err = refusal(readFileSync(dir + 'invalid/' + file));
    expect(err.code).toBe('TCPFLEET_ERR_PROTOCOL');
    expect(err.closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
    expect(err.message).toMatch(/^(schema violation at .+: |message is not valid JSON)/);
  });

  it('names the path of the offending field', () => {
    expect(refusal(readFileSync(dir + 'invalid/negative-count.json')).message).toContain('snapshots.0.ipv4.established');
    expect(refusal(readFileSync(dir + 'invalid/host-with-escape.json')).message).toContain('snapshots.0.host');
  });

  it('drops unknown fields (additive protocol changes within a major version)', () => {
    const msg = decodeAgentMessage(readFileSync(dir + 'valid/batch-with-unknown-field.json'));
    expect(msg).not.toHaveProperty('also_new');
    if (msg.type !== 'batch') throw new Error('batch expected');
    expect(msg.snapshots[0]).not.toHaveProperty('future_field');
  });
});

describe('frame-level checks', () => {
  it('refuses a frame over the size cap with 1009 before parsing it', () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 32);
    expect(refusal(big).closeCode).toBe(CLOSE_CODES.TOO_BIG);
  });
  it('refuses invalid UTF-8 with 1007', () => {
    expect(refusal(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])).closeCode).toBe(CLOSE_CODES.INVALID_PAYLOAD);
  });
  it('refuses 100,000-deep nesting without crashing', () => {
    expect(refusal('['.repeat(100_000) + ']'.repeat(100_000)).closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
  });
  it('refuses numbers beyond double range and NaN', () => {
    expect(refusal('{"type":"gap","id":1e400,"boot":"0123456789abcdef","from_seq":1,"to_seq":1,"count":1,"ts":1}').closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
    expect(refusal('{"type":"gap","id":NaN}').closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
  });
  it('round-trips collector messages', () => {
    for (const m of [
      { type: 'welcome', v: 1, host: 'h', heartbeat_ms: 15000, max_batch: 64 },
      { type: 'ack', id: 3, stored: 2, duplicates: 1 },
      { type: 'nack', id: 4, code: 'CLOCK_SKEW', retryable: false, message: 'ahead' },
    ] as const) {
      expect(decodeCollectorMessage(encodeMessage(m))).toEqual(m);
    }
  });
});
