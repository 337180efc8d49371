/**
 * The fleet keeps a bin1 host's latest snapshot as numbers and copied bytes, not as the decoded
 * object (api/fleet.ts): real frames of a real agent snapshot (Bin1Encoder -> Bin1Decoder, as a
 * session decodes them) are committed many times with changing counts, breakdowns and errors, and
 * after each commit every query answers as the decoded snapshot itself would (its JSON, the totals,
 * top by host and by port). A view handed out before a commit keeps its own numbers after it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bin1Decoder, Bin1Encoder, PackedSnapshot, TCP_STATES, addStates, emptyStates } from '@tcpfleet/common';
import type { Breakdown, Snapshot, StateCounts } from '@tcpfleet/common';
import { Fleet } from '../../packages/collector/src/api/fleet.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { AGENT_BIN } from '../helpers/procs.js';
import { rng } from '../helpers/parity.js';

const base = JSON.parse(execFileSync(process.execPath, [AGENT_BIN, '--once', '--json', '--procfs', join(FIXTURES, 'proc')], { encoding: 'utf8' })) as Snapshot;
const T0 = 1_795_000_000_000;
const HOSTS = ['a', 'b', 'c'];

/** A snapshot of `host` whose counts, breakdown length and errors change with `k`. */
function snapshotOf(host: string, seq: number, k: number): Snapshot {
  const r = rng(k * 7919 + seq);
  const ipv4 = emptyStates();
  const ipv6 = emptyStates();
  for (const st of TCP_STATES) {
    ipv4[st] = Math.floor(r() * 5000);
    ipv6[st] = Math.floor(r() * 300);
  }
  const states = emptyStates();
  addStates(states, ipv4);
  addStates(states, ipv6);
  const b = base.breakdown!;
  // Some commits carry no breakdown, others more or fewer entries (bytes of another size).
  const breakdown: Breakdown | undefined =
    k % 5 === 4
      ? undefined
      : {
          ...b,
          inbound: b.inbound.slice(0, 1 + (k % b.inbound.length)).map((e) => ({ ...e, states: { ...e.states, established: Math.floor(r() * 900) } })),
          outbound: b.outbound.slice(0, 1 + (k % b.outbound.length)),
        };
  const s: Snapshot = {
    ...base,
    host,
    seq,
    ts: T0 + seq * 1000,
    states,
    ipv4,
    ipv6,
    summary: { ...base.summary, estab: states.established, timewait: states.time_wait, total: Math.floor(r() * 9000) },
    collect: { ...base.collect, errors: k % 3 === 0 ? [`error ${k}`] : [] },
  };
  if (breakdown === undefined) delete s.breakdown;
  else s.breakdown = breakdown;
  return s;
}

/** The frame an agent would send for `s`, decoded as the collector's session decodes it. */
function viaBin1(enc: Bin1Encoder, dec: Bin1Decoder, s: Snapshot, labels: Record<string, string>): Snapshot {
  const frame = enc.encode(s.seq, [s])!;
  const snap = dec.decode(frame, s.host, labels).snapshots[0]!;
  expect(snap).toBeInstanceOf(PackedSnapshot);
  return snap;
}

/** What the fleet answered before it copied bin1 snapshots: the decoded snapshot itself, with its receive time and staleness. */
function expectedJson(s: Snapshot, recvTs: number, stale: boolean): string {
  return JSON.stringify({ ...(s as unknown as PackedSnapshot).toObject(), recv_ts: recvTs, stale });
}

