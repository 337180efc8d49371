/**
 * The hand-written batch check (the collector's hot path) against the zod schema it stands in
 * for: same output on valid batches, never accepting what zod refuses, and the zod error wording
 * kept for refused frames.
 */
import { describe, expect, it } from 'vitest';
import { AgentMessageSchema, decodeAgentMessage, ProtocolError } from '@tcpfleet/common';
import { fastBatch } from '../../../packages/common/src/protocol/fast-batch.js';
import { synthSnapshot } from '../../helpers/snapshots.js';
import { expectNamesField } from '../../helpers/offending-field.js';
import type { Offending } from '../../helpers/offending-field.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the cases below reach into and break arbitrary nesting levels of a batch
type Obj = Record<string, any>;
const valid = (): Obj => {
  const s = synthSnapshot('web-7', 1_795_620_130_224, 42, 5) as Obj;
  s['breakdown'] = {
    inbound: [{ port: 443, states: { ...s['states'] } }],
    outbound: [{ addr: '10.0.0.9', port: 5432, states: { ...s['ipv4'] } }],
    other: { inbound: { ...s['ipv6'] }, outbound: { ...s['ipv6'] } },
  };
  return { type: 'batch', id: 7, snapshots: [s] };
};

const MUTATIONS: [string, (m: Obj) => void][] = [
  ['id negative', (m) => (m['id'] = -1)],
  ['id fractional', (m) => (m['id'] = 1.5)],
  ['no snapshots', (m) => (m['snapshots'] = [])],
  ['65 snapshots', (m) => (m['snapshots'] = Array.from({ length: 65 }, () => m['snapshots'][0]))],
  ['host with a space', (m) => (m['snapshots'][0].host = 'web 7')],
  ['host empty', (m) => (m['snapshots'][0].host = '')],
  ['host too long', (m) => (m['snapshots'][0].host = 'a'.repeat(254))],
  ['seq 0', (m) => (m['snapshots'][0].seq = 0)],
  ['ts string', (m) => (m['snapshots'][0].ts = '1')],
  ['boot upper case', (m) => (m['snapshots'][0].boot = 'ABCDEF01')],
  ['interval too small', (m) => (m['snapshots'][0].interval_ms = 99)],
  ['label key not an identifier', (m) => (m['snapshots'][0].labels = { '1x': 'a' })],
  ['label value with a control character', (m) => (m['snapshots'][0].labels = { a: 'x\u0007' })],
  ['33 labels', (m) => (m['snapshots'][0].labels = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])))],
  ['state missing', (m) => delete m['snapshots'][0].states.listen],
  ['state extra key', (m) => (m['snapshots'][0].ipv4.bogus = 1)],
  ['state negative', (m) => (m['snapshots'][0].ipv6.established = -1)],
  ['state fractional', (m) => (m['snapshots'][0].states.established = 0.5)],
  ['summary total negative', (m) => (m['snapshots'][0].summary.total = -3)],
  ['summary extra key', (m) => (m['snapshots'][0].summary.x = 1)],
  ['sockstat missing key', (m) => delete m['snapshots'][0].sockstat.tcp_mem],
  ['counter name with a dash', (m) => (m['snapshots'][0].snmp['Bad-Name'] = 1)],
  ['counter not a number', (m) => (m['snapshots'][0].netstat.TCPTimeouts = '3')],
  ['513 counters', (m) => (m['snapshots'][0].netstat = Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`C${i}`, 1])))],
  ['collect.ms negative', (m) => (m['snapshots'][0].collect.ms = -1)],
  ['collect.errors not strings', (m) => (m['snapshots'][0].collect.errors = [1])],
  ['17 errors', (m) => (m['snapshots'][0].collect.errors = Array.from({ length: 17 }, () => 'e'))],
  ['collect without states_age_ms', (m) => delete m['snapshots'][0].collect.states_age_ms],
  ['breakdown port too big', (m) => (m['snapshots'][0].breakdown.inbound[0].port = 70000)],
  ['breakdown addr not an address', (m) => (m['snapshots'][0].breakdown.outbound[0].addr = 'x.y')],
  ['breakdown other missing', (m) => delete m['snapshots'][0].breakdown.other],
  ['breakdown extra key', (m) => (m['snapshots'][0].breakdown.extra = [])],
  ['snapshot is an array', (m) => (m['snapshots'][0] = [])],
];

