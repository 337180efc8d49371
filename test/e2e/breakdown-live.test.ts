/**
 * The breakdown on the real kernel: in network namespaces holding a known mix of sockets, the
 * inbound and outbound entries plus `other` plus the LISTEN sockets equal `states`, which equal
 * `ss`; the listening port and the peer carry exactly the sockets `ss` shows for them; and with
 * a small --top K the parts that no longer fit land in `other`, still adding up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TCP_STATES, addStates, emptyStates } from '@tcpfleet/common';
import type { Snapshot, StateCounts } from '@tcpfleet/common';
import { addNetns, canNetns, nsExec, removeAllNetns, startConns } from '../helpers/netns.js';
import type { ConnsReady } from '../helpers/netns.js';
import { AGENT_BIN, killAll, tempDir } from '../helpers/procs.js';
import { ssStates } from '../helpers/ss.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: live-kernel tests cannot be skipped there');

/** inbound + outbound + other + LISTEN, per state. */
function parts(s: Snapshot): StateCounts {
  const b = s.breakdown!;
  const sum = emptyStates();
  for (const e of b.inbound) addStates(sum, e.states);
  for (const e of b.outbound) addStates(sum, e.states);
  addStates(sum, b.other.inbound);
  addStates(sum, b.other.outbound);
  sum.listen += s.states.listen;
  return sum;
}

/** Lines of `ss -tanH [family] state X <filter>` in a namespace. */
function ssCount(ns: string, state: string, filter: readonly string[], family = '-4'): number {
  return nsExec(ns, 'ss', ['-tanH', family, 'state', state, ...filter])
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

describe.skipIf(!root)('live kernel: the breakdown adds up and matches ss', () => {
  const nss: { name: string; ready: ConnsReady }[] = [];
  const tmp = tempDir('breakdown-live');

  beforeAll(async () => {
    const mixes = [
      { listen: 3, estab: 6, estab6: 4, timewait: 3, closewait: 2 },
      { listen: 5, estab: 12, estab6: 0, timewait: 5, closewait: 4 },
    ];
    for (const [i, mix] of mixes.entries()) {
      const name = addNetns(`bd${i}`);
      const { ready } = await startConns(name, mix);
      nss.push({ name, ready });
    }
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  const once = (ns: string, top?: number): Snapshot => JSON.parse(nsExec(ns, process.execPath, [AGENT_BIN, '--once', '--json', ...(top === undefined ? [] : ['--top', String(top)])])) as Snapshot;

  it('inbound + outbound + other + LISTEN = states = ss, per state, in every namespace', () => {
    for (const ns of nss) {
      const snap = once(ns.name);
      expect(parts(snap)).toEqual(snap.states);
      expect(snap.states).toEqual(ssStates(ns.name));
      for (const s of TCP_STATES) expect(parts(snap)[s]).toBe(snap.states[s]);
    }
  });

  it('the listening port and the peer carry exactly the sockets ss shows for them', () => {
    for (const ns of nss) {
      const snap = once(ns.name);
      const p = ns.ready.port;
      const inbound = snap.breakdown!.inbound.find((e) => e.port === p);
      expect(inbound).toBeDefined();
      expect(inbound!.states.established).toBe(ssCount(ns.name, 'established', [`( sport = :${p} )`]));
      const peer = snap.breakdown!.outbound.find((e) => e.addr === '127.0.0.1' && e.port === p);
      expect(peer).toBeDefined();
      expect(peer!.states.established).toBe(ssCount(ns.name, 'established', [`( dport = :${p} )`]));
      expect(peer!.states.time_wait).toBe(ssCount(ns.name, 'time-wait', [`( dport = :${p} )`]));
      // mkconns: each established connection is one inbound and one outbound socket.
      expect(inbound!.states.established).toBe(peer!.states.established);
    }
  });

  it('with --top 1 whatever does not fit is in other, and it still adds up', () => {
    for (const ns of nss) {
      const snap = once(ns.name, 1);
      expect(snap.breakdown!.inbound.length).toBeLessThanOrEqual(1);
      expect(snap.breakdown!.outbound.length).toBeLessThanOrEqual(1);
      expect(parts(snap)).toEqual(snap.states);
      const other = snap.breakdown!.other;
      expect(Object.values(other.outbound).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
  });
});
