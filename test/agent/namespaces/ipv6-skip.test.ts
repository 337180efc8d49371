/**
 * The namespace walk skips net/tcp6 only when it provably holds no socket (ns-counters.ts
 * noIpv6Sockets: TCP6 inuse 0 and tw 0), on the live kernel, counts checked against ss: an
 * IPv4-only namespace without TIME-WAIT skips it; one whose only IPv6 sockets are TIME-WAIT
 * (TCP6 inuse back to 0: the case inuse alone misses) or that holds IPv4 TIME-WAITs (tw counts
 * both families), or an IPv6 listener, reads it; the counts always equal `ss -tan -4` / `-6`.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { noIpv6Sockets } from '../../../packages/agent/src/namespaces/ns-counters.js';
import { walkTcp } from '../../../packages/agent/src/sampler.js';
import { addNetns, removeAllNetns, startConns } from '../../helpers/netns.js';
import { ssStates } from '../../helpers/ss.js';

const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  removeAllNetns();
});

async function holding(tag: string, opts: Parameters<typeof startConns>[1]): Promise<{ ns: string; root: string }> {
  const ns = addNetns(tag);
  const { proc, ready } = await startConns(ns, opts);
  procs.push(proc);
  return { ns, root: `/proc/${ready.pid}` };
}

/** A walk with the sampler's check, and whether that check was asked. */
function walk(root: string): { w: ReturnType<typeof walkTcp>; asked: boolean } {
  let asked = false;
  const w = walkTcp(root, 0, () => {
    asked = true;
    return noIpv6Sockets(root);
  });
  return { w, asked };
}

describe('net/tcp6 skipped only when it holds nothing', () => {
  it('skips it in an IPv4-only namespace without TIME-WAIT, and the counts equal ss', async () => {
    const { ns, root } = await holding('v4', { estab: 5, closewait: 2 });
    expect(noIpv6Sockets(root)).toBe(true);
    const { w, asked } = walk(root);
    expect(asked).toBe(true);
    expect(w.ipv6Skipped).toBe(true);
    expect(w.ipv4).toEqual(ssStates(ns, '-4'));
    expect(w.ipv6).toEqual(ssStates(ns, '-6'));
    expect(w.ipv4.established).toBe(10);
  });

  it('reads it when the only IPv6 sockets are TIME-WAIT (TCP6 inuse 0), and counts them', async () => {
    const { ns, root } = await holding('tw6', { estab: 2, timewait6: 3 });
    expect(noIpv6Sockets(root)).toBe(false);
    const { w } = walk(root);
    expect(w.ipv6Skipped).toBe(false);
    expect(w.ipv6.time_wait).toBe(3);
    expect(w.ipv6).toEqual(ssStates(ns, '-6'));
    expect(w.ipv4).toEqual(ssStates(ns, '-4'));
  });

  it('reads it when IPv4 TIME-WAITs make tw non-zero, and when an IPv6 socket is in use', async () => {
    const tw4 = await holding('tw4', { estab: 2, timewait: 3 });
    expect(noIpv6Sockets(tw4.root)).toBe(false);
    const a = walk(tw4.root);
    expect(a.w.ipv6Skipped).toBe(false);
    expect(a.w.ipv4.time_wait).toBe(3);
    expect(a.w.ipv4).toEqual(ssStates(tw4.ns, '-4'));
    expect(a.w.ipv6).toEqual(ssStates(tw4.ns, '-6'));

    const v6 = await holding('v6', { estab6: 2 });
    expect(noIpv6Sockets(v6.root)).toBe(false);
    const b = walk(v6.root);
    expect(b.w.ipv6Skipped).toBe(false);
    expect(b.w.ipv6.established).toBe(4);
    expect(b.w.ipv6).toEqual(ssStates(v6.ns, '-6'));
  });

  it('is never asked when net/tcp could not be read, and says false for a root without sockstat', () => {
    let asked = false;
    const w = walkTcp('/nonexistent-procfs', 0, () => (asked = true));
    expect(w.failed).toBe(true);
    expect(asked).toBe(false);
    expect(noIpv6Sockets('/nonexistent-procfs')).toBe(false);
  });
});
