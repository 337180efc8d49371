/**
 * The systemd units in deploy/systemd: `systemd-analyze verify` accepts them without a single
 * warning (as installed, with the node path filled in), and `systemd-analyze security` rates
 * their exposure below 3 ("OK" on its 0-10 scale). The agent never runs as root and never in a
 * private network namespace (it would count that namespace's connections).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const have = haveTools(['systemd-analyze'], 'systemd');

function units(dir: string): string[] {
  const agent = readFileSync(join(REPO, 'deploy/systemd/tcpfleet-agent.service'), 'utf8').replace(/@NODE@/g, process.execPath).replace(/@AGENT@/g, '/usr/local/lib/tcpfleet/tcpfleet-agent.mjs');
  const a = join(dir, 'tcpfleet-agent.service');
  writeFileSync(a, agent);
  const c = join(dir, 'tcpfleet-collector.service');
  writeFileSync(c, readFileSync(join(REPO, 'deploy/systemd/tcpfleet-collector.service'), 'utf8').replace('/usr/bin/node', process.execPath));
  return [a, c];
}

describe.skipIf(!have)('systemd units', () => {
  it('pass systemd-analyze verify with no warnings', () => {
    const tmp = tempDir('units');
    try {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...units(tmp.dir)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.trim()).toBe('');
    } finally {
      tmp.cleanup();
    }
  });

  it('are rated below 3 by systemd-analyze security, and keep the agent unprivileged in the host network', () => {
    const tmp = tempDir('units');
    try {
      for (const file of units(tmp.dir)) {
        const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8', timeout: 60_000 });
        const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
        expect(m, r.stdout + r.stderr).not.toBeNull();
        process.stdout.write(`${file.split('/').pop()}: exposure ${m![1]}\n`);
        expect(Number(m![1])).toBeLessThan(3);
      }
      const agent = readFileSync(join(REPO, 'deploy/systemd/tcpfleet-agent.service'), 'utf8');
      // One capability, CAP_SYS_PTRACE, for --namespaces (test/deploy/namespaces-deploy.test.ts).
      for (const line of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadOnlyPaths=/proc', 'EnvironmentFile=/etc/tcpfleet/agent.env', 'CapabilityBoundingSet=CAP_SYS_PTRACE']) expect(agent).toMatch(new RegExp(`^${line}$`, 'm'));
      expect(agent).not.toMatch(/^PrivateNetwork=/m);
      expect(agent).not.toMatch(/^User=root/m);
    } finally {
      tmp.cleanup();
    }
  });
});
