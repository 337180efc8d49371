/**
 * A JSON batch's `namespaces` and `collect.namespaces` (issue 10 item 4): both checks of the
 * collector (the hand-written hot path and the zod schema it falls back to) accept the agent's
 * entries with the same output, drop unknown keys as at the top level, and refuse everything the
 * top level would (all 12 state keys, counts, C1 and bidi marks in names, the entry limit), with
 * one line naming the path. A snapshot without the field is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { AgentMessageSchema, NAMESPACE_WIRE_LIMITS, ProtocolError, decodeAgentMessage } from '@tcpfleet/common';
import { fastBatch } from '../../../packages/common/src/protocol/fast-batch.js';
import { synthSnapshot } from '../../helpers/snapshots.js';
import { withNamespaces } from '../../helpers/ns-entries.js';
import { expectNamesField } from '../../helpers/offending-field.js';
import type { Offending } from '../../helpers/offending-field.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the cases below reach into and break arbitrary nesting levels of a batch
type Obj = Record<string, any>;
const valid = (n = 12): Obj => ({ type: 'batch', id: 7, snapshots: [JSON.parse(JSON.stringify(withNamespaces(synthSnapshot('web-7', 1_795_620_130_224, 42, 5), n, 1)))] });
const BIG = 64 * 1024 * 1024;

function refusal(m: Obj): ProtocolError {
  try {
    decodeAgentMessage(JSON.stringify(m), BIG);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('decoded, but should have been refused');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an entry to break
const ns = (m: Obj, i = 3): any => m['snapshots'][0].namespaces[i];
const docker = (over: Obj): Obj => ({ runtime: 'docker', id: 'a'.repeat(64), ...over });

const MUTATIONS: [string, (m: Obj) => void, Offending][] = [
  ['namespaces not an array', (m) => (m['snapshots'][0].namespaces = {}), { at: 'snapshots.0.namespaces' }],
  [
    `${NAMESPACE_WIRE_LIMITS.entries + 1} entries`,
    (m) => (m['snapshots'][0].namespaces = Array.from({ length: NAMESPACE_WIRE_LIMITS.entries + 1 }, (_, i) => ({ ...ns(m, 0), netns: i + 1 }))),
    { at: 'snapshots.0.namespaces' },
  ],
  ['a netns twice', (m) => (ns(m).netns = ns(m, 2).netns), { at: 'snapshots.0.namespaces' }],
  ['netns 0', (m) => (ns(m).netns = 0), { at: 'snapshots.0.namespaces.3.netns' }],
  ['netns fractional', (m) => (ns(m).netns = 4026531840.5), { at: 'snapshots.0.namespaces.3.netns' }],
  ['netns a string', (m) => (ns(m).netns = '4026531840'), { at: 'snapshots.0.namespaces.3.netns' }],
  ['pid 0', (m) => (ns(m).pid = 0), { at: 'snapshots.0.namespaces.3.pid' }],
  ['pid above the kernel limit', (m) => (ns(m).pid = 4_194_305), { at: 'snapshots.0.namespaces.3.pid' }],
  ['container missing', (m) => delete ns(m).container, { at: 'snapshots.0.namespaces.3.container' }],
  ['unknown runtime', (m) => (ns(m).container = docker({ runtime: 'lxc' })), { at: 'snapshots.0.namespaces.3.container.runtime' }],
  ['container id not hex', (m) => (ns(m).container = docker({ id: 'z'.repeat(64) })), { at: 'snapshots.0.namespaces.3.container.id' }],
  ['container id too short', (m) => (ns(m).container = docker({ id: 'abc' })), { at: 'snapshots.0.namespaces.3.container.id' }],
  ['container id of 129 digits', (m) => (ns(m).container = docker({ id: 'a'.repeat(129) })), { at: 'snapshots.0.namespaces.3.container.id' }],
  ['pod uid with a slash', (m) => (ns(m).container = docker({ pod_uid: '1f2e3d4c/5b6a' })), { at: 'snapshots.0.namespaces.3.container.pod_uid' }],
  ['name with a bidi override', (m) => (ns(m).container = docker({ name: 'evil\u202egnp' })), { at: 'snapshots.0.namespaces.3.container.name' }],
  ['name with a C1 control', (m) => (ns(m).container = docker({ name: 'x\u0085y' })), { at: 'snapshots.0.namespaces.3.container.name' }],
  ['pod with a zero-width space', (m) => (ns(m).container = docker({ pod: 'a\u200bb' })), { at: 'snapshots.0.namespaces.3.container.pod' }],
  ['pod of 254 characters', (m) => (ns(m).container = docker({ pod: 'p'.repeat(254) })), { at: 'snapshots.0.namespaces.3.container.pod' }],
  ['namespace of 64 characters', (m) => (ns(m).container = docker({ namespace: 'n'.repeat(64) })), { at: 'snapshots.0.namespaces.3.container.namespace' }],
  ['name empty', (m) => (ns(m).container = docker({ name: '' })), { at: 'snapshots.0.namespaces.3.container.name' }],
  ['17 other ids', (m) => (ns(m).container = docker({ other_ids: Array.from({ length: 17 }, () => 'b'.repeat(64)) })), { at: 'snapshots.0.namespaces.3.container.other_ids' }],
  ['other id not hex', (m) => (ns(m).container = docker({ other_ids: ['x'] })), { at: 'snapshots.0.namespaces.3.container.other_ids.0' }],
  ['state missing', (m) => delete ns(m).states.closing, { at: 'snapshots.0.namespaces.3.states.closing' }],
  ['state extra key', (m) => (ns(m).ipv4.bogus = 1), { at: 'snapshots.0.namespaces.3.ipv4', key: 'bogus' }],
  ['state negative', (m) => (ns(m).ipv6.established = -1), { at: 'snapshots.0.namespaces.3.ipv6.established' }],
  ['state fractional', (m) => (ns(m).states.listen = 0.5), { at: 'snapshots.0.namespaces.3.states.listen' }],
  ['summary missing key', (m) => delete ns(m).summary.estab, { at: 'snapshots.0.namespaces.3.summary.estab' }],
  ['sockstat negative', (m) => (ns(m).sockstat.tcp_tw = -1), { at: 'snapshots.0.namespaces.3.sockstat.tcp_tw' }],
  ['snmp name with a dash', (m) => (ns(m).snmp['Bad-Name'] = 1), { at: 'snapshots.0.namespaces.3.snmp.Bad-Name' }],
  ['collect missing', (m) => delete ns(m).collect, { at: 'snapshots.0.namespaces.3.collect' }],
  ['states_unchanged not a boolean', (m) => (ns(m).collect.states_unchanged = 1), { at: 'snapshots.0.namespaces.3.collect.states_unchanged' }],
  ['states_age_ms negative', (m) => (ns(m).collect.states_age_ms = -5), { at: 'snapshots.0.namespaces.3.collect.states_age_ms' }],
  ['5 entry errors', (m) => (ns(m).collect.errors = ['a', 'b', 'c', 'd', 'e']), { at: 'snapshots.0.namespaces.3.collect.errors' }],
  ['an entry error of 513 characters', (m) => (ns(m).collect.errors = ['x'.repeat(513)]), { at: 'snapshots.0.namespaces.3.collect.errors.0' }],
  ['collect.namespaces.found negative', (m) => (m['snapshots'][0].collect.namespaces.found = -1), { at: 'snapshots.0.collect.namespaces.found' }],
  ['collect.namespaces.ms above an hour', (m) => (m['snapshots'][0].collect.namespaces.ms = 3_600_001), { at: 'snapshots.0.collect.namespaces.ms' }],
  ['collect.namespaces without errors', (m) => delete m['snapshots'][0].collect.namespaces.errors, { at: 'snapshots.0.collect.namespaces.errors' }],
];

describe('namespaces in a JSON batch', () => {
  it('both checks give the same output, key for key and in order, and it is what the agent sent', () => {
    const m = valid();
    const fast = fastBatch(JSON.parse(JSON.stringify(m)));
    expect(fast).not.toBeNull();
    const zod = AgentMessageSchema.parse(m);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(zod));
    expect(JSON.parse(JSON.stringify(fast))).toEqual(m);
    expect(fast!.snapshots[0]!.namespaces).toHaveLength(12);
  });

  it('drops unknown keys of an entry, its container and collect, as at the top level', () => {
    const m = valid();
    ns(m).future = 1;
    ns(m).container = docker({ future: 'x' });
    ns(m).collect.more = 2;
    m['snapshots'][0].collect.namespaces.later = 3;
    const fast = fastBatch(JSON.parse(JSON.stringify(m)))!;
    expect(JSON.stringify(fast)).toBe(JSON.stringify(AgentMessageSchema.parse(m)));
    const e = fast.snapshots[0]!.namespaces![3]!;
    expect(e).not.toHaveProperty('future');
    expect(e.container).toEqual(docker({}));
    expect(e.collect).not.toHaveProperty('more');
    expect(fast.snapshots[0]!.collect.namespaces).not.toHaveProperty('later');
  });

  it('accepts the limit exactly, an empty list, a null container, and a snapshot without them unchanged', () => {
    const m = valid(1);
    const one = ns(m, 0);
    m['snapshots'][0].namespaces = Array.from({ length: NAMESPACE_WIRE_LIMITS.entries }, (_, i) => ({ ...one, netns: i + 1, container: null }));
    expect(decodeAgentMessage(JSON.stringify(m), BIG)).toMatchObject({ snapshots: [{ namespaces: { length: NAMESPACE_WIRE_LIMITS.entries } }] });
    m['snapshots'][0].namespaces = [];
    expect(fastBatch(m)!.snapshots[0]!.namespaces).toEqual([]);
    const bare = valid();
    delete bare['snapshots'][0].namespaces;
    delete bare['snapshots'][0].collect.namespaces;
    const out = fastBatch(bare)!.snapshots[0]!;
    expect(out).not.toHaveProperty('namespaces');
    expect(out.collect).not.toHaveProperty('namespaces');
    expect(JSON.stringify(out)).toBe(JSON.stringify(AgentMessageSchema.parse(bare).type === 'batch' ? (AgentMessageSchema.parse(bare) as { snapshots: unknown[] }).snapshots[0] : null));
  });

  it.each(MUTATIONS)('refuses %s (both checks), naming the field', (_name, mutate, field) => {
    const m = valid();
    mutate(m);
    expect(fastBatch(JSON.parse(JSON.stringify(m)))).toBeNull();
    expect(AgentMessageSchema.safeParse(m).success).toBe(false);
    const err = refusal(m);
    expect(err.message).not.toContain('\n');
    expectNamesField(err.message, field);
  });
});

describe('the corpus fixture', () => {
  it('valid/batch-with-namespaces.json decodes with its namespaces as written', async () => {
    const { readFileSync } = await import('node:fs');
    const { FIXTURES } = await import('../../helpers/fixtures.js');
    const raw = readFileSync(`${FIXTURES}protocol/valid/batch-with-namespaces.json`, 'utf8');
    const msg = decodeAgentMessage(raw) as { snapshots: Obj[] };
    const sent = (JSON.parse(raw) as { snapshots: Obj[] }).snapshots[0]!;
    expect(msg.snapshots[0]!['namespaces']).toEqual(sent['namespaces']);
    expect(msg.snapshots[0]!['collect'].namespaces).toEqual(sent['collect'].namespaces);
  });
});
