/**
 * bin1 frames with namespaces (frame type 0xB2, codec/namespaces-bytes.ts): decoding gives back
 * exactly what was sent (the JSON path's output for the same snapshots), across a session whose
 * entries are coded against the previous snapshot; the size per namespace in steady state; cut
 * and corrupted frames give a ProtocolError and nothing else; refusals name the entry.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN1_BATCH, BIN1_NS_BATCH, Bin1Decoder, Bin1Encoder, CLOSE_CODES, NAMESPACE_WIRE_LIMITS, PackedSnapshot, ProtocolError, WireReader } from '@tcpfleet/common';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { FIXTURES } from '../../helpers/fixtures.js';
import { plain, refusal, viaJson } from '../../helpers/protocol-cases.js';
import { fixtureSnapshot, synthSnapshot } from '../../helpers/snapshots.js';
import { containerOf, nsEntry, withNamespaces } from '../../helpers/ns-entries.js';

const HOST = 'fixture-host';
const viaJsonBig = (snaps: Snapshot[]): unknown => viaJson(snaps, 16 * 1024 * 1024);
const LABELS = { env: 'test' };

/** A real snapshot of the fixture tree, collect.ms in whole microseconds (bin1 carries µs). */
function top(seq = 1): Snapshot {
  const s = fixtureSnapshot({ seq });
  return { ...s, interval_ms: 10_000, collect: { ...s.collect, ms: 1.234 } };
}

const frameOf = (snaps: Snapshot[]): Buffer => {
  const f = new Bin1Encoder().encode(7, snaps);
  if (f === null) throw new Error('not encodable');
  return f;
};
const decode1 = (f: Uint8Array): Snapshot[] => new Bin1Decoder().decode(f, HOST, LABELS).snapshots;

/** A session's steps: the same namespaces moving (busy ones), appearing, leaving, changing container and pid. */
function session(): Snapshot[][] {
  const t0 = top();
  const s0 = withNamespaces(t0, 30, 0);
  const s1 = withNamespaces(t0, 30, 1);
  const s2 = withNamespaces(t0, 30, 2);
  // Step 2: one namespace gone, one new, one with a new representative pid and container, errors and skipped lines, other counter names.
  const list = s2.namespaces!.filter((_, i) => i !== 3);
  list.push({ ...nsEntry(s2, 40, 2, 10_000), netns: 4026539999 });
  list[5] = { ...list[5]!, pid: 4_194_304, container: { runtime: 'cri-o', id: 'ab'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'pödé-ünïcode', namespace: 'ns' } };
  list[6] = { ...list[6]!, collect: { states_age_ms: 123_456, states_unchanged: false, skipped: 3, errors: ['net/tcp6:3: bad line "x"', 'ünïcode'] } };
  list[7] = { ...list[7]!, snmp: { ActiveOpens: 5, Extra: -7, CurrEstab: list[7]!.snmp['CurrEstab']! } };
  list[8] = { ...list[8]!, summary: { ...list[8]!.summary, closed: -42 }, states: { ...list[8]!.states, listen: list[8]!.states.listen + 1 } };
  const s2b: Snapshot = { ...s2, namespaces: list, collect: { ...s2.collect, namespaces: { ...s2.collect.namespaces!, errors: ['one problem'] } } };
  // Step 3: in reverse order, an empty list; step 4: no namespace part at all; step 5: back.
  const s3 = { ...withNamespaces(t0, 30, 3) };
  s3.namespaces = [...s3.namespaces!].reverse();
  const s4 = { ...withNamespaces(t0, 0, 4) };
  const { namespaces: _n, ...s5plain } = withNamespaces(t0, 30, 5);
  const s5: Snapshot = { ...s5plain, collect: { ...s5plain.collect } };
  delete s5.collect.namespaces;
  const s6 = withNamespaces(t0, 30, 6);
  return [[s0], [s1, s2b], [s3, s4], [s5], [s6]];
}

