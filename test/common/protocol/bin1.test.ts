import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BIN1_BATCH, Bin1Decoder, Bin1Encoder, CLOSE_CODES, MAX_BATCH, BIN1_LIMITS, PackedSnapshot, ProtocolError, VarintWriter, encodeMessage, encodeValues } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { FIXTURES } from '../../helpers/fixtures.js';
import { plain, refusal, viaJson } from '../../helpers/protocol-cases.js';
import { fixtureSnapshot, synthSnapshot } from '../../helpers/snapshots.js';

const HOST = 'fixture-host';
const LABELS = { env: 'test' };

/** A real snapshot of the fixture tree, breakdown included, collect.ms in whole microseconds (bin1 carries µs). */
function real(seq: number, over: Partial<Snapshot> = {}): Snapshot {
  const s = fixtureSnapshot({ seq });
  return { ...s, collect: { ...s.collect, ms: 1.234 }, ...over };
}

/** A frame for one snapshot, with its bytes changed by `edit` before encoding. */
function frameOf(s: Snapshot): Buffer {
  const f = new Bin1Encoder().encode(7, [s]);
  if (f === null) throw new Error('not encodable');
  return f;
}
const decode1 = (f: Uint8Array): Snapshot[] => new Bin1Decoder().decode(f, HOST, LABELS).snapshots;

