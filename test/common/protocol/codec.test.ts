import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, ProtocolError, decodeAgentMessage, decodeCollectorMessage, encodeMessage } from '@tcpfleet/common';
import { FIXTURES } from '../../helpers/fixtures.js';
import { expectNamesField } from '../../helpers/offending-field.js';
import type { Offending } from '../../helpers/offending-field.js';

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

// The field each invalid case is about, written down by hand (not taken from the decoder's output):
// the refusal must name it. A new invalid case without an entry here fails 'every invalid case has an entry'.
// `null`: the bytes are not JSON, so there is no field; the refusal names the byte position instead.
const OFFENDING: Record<string, Offending | null> = {
  'addr-not-an-ip.json': { at: 'snapshots.0.breakdown.outbound.3.addr' },
  'batch-too-large.json': { at: 'snapshots' },
  'counter-name-injection.json': { at: "snapshots.0.snmp.x'); DROP TABLE hosts;--" },
  'empty-batch.json': { at: 'snapshots' },
  'fractional-count.json': { at: 'snapshots.0.states.listen' },
  'hello-agent-c1-control.json': { at: 'agent' },
  'hello-label-bidi-override.json': { at: 'labels.owner' },
  'hello-without-host.json': { at: 'host' },
  'host-too-long.json': { at: 'snapshots.0.host' },
  'host-with-escape.json': { at: 'snapshots.0.host' },
  'host-with-spaces.json': { at: 'snapshots.0.host' },
  'label-value-control-char.json': { at: 'snapshots.0.labels.env' },
  'missing-state-key.json': { at: 'snapshots.0.states.closing' },
  'negative-count.json': { at: 'snapshots.0.ipv4.established' },
  'namespace-missing-state-key.json': { at: 'snapshots.0.namespaces.1.states.closing' },
  'namespace-name-bidi-override.json': { at: 'snapshots.0.namespaces.0.container.name' },
  'namespace-netns-zero.json': { at: 'snapshots.0.namespaces.0.netns' },
  'namespace-unknown-runtime.json': { at: 'snapshots.0.namespaces.0.container.runtime' },
  'not-an-object.json': { at: '(message)' },
  'port-out-of-range.json': { at: 'snapshots.0.breakdown.inbound.3.port' },
  'seq-zero.json': { at: 'snapshots.0.seq' },
  'string-count.json': { at: 'snapshots.0.states.listen' },
  'too-many-labels.json': { at: 'snapshots.0.labels' },
  'truncated-json.json': null,
  'unknown-state-key.json': { at: 'snapshots.0.states', key: 'bogus' },
  'unknown-type.json': { at: 'type' },
};

/** Paths where two JSON values differ (a key present on one side only is a difference at that key). */
function differences(a: unknown, b: unknown, path: string[] = [], out: string[] = []): string[] {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    if (a !== b) out.push(path.join('.'));
    return out;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) differences(x[k], y[k], [...path, k], out);
  return out;
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

  it('every invalid case has an entry naming its offending field', () => {
    expect(Object.keys(OFFENDING).sort()).toEqual(cases('invalid'));
  });

  it.each(cases('invalid'))('invalid/%s: the refusal names the offending field', (file) => {
    const err = refusal(readFileSync(dir + 'invalid/' + file));
    const field = OFFENDING[file];
    if (field === undefined) throw new Error(`no OFFENDING entry for ${file}`);
    if (field === null) expect(err.message).toMatch(/^message is not valid JSON: .*position \d+/);
    else expectNamesField(err.message, field);
  });

  // Independent of the decoder: each case was made by changing a valid message of its type
  // (valid/<type>.json, else valid/batch.json); the field its entry names must be where it was changed.
  it.each(Object.entries(OFFENDING).filter(([file]) => file !== 'truncated-json.json'))('invalid/%s was changed where its entry says', (file, field) => {
    if (field === null) throw new Error(`${file}: JSON, so its entry needs a field`);
    const bad: unknown = JSON.parse(readFileSync(dir + 'invalid/' + file, 'utf8'));
    const type = (bad as { type?: unknown }).type;
    const baseFile = typeof type === 'string' && existsSync(`${dir}valid/${type}.json`) ? `${type}.json` : 'batch.json';
    const changed = differences(JSON.parse(readFileSync(dir + 'valid/' + baseFile, 'utf8')), bad).filter((p) => p !== 'id');
    const at = field.at === '(message)' ? '' : field.key === undefined ? field.at : `${field.at}.${field.key}`;
    const onPath = (p: string): boolean => at === '' || p === at || p.startsWith(`${at}.`) || at.startsWith(`${p}.`);
    expect(changed.filter(onPath), `${file} vs valid/${baseFile}: changed ${changed.slice(0, 5).join(', ')}; entry says ${at}`).not.toEqual([]);
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