describe('bin1 frames with namespaces', () => {
  it('decode to exactly what the JSON path gives, frame after frame of one session', () => {
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    let id = 1;
    for (const batch of session()) {
      const frame = enc.encode(id, batch)!;
      expect(frame).not.toBeNull();
      expect(frame[0]).toBe(batch.some((s) => s.namespaces !== undefined || s.collect.namespaces !== undefined) ? BIN1_NS_BATCH : BIN1_BATCH);
      const msg = dec.decode(frame, HOST, LABELS);
      expect(msg.id).toBe(id++);
      const out = plain(msg.snapshots);
      expect(out).toEqual(viaJsonBig(batch.map((s) => ({ ...s, host: HOST, labels: LABELS }))));
      // Key for key and in the same order: the API prints the same text whichever encoding came in.
      expect(JSON.stringify(msg.snapshots)).toBe(JSON.stringify(viaJsonBig(batch.map((s) => ({ ...s, host: HOST, labels: LABELS })))));
    }
  });

  it('exposes namespaces on the PackedSnapshot, in toObject and toJSON', () => {
    const s = withNamespaces(top(), 5, 0);
    const [d] = decode1(frameOf([s]));
    expect(d).toBeInstanceOf(PackedSnapshot);
    expect(d!.namespaces).toHaveLength(5);
    expect((d as unknown as PackedSnapshot).toObject().namespaces).toEqual(s.namespaces);
    expect(plain(d)).toHaveProperty('namespaces');
    expect(plain(d)).toHaveProperty('collect.namespaces', s.collect.namespaces);
  });

  it('sends a snapshot without namespaces as before (0xB1), whatever the session sent before', () => {
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    expect(dec.decode(enc.encode(1, [withNamespaces(top(), 3, 0)])!, HOST, LABELS).snapshots[0]!.namespaces).toHaveLength(3);
    const plainFrame = enc.encode(2, [top(2)])!;
    expect(plainFrame[0]).toBe(BIN1_BATCH);
    expect(dec.decode(plainFrame, HOST, LABELS).snapshots[0]).not.toHaveProperty('namespaces');
  });

  it(`costs at most 120 bytes of frame per namespace in steady state (100 namespaces, 10 busy)`, () => {
    const enc = new Bin1Encoder();
    const bare = new Bin1Encoder();
    const dec = new Bin1Decoder();
    const t0 = top();
    const perNs: number[] = [];
    let first = 0;
    for (let t = 0; t < 8; t++) {
      const s = withNamespaces(t0, 100, t);
      const f = enc.encode(t + 1, [s])!;
      const without = bare.encode(t + 1, [{ ...s, namespaces: undefined, collect: { ...s.collect, namespaces: undefined } } as unknown as Snapshot])!;
      expect(plain(dec.decode(f, HOST, LABELS).snapshots)).toEqual(viaJsonBig([{ ...s, host: HOST, labels: LABELS }]));
      const bytes = (f.length - without.length) / 100;
      if (t === 0) first = bytes;
      else perNs.push(bytes);
    }
    const steady = Math.max(...perNs);
    const json = Buffer.byteLength(JSON.stringify(withNamespaces(t0, 100, 1).namespaces)) / 100;
    console.log(`bin1 bytes per namespace: first frame of a session ${first.toFixed(1)}, steady state max ${steady.toFixed(1)} (JSON ${json.toFixed(0)})`);
    expect(steady).toBeLessThanOrEqual(120);
    // Busy namespaces cost more than quiet ones, but the quiet ones are nearly free.
    expect(steady).toBeLessThan(first);
  });

  it('refuses a frame cut at any byte with close code 4000 and a reason, never another error', () => {
    const steps = session();
    const enc = new Bin1Encoder();
    const frames = steps.map((b, i) => enc.encode(i + 1, b)!);
    // Cut the second frame (coded against the first) at every byte, in a session that has the first.
    const f = frames[1]!;
    for (let k = 0; k < f.length; k++) {
      const dec = new Bin1Decoder();
      dec.decode(frames[0]!, HOST, LABELS);
      const err = refusal(() => dec.decode(f.subarray(0, k), HOST, LABELS));
      expect(err.closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
      expect(err.message).toMatch(/^binary batch: /);
    }
  });

  it('never throws anything but ProtocolError on corrupted bytes (3,000 seeded byte flips)', () => {
    const steps = session();
    const enc = new Bin1Encoder();
    const frames = steps.map((b, i) => enc.encode(i + 1, b)!);
    let x = 4242;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const dec = new Bin1Decoder();
      const which = i % 2;
      if (which === 1) dec.decode(frames[0]!, HOST, LABELS);
      const f = Buffer.from(frames[which]!);
      for (let j = 0; j < 1 + rnd(3); j++) f[rnd(f.length)] = rnd(256);
      try {
        for (const s of dec.decode(f, HOST, LABELS).snapshots) JSON.stringify(s);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  const one = (change: (e: NamespaceEntry) => NamespaceEntry): Snapshot => {
    const s = withNamespaces(top(), 4, 0);
    return { ...s, namespaces: s.namespaces!.map((e, i) => (i === 2 ? change(e) : e)) };
  };

  it.each([
    ['a negative state count', (e: NamespaceEntry) => ({ ...e, ipv4: { ...e.ipv4, established: -1 } }), 'binary batch: snapshot 1: namespaces[2].ipv4: -1 is outside 0..9007199254740991'],
    ['a pid above the kernel limit', (e: NamespaceEntry) => ({ ...e, pid: 4_194_305 }), 'binary batch: snapshot 1: namespaces[2].pid: 4194305 is outside 1..4194304'],
    [
      'a container name with a bidi override',
      (e: NamespaceEntry) => ({ ...e, container: { runtime: 'docker' as const, id: 'a'.repeat(64), name: 'evil\u202egnp' } }),
      'binary batch: container name: no control characters, bidi or invisible formatting marks',
    ],
    [
      'a pod name with a C1 control',
      (e: NamespaceEntry) => ({ ...e, container: { runtime: 'docker' as const, id: 'a'.repeat(64), pod: 'x\u0085y' } }),
      'binary batch: container pod: no control characters, bidi or invisible formatting marks',
    ],
    [
      'a namespace name of 64 characters',
      (e: NamespaceEntry) => ({ ...e, container: { runtime: 'docker' as const, id: 'a'.repeat(64), namespace: 'n'.repeat(64) } }),
      'binary batch: container namespace: 1 to 63 characters',
    ],
    ['an upper-case container id', (e: NamespaceEntry) => ({ ...e, container: { runtime: 'docker' as const, id: 'A'.repeat(64) } }), 'binary batch: container id: lowercase hex digits'],
    [
      'an error of 513 characters',
      (e: NamespaceEntry) => ({ ...e, collect: { ...e.collect, errors: ['x'.repeat(513)] } }),
      'binary batch: snapshot 1: namespaces[2].collect.errors: longer than 512 characters',
    ],
    [
      '5 errors',
      (e: NamespaceEntry) => ({ ...e, collect: { ...e.collect, errors: ['a', 'b', 'c', 'd', 'e'] } }),
      'binary batch: snapshot 1: namespaces[2].collect.errors count: 5 is above the limit 4',
    ],
    ['a netns twice', (e: NamespaceEntry) => ({ ...e, netns: 4026532204 }), 'binary batch: snapshot 1: namespaces[2].netns: 4026532204 appears twice'],
  ] as const)('refuses %s, naming it', (_what, change, message) => {
    expect(refusal(() => decode1(frameOf([one(change)]))).message).toBe(message);
  });

  it(`refuses more than ${NAMESPACE_WIRE_LIMITS.entries} namespaces in a snapshot; the encoder does not make such a frame`, () => {
    const s = withNamespaces(top(), 1, 0);
    delete s.collect.namespaces;
    const many = { ...s, namespaces: Array.from({ length: NAMESPACE_WIRE_LIMITS.entries + 1 }, (_, i) => ({ ...s.namespaces![0]!, netns: 1 + i })) };
    expect(new Bin1Encoder().encode(1, [many])).toBeNull();
    const ok = frameOf([{ ...many, namespaces: many.namespaces.slice(0, NAMESPACE_WIRE_LIMITS.entries) }]);
    expect(decode1(ok)[0]!.namespaces).toHaveLength(NAMESPACE_WIRE_LIMITS.entries);
    const err = refusal(() => decode1(bumpCount(ok, NAMESPACE_WIRE_LIMITS.entries)));
    expect(err.message).toBe(`binary batch: snapshot 1: namespace count: ${NAMESPACE_WIRE_LIMITS.entries + 1} is above the limit ${NAMESPACE_WIRE_LIMITS.entries}`);
  });

  it('gives null (send JSON) for an entry it cannot carry exactly, and leaves the session as it was', () => {
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    dec.decode(enc.encode(1, [withNamespaces(top(), 3, 0)])!, HOST, LABELS);
    const odd = withNamespaces(top(), 3, 1);
    odd.namespaces![1] = { ...odd.namespaces![1]!, sockstat: { ...odd.namespaces![1]!.sockstat, tcp_tw: 1.5 } };
    expect(enc.encode(2, [odd])).toBeNull();
    expect(enc.tooBig).toBe(false);
    const next = withNamespaces(top(), 3, 2);
    expect(plain(dec.decode(enc.encode(3, [next])!, HOST, LABELS).snapshots)).toEqual(viaJsonBig([{ ...next, host: HOST, labels: LABELS }]));
    // Too big for the limit given: null and tooBig, and again nothing changed.
    expect(enc.encode(4, [withNamespaces(top(), 3, 3)], 100)).toBeNull();
    expect(enc.tooBig).toBe(true);
    const after = withNamespaces(top(), 3, 4);
    expect(plain(dec.decode(enc.encode(5, [after])!, HOST, LABELS).snapshots)).toEqual(viaJsonBig([{ ...after, host: HOST, labels: LABELS }]));
  });

  it('refuses an entry whose container slot was not declared in this session', () => {
    const enc = new Bin1Encoder();
    const layout = enc.encode(1, [top()])!;
    const first = enc.encode(2, [withNamespaces(top(), 2, 0)])!;
    const second = enc.encode(3, [withNamespaces(top(), 2, 1)])!;
    const a = new Bin1Decoder();
    a.decode(layout, HOST, LABELS);
    expect(a.decode(first, HOST, LABELS).snapshots[0]!.namespaces![0]!.container).toEqual(containerOf(0));
    expect(a.decode(second, HOST, LABELS).snapshots[0]!.namespaces![0]!.container).toEqual(containerOf(0));
    // A session that missed the frame declaring the containers and the entries' pids.
    const b = new Bin1Decoder();
    b.decode(layout, HOST, LABELS);
    expect(refusal(() => b.decode(second, HOST, LABELS)).message).toBe('binary batch: snapshot 1: namespaces[0].pid: missing for a namespace new to this session');
    // And one whose entry names a container slot never declared: the second frame with the first entry's pid flag set by hand is not needed;
    // a frame declaring nothing but naming slot 0 is the first frame with its definitions removed.
    const c = new Bin1Decoder();
    c.decode(layout, HOST, LABELS);
    expect(refusal(() => c.decode(withoutDefinitions(first), HOST, LABELS)).message).toBe('binary batch: snapshot 1: namespaces[0].container: slot 0 was not declared in this session');
  });

  it('matches the golden frame with namespaces (the format is a contract: docs/protocol.md)', () => {
    const base = synthSnapshot('golden', 1_795_000_000_000, 9, 5);
    const s = withNamespaces(base, 3, 0);
    const next = withNamespaces(base, 3, 1);
    const enc = new Bin1Encoder();
    const hex = `${enc.encode(3, [s])!.toString('hex')}\n${enc.encode(4, [next])!.toString('hex')}\n`;
    const golden = readFileSync(`${FIXTURES}protocol/bin1/batch-namespaces.hex`, 'utf8');
    expect(hex).toBe(golden);
    const dec = new Bin1Decoder();
    const [a, b] = golden
      .trim()
      .split('\n')
      .map((h) => dec.decode(Buffer.from(h, 'hex'), 'golden', { role: 'test' }).snapshots[0]);
    expect(plain(a)).toEqual(plain(s));
    expect(plain(b)).toEqual(plain(next));
  });
});

/**
 * The frame with its container definitions left out (their count made 0): the frame header is
 * 0xB2, u(id) < 128, u(0 layouts) (the layout was declared before), then u(definitions).
 */
function withoutDefinitions(frame: Buffer): Buffer {
  if (frame[0] !== 0xb2 || frame[2] !== 0) throw new Error('unexpected header');
  const r = new WireReader(frame, 3);
  const n = r.u('defs');
  // Each definition: u(slot) u(runtime) text(id) u(mask) texts... : skip them with a decoder of one definition at a time.
  let pos = r.pos;
  for (let i = 0; i < n; i++) pos = skipContainer(frame, pos);
  return Buffer.concat([frame.subarray(0, 3), Buffer.from([0]), frame.subarray(pos)]);
}

function skipContainer(f: Buffer, at: number): number {
  const r = new WireReader(f, at);
  r.u('slot');
  r.u('runtime');
  r.bytes('id', 1000);
  const mask = r.u('mask');
  for (const bit of [1, 2, 4, 8]) if (mask & bit) r.bytes('text', 10_000);
  if (mask & 16) {
    const k = r.u('n');
    for (let i = 0; i < k; i++) r.bytes('id', 1000);
  }
  return r.pos;
}

/** varint bytes of n. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** The frame with the namespace count of its only snapshot (right after the parts byte 2: entries, no collect.namespaces) raised by one. */
function bumpCount(frame: Buffer, count: number): Buffer {
  const at = frame.indexOf(Buffer.from([2, ...varint(count)]));
  if (at < 0) throw new Error('count not found');
  const out = Buffer.from(frame);
  out.set(varint(count + 1), at + 1);
  return out;
}