describe('bin1 batch frames', () => {
  it('decode to exactly what the JSON path gives for the same snapshots (breakdown, errors, both families)', () => {
    const snaps = [real(1), real(2, { collect: { ms: 0.5, bytes: 10, skipped: 2, errors: ['net/tcp:3: bad line "x"', 'ünïcode'], states_age_ms: 20_000 } })];
    expect(snaps[0]!.breakdown).toBeDefined();
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    const frame = enc.encode(42, snaps)!;
    const msg = dec.decode(frame, HOST, LABELS);
    expect(msg.id).toBe(42);
    expect(plain(msg.snapshots)).toEqual(viaJson(snaps));
    // Once the layout (the counter names) is declared, a frame is a small part of the JSON text.
    const again = enc.encode(43, snaps)!;
    expect(plain(dec.decode(again, HOST, LABELS).snapshots)).toEqual(viaJson(snaps));
    const json = Buffer.byteLength(encodeMessage({ type: 'batch', id: 43, snapshots: snaps }));
    expect(again.length * 5).toBeLessThan(json);
  });

  it('carries the values blob byte for byte as the store encodes it', () => {
    const s = real(3);
    const [d] = decode1(frameOf(s));
    const packed = PackedSnapshot.packed(d!);
    expect(packed).toBeDefined();
    expect(Buffer.from(packed!.values).equals(encodeValues(s))).toBe(true);
    expect(packed!.layout.text).toBe(`${Object.keys(s.snmp).join(',')}|${Object.keys(s.netstat).join(',')}`);
  });

  it("copies a snapshot's bytes out of a socket read that holds more than its frame (the fleet keeps the latest snapshot of every host)", () => {
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    dec.decode(enc.encode(1, [real(1)])!, HOST, LABELS);
    const frame = enc.encode(2, [real(2)])!;
    // Alone in its read: the snapshot's views stay on the read's bytes (no copy).
    const alone = new Uint8Array(frame);
    const [a] = dec.decode(alone, HOST, LABELS).snapshots;
    expect(PackedSnapshot.packed(a!)!.values.buffer).toBe(alone.buffer);
    // One frame of a 3 KiB read (several frames read at once after a pause): copied, so the
    // snapshot does not keep the whole read alive; the bytes are the same.
    const read = new Uint8Array(3072);
    read.set(enc.encode(3, [real(3)])!, 100);
    const f3 = read.subarray(100, 100 + enc.encode(3, [real(3)])!.length);
    const [b] = dec.decode(f3, HOST, LABELS).snapshots;
    const packed = PackedSnapshot.packed(b!)!;
    expect(packed.values.buffer).not.toBe(read.buffer);
    expect(Buffer.from(packed.values).equals(encodeValues(real(3)))).toBe(true);
    expect(plain([b!])).toEqual(viaJson([real(3)]));
    // Two frames of a small read (an agent's frames read at once under a backlog): each copied,
    // so the latest snapshot of a host keeps its own bytes only, not its neighbours'.
    const f4 = enc.encode(4, [real(4)])!;
    const f5 = enc.encode(5, [real(5)])!;
    const two = new Uint8Array(6 + f4.length + 6 + f5.length);
    two.set(f4, 6);
    two.set(f5, 12 + f4.length);
    expect(two.length).toBeLessThan(2048);
    for (const [f, at] of [
      [f4, 6],
      [f5, 12 + f4.length],
    ] as const) {
      const [c] = dec.decode(two.subarray(at, at + f.length), HOST, LABELS).snapshots;
      expect(PackedSnapshot.packed(c!)!.values.buffer).not.toBe(two.buffer);
    }
    // A frame alone in its read with its WebSocket header (masked client frame: 8 bytes): a view.
    const withHeader = new Uint8Array(8 + frame.length);
    withHeader.set(frame, 8);
    const [d] = dec.decode(withHeader.subarray(8), HOST, LABELS).snapshots;
    expect(PackedSnapshot.packed(d!)!.values.buffer).toBe(withHeader.buffer);
  });

  it('declares a layout once per session; a new session without the declaration is refused', () => {
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    const first = enc.encode(1, [real(1)])!;
    const second = enc.encode(2, [real(2)])!;
    expect(second.length).toBeLessThan(first.length - 500);
    expect(dec.decode(first, HOST, LABELS).snapshots[0]!.seq).toBe(1);
    expect(dec.decode(second, HOST, LABELS).snapshots[0]!.seq).toBe(2);
    expect(dec.layouts).toBe(1);
    expect(refusal(() => new Bin1Decoder().decode(second, HOST, LABELS)).message).toBe('binary batch: snapshot 1: layout 1 was not declared in this session');
  });

  it('handles two kernels (layouts) in one batch', () => {
    const a = synthSnapshot('h', 1000, 1, 3);
    const b = { ...synthSnapshot('h', 2000, 2, 4), snmp: { ActiveOpens: 5, Extra: -7 } };
    const out = decode1(new Bin1Encoder().encode(1, [a, b])!);
    expect(out.map((s) => s.snmp)).toEqual([a.snmp, b.snmp]);
    expect(out.map((s) => s.netstat)).toEqual([a.netstat, b.netstat]);
  });

  it('gives every snapshot the session host and labels, whatever the agent had in it', () => {
    const [d] = decode1(frameOf({ ...real(1), host: 'someone-else', labels: { env: 'prod' } }));
    expect(d!.host).toBe(HOST);
    expect(d!.labels).toEqual(LABELS);
  });

  it('matches the golden frame (the format is a contract: docs/protocol.md)', () => {
    const s = {
      ...synthSnapshot('golden', 1_795_000_000_000, 9, 5),
      breakdown: {
        inbound: [{ port: 443, states: { ...synthSnapshot('x', 0, 1, 1).ipv4 } }],
        outbound: [{ addr: '10.0.0.1', port: 5432, states: synthSnapshot('x', 0, 1, 2).ipv6 }],
        other: { inbound: synthSnapshot('x', 0, 1, 3).ipv4, outbound: synthSnapshot('x', 0, 1, 4).ipv4 },
      },
    };
    const frame = new Bin1Encoder().encode(3, [s])!;
    const golden = readFileSync(`${FIXTURES}protocol/bin1/batch.hex`, 'utf8').replace(/\s+/g, '');
    expect(frame.toString('hex')).toBe(golden);
    const [d] = new Bin1Decoder().decode(Buffer.from(golden, 'hex'), 'golden', { role: 'test' }).snapshots;
    expect(plain(d)).toEqual(plain(s));
  });

  it('refuses a frame cut at any byte with close code 4000 and a reason, never another error', () => {
    const frame = new Bin1Encoder().encode(5, [real(1), real(2)])!;
    for (let k = 0; k < frame.length; k++) {
      const err = refusal(() => decode1(frame.subarray(0, k)));
      expect(err.closeCode).toBe(CLOSE_CODES.BAD_MESSAGE);
      expect(err.message).toMatch(/^binary batch: /);
    }
  });

  it('never throws anything but ProtocolError on corrupted bytes (2,000 seeded byte flips)', () => {
    const frame = new Bin1Encoder().encode(5, [real(1)])!;
    let x = 12345;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const f = Buffer.from(frame);
      for (let j = 0; j < 1 + rnd(3); j++) f[rnd(f.length)] = rnd(256);
      try {
        for (const s of decode1(f)) JSON.stringify(s);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(500);
  });

  it.each([
    ['a negative state count', { ipv4: { ...real(1).ipv4, established: -1 } }, 'binary batch: snapshot 1: ipv4: must not be negative'],
    ['seq 0', { seq: 0 }, 'binary batch: snapshot 1: seq: at least 1'],
    ['an interval below 100 ms', { interval_ms: 50 }, 'binary batch: snapshot 1: interval_ms: 50 is outside 100..86400000'],
    ['a boot id that is not hex', { boot: 'NOT-A-BOOT-ID' }, 'binary batch: snapshot 1: boot: a hex id'],
    ['a short boot id', { boot: 'abc' }, 'binary batch: snapshot 1: boot: shorter than 8 characters'],
    ['17 errors', { collect: { ms: 1, bytes: 1, skipped: 0, errors: Array.from({ length: 17 }, () => 'e'), states_age_ms: 0 } }, 'binary batch: snapshot 1: error count: 17 is above the limit 16'],
    ['an error of 513 characters', { collect: { ms: 1, bytes: 1, skipped: 0, errors: ['x'.repeat(513)], states_age_ms: 0 } }, 'binary batch: snapshot 1: error: longer than 512 characters'],
    ['collect.ms above an hour', { collect: { ms: 3_600_001, bytes: 1, skipped: 0, errors: [], states_age_ms: 0 } }, 'binary batch: snapshot 1: collect.ms: above 3600000'],
    [
      'a port above 65535 in the breakdown',
      { breakdown: { inbound: [{ port: 70000, states: real(1).ipv4 }], outbound: [], other: { inbound: real(1).ipv4, outbound: real(1).ipv4 } } },
      'binary batch: snapshot 1: breakdown.inbound port: 70000 is above the limit 65535',
    ],
    [
      'a peer address with a slash',
      { breakdown: { inbound: [], outbound: [{ addr: '10.0.0.1/8', port: 1, states: real(1).ipv4 }], other: { inbound: real(1).ipv4, outbound: real(1).ipv4 } } },
      'binary batch: snapshot 1: breakdown.outbound addr: hex digits, ":" and "." only',
    ],
    ['a counter name with a dash', { snmp: { 'Bad-Name': 1 } }, 'binary batch: layout snmp name: letters, digits and _ only'],
  ] as const)('refuses %s, naming it', (_what, over, message) => {
    const s = { ...real(1), ...over } as Snapshot;
    expect(refusal(() => decode1(frameOf(s))).message).toBe(message);
  });

  it('refuses a wrong frame type, an empty batch, left-over bytes, a layout declared twice, a name twice', () => {
    expect(refusal(() => decode1(Buffer.from([0x7b, 0x22]))).message).toBe('binary batch: unknown frame type 123');
    expect(refusal(() => decode1(Buffer.alloc(0))).message).toBe('binary batch: unknown frame type (empty frame)');
    expect(refusal(() => decode1(Buffer.from([BIN1_BATCH, 1, 0, 0]))).message).toBe('binary batch: snapshot count: at least 1');
    expect(refusal(() => decode1(Buffer.concat([frameOf(real(1)), Buffer.from([0])]))).message).toBe('binary batch: frame: 1 bytes left over');
    const w = new VarintWriter();
    w.putByte(BIN1_BATCH);
    w.putU(1);
    w.putU(2);
    for (let i = 0; i < 2; i++) {
      w.putU(1);
      w.putU(0);
      w.putU(0);
    }
    expect(refusal(() => decode1(w.bytes())).message).toBe('binary batch: layout 1 declared twice');
    w.reset();
    w.putByte(BIN1_BATCH);
    w.putU(1);
    w.putU(1);
    w.putU(1);
    w.putU(2);
    w.putText('A');
    w.putText('A');
    w.putU(0);
    expect(refusal(() => decode1(w.bytes())).message).toBe('binary batch: layout snmp name A appears twice');
    w.reset();
    w.putByte(BIN1_BATCH);
    w.putU(1);
    w.putU(0);
    w.putU(BIN1_LIMITS.snapshots + 1);
    expect(refusal(() => decode1(w.bytes())).message).toBe(`binary batch: snapshot count: ${MAX_BATCH + 1} is above the limit ${MAX_BATCH}`);
  });

  it("keeps nothing of a snapshot once the collector dropped it, while the session's decoder lives on", async () => {
    // A decoder lives as long as its agent's session; what it kept of each snapshot until the next
    // (a second) outlived the collector's young generation and was collected only by a full GC.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    const refs = ((): WeakRef<object>[] => {
      const [d] = dec.decode(enc.encode(1, [real(1)])!, HOST, LABELS).snapshots;
      return [d!, d!.states, d!.summary, d!.collect].map((o) => new WeakRef(o));
    })();
    // WeakRef targets stay alive until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true, true]);
    const [next] = dec.decode(enc.encode(2, [real(2)])!, HOST, LABELS).snapshots;
    expect(plain([next!])).toEqual(viaJson([real(2)]));
  });

  it('builds the counters and the breakdown only when read, and keeps them', () => {
    const s = real(1);
    const [d] = decode1(frameOf(s));
    expect(PackedSnapshot.hasBreakdown(d!)).toBe(true);
    expect(PackedSnapshot.counter(d!, 'snmp', 'ActiveOpens')).toBe(s.snmp['ActiveOpens']);
    expect(PackedSnapshot.counter(d!, 'netstat', Object.keys(s.netstat).at(-1)!)).toBe(Object.values(s.netstat).at(-1));
    expect(PackedSnapshot.counter(d!, 'snmp', 'NoSuchCounter')).toBeUndefined();
    expect(d!.snmp).toBe(d!.snmp);
    expect(d!.breakdown).toEqual(s.breakdown);
    const none = decode1(frameOf({ ...real(2), breakdown: undefined } as unknown as Snapshot))[0]!;
    expect(PackedSnapshot.hasBreakdown(none)).toBe(false);
    expect(none.breakdown).toBeUndefined();
    expect('breakdown' in JSON.parse(JSON.stringify(none))).toBe(false);
  });

  it('gives each snapshot its own boot id when it changes mid-session, and refuses a bad one after good ones', () => {
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    const a = '0123abcd-0000-4000-8000-00000000000a';
    const b = '0123abcd-0000-4000-8000-00000000000b';
    const short = 'deadbeef';
    const boots = (f: Buffer): string[] => dec.decode(f, HOST, LABELS).snapshots.map((s) => s.boot);
    expect(boots(enc.encode(1, [real(1, { boot: a }), real(2, { boot: a })])!)).toEqual([a, a]);
    // Same length, last byte changed; then back; then a shorter one; then one that has the old one as its start.
    expect(boots(enc.encode(2, [real(3, { boot: b }), real(4, { boot: a }), real(5, { boot: short })])!)).toEqual([b, a, short]);
    expect(boots(enc.encode(3, [real(6, { boot: `${short}00` }), real(7, { boot: short })])!)).toEqual([`${short}00`, short]);
    // A bad id of the known one's length, after the known one, is still refused naming the field.
    const bad = enc.encode(4, [real(8, { boot: short }), real(9, { boot: 'deadbeeG' })])!;
    expect(refusal(() => dec.decode(bad, HOST, LABELS)).message).toBe('binary batch: snapshot 2: boot: a hex id');
    expect(refusal(() => dec.decode(enc.encode(5, [real(10, { boot: 'dead' })])!, HOST, LABELS)).message).toBe('binary batch: snapshot 1: boot: shorter than 8 characters');
    // The session goes on with good frames after refused ones (a decoder is reused only within one session, but its state stays sound).
    expect(boots(enc.encode(6, [real(11, { boot: short })])!)).toEqual([short]);
  });

  it('gives a snapshot without errors an empty list and one with errors its own, in any order in a frame', () => {
    const errs = (errors: string[]): Partial<Snapshot> => ({ collect: { ms: 1, bytes: 1, skipped: 0, errors, states_age_ms: 0 } });
    const snaps = [real(1, errs([])), real(2, errs(['net/tcp:1: bad line', 'two'])), real(3, errs([])), real(4, errs(['x']))];
    const out = decode1(new Bin1Encoder().encode(1, snaps)!);
    expect(out.map((s) => s.collect.errors)).toEqual([[], ['net/tcp:1: bad line', 'two'], [], ['x']]);
    expect(plain(out)).toEqual(viaJson(snaps));
  });

  it('names the length of a breakdown address that is too long, and a bad address byte in a later entry and snapshot', () => {
    const st = real(1).ipv4;
    const bd = (addrs: string[]): Partial<Snapshot> => ({ breakdown: { inbound: [], outbound: addrs.map((addr, i) => ({ addr, port: i + 1, states: st })), other: { inbound: st, outbound: st } } });
    expect(refusal(() => decode1(frameOf(real(1, bd(['a'.repeat(46)]))))).message).toBe('binary batch: snapshot 1: breakdown.outbound addr length: 46 is above the limit 45');
    expect(refusal(() => decode1(frameOf(real(1, bd(['']))))).message).toBe('binary batch: snapshot 1: breakdown.outbound addr: shorter than 1 characters');
    const frame = new Bin1Encoder().encode(1, [real(1, bd(['10.0.0.1', 'fe80::1'])), real(2, bd(['10.0.0.1', 'fe80::g']))])!;
    expect(refusal(() => decode1(frame)).message).toBe('binary batch: snapshot 2: breakdown.outbound addr: hex digits, ":" and "." only');
    // The longest address passes, and the breakdown reads back as sent.
    const ok = real(1, bd(['a'.repeat(45), 'ffff:10.0.0.1']));
    expect(decode1(frameOf(ok))[0]!.breakdown).toEqual(ok.breakdown);
  });

  it('builds ipv4, ipv6 and sockstat from the values when read: the same numbers, keys and JSON text as sent; a value set is kept', () => {
    const r = real(1);
    const ipv4 = { ...r.ipv4, established: 1_234_567_890_123, listen: 7 };
    const states = Object.fromEntries(Object.keys(ipv4).map((k) => [k, ipv4[k as keyof typeof ipv4] + r.ipv6[k as keyof typeof ipv4]])) as Snapshot['states'];
    const s = real(1, { ipv4, states, sockstat: { ...r.sockstat, tcp_mem: 2 ** 40 } });
    const [d] = decode1(frameOf(s));
    expect(Object.keys(d!.ipv4)).toEqual(Object.keys(s.ipv4));
    expect(d!.ipv4).toEqual(s.ipv4);
    expect(d!.ipv6).toEqual(s.ipv6);
    expect(d!.sockstat).toEqual(s.sockstat);
    expect(d!.states).toEqual(states);
    expect(d!.ipv4).toBe(d!.ipv4);
    // The whole snapshot as JSON text: key order included, as the JSON path gives it.
    expect(JSON.stringify(d)).toBe(JSON.stringify(viaJson([s]), null, 0).slice(1, -1));
    const mine = { ...s.ipv6, established: 5 };
    d!.ipv6 = mine;
    expect(d!.ipv6).toBe(mine);
  });
});