// The field each mutation breaks, written down by hand: the refusal must name it.
const OFFENDING: Record<string, Offending> = {
  'id negative': { at: 'id' },
  'id fractional': { at: 'id' },
  'no snapshots': { at: 'snapshots' },
  '65 snapshots': { at: 'snapshots' },
  'host with a space': { at: 'snapshots.0.host' },
  'host empty': { at: 'snapshots.0.host' },
  'host too long': { at: 'snapshots.0.host' },
  'seq 0': { at: 'snapshots.0.seq' },
  'ts string': { at: 'snapshots.0.ts' },
  'boot upper case': { at: 'snapshots.0.boot' },
  'interval too small': { at: 'snapshots.0.interval_ms' },
  'label key not an identifier': { at: 'snapshots.0.labels.1x' },
  'label value with a control character': { at: 'snapshots.0.labels.a' },
  '33 labels': { at: 'snapshots.0.labels' },
  'state missing': { at: 'snapshots.0.states.listen' },
  'state extra key': { at: 'snapshots.0.ipv4', key: 'bogus' },
  'state negative': { at: 'snapshots.0.ipv6.established' },
  'state fractional': { at: 'snapshots.0.states.established' },
  'summary total negative': { at: 'snapshots.0.summary.total' },
  'summary extra key': { at: 'snapshots.0.summary', key: 'x' },
  'sockstat missing key': { at: 'snapshots.0.sockstat.tcp_mem' },
  'counter name with a dash': { at: 'snapshots.0.snmp.Bad-Name' },
  'counter not a number': { at: 'snapshots.0.netstat.TCPTimeouts' },
  '513 counters': { at: 'snapshots.0.netstat' },
  'collect.ms negative': { at: 'snapshots.0.collect.ms' },
  'collect.errors not strings': { at: 'snapshots.0.collect.errors.0' },
  '17 errors': { at: 'snapshots.0.collect.errors' },
  'collect without states_age_ms': { at: 'snapshots.0.collect.states_age_ms' },
  'breakdown port too big': { at: 'snapshots.0.breakdown.inbound.0.port' },
  'breakdown addr not an address': { at: 'snapshots.0.breakdown.outbound.0.addr' },
  'breakdown other missing': { at: 'snapshots.0.breakdown.other' },
  'breakdown extra key': { at: 'snapshots.0.breakdown', key: 'extra' },
  'snapshot is an array': { at: 'snapshots.0' },
};

describe('fastBatch', () => {
  it('gives what the zod schema gives on a valid batch, unknown keys dropped', () => {
    const m = valid();
    m['extra'] = true;
    m['snapshots'][0].future_field = 'x';
    m['snapshots'][0].collect.more = 1;
    const zod = AgentMessageSchema.parse(m);
    const fast = fastBatch(JSON.parse(JSON.stringify(m)));
    expect(fast).not.toBeNull();
    expect(fast).toEqual(zod);
    expect(Object.keys(fast!.snapshots[0]!)).not.toContain('future_field');
    expect(Object.keys(fast!.snapshots[0]!.collect)).not.toContain('more');
  });

  it('accepts a batch without breakdown and a negative summary.closed, as zod does', () => {
    const m = valid();
    delete m['snapshots'][0].breakdown;
    m['snapshots'][0].summary.closed = -4;
    expect(fastBatch(m)).toEqual(AgentMessageSchema.parse(m));
  });

  it.each(MUTATIONS)('refuses (and so does zod): %s', (_name, mutate) => {
    const m = valid();
    mutate(m);
    expect(fastBatch(JSON.parse(JSON.stringify(m)))).toBeNull();
    expect(AgentMessageSchema.safeParse(m).success).toBe(false);
    // The frame is refused with zod's wording.
    expect(() => decodeAgentMessage(JSON.stringify(m))).toThrow(ProtocolError);
    expect(() => decodeAgentMessage(JSON.stringify(m))).toThrow(/schema violation at /);
  });

  it('every mutation has an entry naming its offending field', () => {
    expect(Object.keys(OFFENDING).sort()).toEqual(MUTATIONS.map(([name]) => name).sort());
  });

  it.each(MUTATIONS)('the refusal names the offending field: %s', (name, mutate) => {
    const m = valid();
    mutate(m);
    const field = OFFENDING[name];
    if (field === undefined) throw new Error(`no OFFENDING entry for ${name}`);
    let message = '';
    try {
      decodeAgentMessage(JSON.stringify(m));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      message = err.message;
    }
    expectNamesField(message, field);
  });

  it('leaves what it is unsure of to zod (a counter named __proto__)', () => {
    const m = valid();
    const text = JSON.stringify(m).replace('"RtoAlgorithm"', '"__proto__"');
    expect(fastBatch(JSON.parse(text))).toBeNull();
    const viaZod = AgentMessageSchema.safeParse(JSON.parse(text));
    if (viaZod.success) expect(decodeAgentMessage(text)).toEqual(viaZod.data);
    else expect(() => decodeAgentMessage(text)).toThrow(ProtocolError);
  });
});
