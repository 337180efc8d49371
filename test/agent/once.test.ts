import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, writeFileSync } from 'node:fs';
import { agentOnce, tempDir } from '../helpers/procs.js';
import { FIXTURE_PROC } from '../helpers/snapshots.js';
import type { Snapshot } from '@tcpfleet/common';

const tmp = tempDir('once');
afterAll(() => tmp.cleanup());

describe('tcpfleet-agent --once', () => {
  it('counts a fixture tree and reports bad lines without failing', () => {
    const root = `${tmp.dir}/proc`;
    cpSync(FIXTURE_PROC, root, { recursive: true });
    writeFileSync(`${root}/net/tcp`, '  sl  local_address\n   0: 0100007F:0016 0100007F:15B3 0Z 0\n   1: 0100007F:0016 0100007F:15B3 01 0\n');
    const r = agentOnce(['--once', '--json', '--procfs', root]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Snapshot;
    expect(s.ipv4.established).toBe(1);
    expect(s.collect.skipped).toBe(1);
    expect(s.collect.errors).toEqual(['net/tcp:2: unknown state: "   0: 0100007F:0016 0100007F:15B3 0Z 0"']);
    const text = agentOnce(['--once', '--procfs', root]);
    expect(text.stdout).toContain('warning: net/tcp:2: unknown state');
  });

  it('treats a missing tcp6 (IPv6 off) as zeros, not an error', () => {
    const root = `${tmp.dir}/noipv6`;
    cpSync(FIXTURE_PROC, root, { recursive: true, filter: (src) => !/tcp6|sockstat6/.test(src) });
    const r = agentOnce(['--once', '--json', '--procfs', root]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Snapshot;
    expect(s.ipv6.listen).toBe(0);
    expect(s.collect.errors).toEqual([]);
  });

  it('fails with one line when the procfs root has no net/tcp', () => {
    const r = agentOnce(['--once', '--procfs', `${tmp.dir}/nowhere`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tcpfleet-agent: net\/tcp: not found under .*nowhere/);
  });

  it('refuses --json without --once and unknown flags with exit code 2', () => {
    expect(agentOnce(['--json']).code).toBe(2);
    const r = agentOnce(['--once', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tcpfleet-agent: Unknown argument: bogus/);
  });
});
