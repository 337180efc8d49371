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
import { COLLECTOR_BIN, cli, listeningPort, startProc, stopProc, tempDir } from '../helpers/procs.js';
import { httpGet } from '../helpers/http.js';
import { haveTools } from '../helpers/tools.js';

const have = haveTools(['systemd-analyze'], 'systemd');

function units(dir: string): string[] {
  const agent = readFileSync(join(REPO, 'deploy/systemd/tcpfleet-agent.service'), 'utf8')
    .replace(/@NODE@/g, process.execPath)
    .replace(/@AGENT@/g, '/usr/local/lib/tcpfleet/tcpfleet-agent.mjs');
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
      for (const line of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadOnlyPaths=/proc', 'EnvironmentFile=/etc/tcpfleet/agent.env', 'CapabilityBoundingSet=CAP_SYS_PTRACE'])
        expect(agent).toMatch(new RegExp(`^${line}$`, 'm'));
      expect(agent).not.toMatch(/^PrivateNetwork=/m);
      expect(agent).not.toMatch(/^User=root/m);
    } finally {
      tmp.cleanup();
    }
  });
});

describe("the collector unit's settings", () => {
  it('start a collector on every address whose reads need a read token, and would be refused without one', async () => {
    const unit = readFileSync(join(REPO, 'deploy/systemd/tcpfleet-collector.service'), 'utf8');
    const tmp = tempDir('unit-env');
    try {
      // systemd puts each LoadCredential= file in the credentials directory (%d) under its name.
      const creds = new Map([...unit.matchAll(/^LoadCredential=([^:]+):(.+)$/gm)].map((m) => [m[1]!, m[2]!]));
      expect(creds.get('read-tokens')).toBe('/etc/tcpfleet/read.tokens');
      writeFileSync(join(tmp.dir, 'token'), 'unit-fleet-token-0123456789\n', { mode: 0o600 });
      writeFileSync(join(tmp.dir, 'read-tokens'), 'unit-read-token-people-0001\nunit-read-token-prometheus-02\n', { mode: 0o600 });
      const env: Record<string, string> = {};
      for (const m of unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) env[m[1]!] = m[2]!.replace('%d', tmp.dir);
      expect(env['TCPFLEET_LISTEN']).toBe('0.0.0.0:7070');
      // Same settings on a free port and a scratch database.
      const run = { ...env, TCPFLEET_LISTEN: '0.0.0.0:0', TCPFLEET_DB: join(tmp.dir, 'c.db') };
      const withoutRead = Object.fromEntries(Object.entries(run).filter(([k]) => k !== 'TCPFLEET_READ_TOKEN_FILE'));
      const refused = cli(['serve'], withoutRead);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--public-read');
      const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve'], { env: { ...process.env, ...run } });
      try {
        const port = await listeningPort(p, "the collector to start with the unit's settings");
        expect(p.logs().find((l) => l['msg'] === 'collector started')?.['read']).toBe('token');
        expect((await httpGet(`http://127.0.0.1:${port}/api/v1/hosts`)).status).toBe(401);
        expect((await httpGet(`http://127.0.0.1:${port}/api/v1/hosts`, 5000, { authorization: 'Bearer unit-read-token-prometheus-02' })).status).toBe(200);
      } finally {
        await stopProc(p);
      }
    } finally {
      tmp.cleanup();
    }
  });
});
