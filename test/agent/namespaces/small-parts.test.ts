/**
 * Small pieces of --namespaces: the capability check that decides which warning is given, and
 * what leaves the agent for the collector until the wire carries namespaces.
 */
import { describe, expect, it } from 'vitest';
import { hasPtraceCapability } from '../../../packages/agent/src/namespaces/discover.js';
import { withoutNamespaces } from '../../../packages/agent/src/namespaces/outbound.js';
import { fixtureSnapshot } from '../../helpers/snapshots.js';

describe('hasPtraceCapability (CapEff of /proc/self/status)', () => {
  it.each([
    ['root', 'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n', true],
    ['only CAP_SYS_PTRACE (bit 19)', 'CapEff:\t0000000000080000\n', true],
    ['everything but CAP_SYS_PTRACE', 'CapEff:\t000001fffff7ffff\n', false],
    ['nobody', 'CapEff:\t0000000000000000\n', false],
    ['no CapEff line', 'Name:\tx\n', false],
    ['empty', '', false],
  ])('%s', (_name, status, want) => {
    expect(hasPtraceCapability(status)).toBe(want);
  });
});

describe('withoutNamespaces', () => {
  it('removes namespaces and collect.namespaces, leaving the snapshot itself untouched', () => {
    const snap = fixtureSnapshot({ seq: 1 });
    expect(withoutNamespaces(snap)).toBe(snap);
    const withNs = {
      ...snap,
      namespaces: [],
      collect: { ...snap.collect, namespaces: { found: 0, reported: 0, overflow: 0, pending: 0, walked: 0, unchanged: 0, stale: 0, ms: 0, cpu_ms: 0, errors: [] } },
    };
    const out = withoutNamespaces(withNs);
    expect(out).not.toHaveProperty('namespaces');
    expect(out.collect).not.toHaveProperty('namespaces');
    expect(out).toEqual(snap);
    expect(withNs.namespaces).toEqual([]);
    expect(withNs.collect.namespaces).toBeDefined();
  });
});