describe('Fleet: bin1 hosts kept as numbers and bytes', () => {
  it('after each of many commits, every query answers as the last decoded snapshot would', () => {
    const fleet = new Fleet();
    const coders = new Map(HOSTS.map((h) => [h, { enc: new Bin1Encoder(), dec: new Bin1Decoder(), check: new Bin1Decoder(), checkEnc: new Bin1Encoder() }]));
    const last = new Map<string, { snap: Snapshot; recv: number }>();
    for (let seq = 1; seq <= 60; seq++) {
      for (const [i, host] of HOSTS.entries()) {
        const labels = { role: i === 0 ? 'web' : 'db' };
        const c = coders.get(host)!;
        const s = snapshotOf(host, seq, seq * 3 + i);
        const recv = T0 + seq * 1000 + 5;
        fleet.apply([{ host, labels, snapshots: [viaBin1(c.enc, c.dec, s, labels)] }], recv);
        // The reference: the same frame decoded by another decoder, left as it came.
        last.set(host, { snap: viaBin1(c.checkEnc, c.check, s, labels), recv });
      }
      const now = T0 + seq * 1000 + 10;
      // Every other round a list was asked for before the commit (views handed out), else not (bytes written over).
      if (seq % 2 === 0) fleet.hosts(now);
      for (const host of HOSTS) {
        const { snap, recv } = last.get(host)!;
        expect(JSON.stringify(fleet.host(host, now))).toBe(expectedJson(snap, recv, false));
      }
      const views = fleet.hosts(now);
      expect(views.map((v) => v.host)).toEqual(HOSTS);
      for (const v of views) expect(JSON.stringify(v)).toBe(expectedJson(last.get(v.host)!.snap, last.get(v.host)!.recv, false));

      const states = emptyStates();
      for (const { snap } of last.values()) addStates(states, snap.states);
      expect(fleet.total(now).states).toEqual(states);
      const top = fleet.topHosts('established', 2, now);
      const ranked = [...last.values()].sort((a, b) => b.snap.states.established - a.snap.states.established || (a.snap.host < b.snap.host ? -1 : 1));
      expect(top.map((t) => [t.host, t.value, t.ts])).toEqual(ranked.slice(0, 2).map((r) => [r.snap.host, r.snap.states.established, r.snap.ts]));
      expect(top[0]!.states).toEqual(ranked[0]!.snap.states);

      // Top ports over the hosts' breakdowns, summed from the reference snapshots.
      const ports = new Map<number, { states: StateCounts; hosts: number }>();
      for (const { snap } of last.values())
        for (const e of snap.breakdown?.inbound ?? []) {
          const g = ports.get(e.port) ?? { states: emptyStates(), hosts: 0 };
          addStates(g.states, e.states);
          g.hosts++;
          ports.set(e.port, g);
        }
      const want = [...ports].map(([port, g]) => ({ port, states: g.states, hosts: g.hosts, value: g.states.established })).sort((a, b) => b.value - a.value || a.port - b.port);
      expect(fleet.topBreakdown('port', 'established', 50, now)).toEqual(want);
    }
  });

  it('a view handed out before a commit keeps its numbers; an older snapshot only moves the receive time', () => {
    const fleet = new Fleet();
    const enc = new Bin1Encoder();
    const dec = new Bin1Decoder();
    const labels = { role: 'web' };
    // The second snapshot's bytes are fewer than the first's: they would fit in the first's buffer.
    const s1 = snapshotOf('a', 1, 3);
    fleet.apply([{ host: 'a', labels, snapshots: [viaBin1(enc, dec, s1, labels)] }], T0 + 1005);
    const view = fleet.hosts(T0 + 1010)[0]!;
    // Not serialised yet: its counters and breakdown are still to be read from its bytes.
    const before = expectedJson(viaBin1(new Bin1Encoder(), new Bin1Decoder(), s1, labels), T0 + 1005, false);
    expect(view.seq).toBe(1);

    // The next commit (another breakdown, other counts) while the view is still being read (a list streamed in slices).
    const s2 = snapshotOf('a', 2, 0);
    fleet.apply([{ host: 'a', labels, snapshots: [viaBin1(enc, dec, s2, labels)] }], T0 + 2005);
    expect(JSON.stringify(view)).toBe(before);
    expect(fleet.host('a', T0 + 2010)?.seq).toBe(2);
    expect(fleet.host('a', T0 + 2010)?.states).toEqual(s2.states);
    expect(fleet.host('a', T0 + 2010)?.breakdown).toEqual(s2.breakdown);

    // A snapshot older than the one held (a backlog resent): the host is not replaced, it was heard from.
    const s0 = snapshotOf('a', 0, 9);
    fleet.apply([{ host: 'a', labels, snapshots: [viaBin1(enc, dec, { ...s0, seq: 3, ts: T0 + 500 }, labels)] }], T0 + 3005);
    const now = fleet.host('a', T0 + 3010)!;
    expect(now.seq).toBe(2);
    expect(now.recv_ts).toBe(T0 + 3005);
    expect(fleet.hosts(T0 + 3010)[0]!.recv_ts).toBe(T0 + 3005);

    // Stale three intervals after the last receive, live again after the next commit.
    const later = T0 + 3005 + 3 * s2.interval_ms + 1;
    expect(fleet.hosts(later)[0]!.stale).toBe(true);
    expect(fleet.total(later).stale).toBe(1);
    const s4 = snapshotOf('a', 4, 4);
    fleet.apply([{ host: 'a', labels, snapshots: [viaBin1(enc, dec, s4, labels)] }], later);
    expect(fleet.hosts(later)[0]!.stale).toBe(false);
    expect(JSON.stringify(fleet.hosts(later)[0])).toBe(expectedJson(viaBin1(new Bin1Encoder(), new Bin1Decoder(), s4, labels), later, false));
  });
});
