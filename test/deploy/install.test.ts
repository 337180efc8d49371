/**
 * deploy/install.sh into a temporary root: refuses and changes nothing without what it needs,
 * installs the agent, the unit, the environment file and the token; a second run is a no-op
 * (same files, modes and bytes); an upgrade keeps the token and the settings; and what it
 * installed runs and reports to a real collector with the settings from the environment file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { agentBundle } from '../helpers/bundle.js';
import { REPO } from '../helpers/fixtures.js';
import { cli, killAll, startCollector, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';

const INSTALL = join(REPO, 'deploy/install.sh');

function install(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', [INSTALL, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file and directory under `dir`: relative path, type, mode, sha256. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${mode} ${relative(dir, p)}`);
        walk(p);
      } else out.push(`f ${mode} ${relative(dir, p)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m !== null) env[m[1]!] = m[2]!;
  }
  return env;
}

describe('deploy/install.sh', () => {
  const tmp = tempDir('install');
  let root = '';
  let collector: Collector;
  let tokenFile = '';

  beforeAll(async () => {
    root = join(tmp.dir, 'root');
    mkdirSync(root);
    collector = await startCollector(join(tmp.dir));
    tokenFile = join(tmp.dir, 'given.token');
    writeFileSync(tokenFile, `  ${collector.token}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it('without the needed arguments explains what is missing and changes nothing', () => {
    const r = install(['--root', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing was changed');
    expect(r.stderr).toContain('--collector');
    expect(r.stderr).toContain('--token-file');
    expect(readdirSync(root)).toEqual([]);
    const bad = install(['--root', root, '--collector', 'http://10.0.0.5:7070', '--token-file', join(tmp.dir, 'missing.token')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ws:\/\/ or wss:\/\//);
    expect(bad.stderr).toContain('missing.token cannot be read');
    expect(readdirSync(root)).toEqual([]);
    const unknown = install(['--root', root, '--colector', 'ws://x:1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown argument '--colector'");
    expect(readdirSync(root)).toEqual([]);
  });

  it('installs the agent, the unit, the environment file and the token; a second run changes nothing', () => {
    const args = ['--root', root, '--collector', collector.wsUrl, '--token-file', tokenFile, '--host-id', 'installed-1', '--label', 'env=test', '--label', 'role=web'];
    const first = install(args);
    expect(first.code, first.stderr).toBe(0);
    const after1 = tree(root);
    expect(after1.filter((l) => l.startsWith('f')).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      'f 644 etc/systemd/system/tcpfleet-agent.service',
      'f 644 etc/tcpfleet/agent.env',
      'f 600 etc/tcpfleet/agent.token',
      // The sock_diag addon, when npm run build put it next to the bundle (docs/namespaces.md).
      ...(existsSync(join(dirname(agentBundle()), 'sock_diag.node')) ? ['f 644 usr/local/lib/tcpfleet/sock_diag.node'] : []),
      'f 755 usr/local/lib/tcpfleet/tcpfleet-agent.mjs',
    ]);
    expect(readFileSync(join(root, 'usr/local/lib/tcpfleet/tcpfleet-agent.mjs'))).toEqual(readFileSync(agentBundle()));
    expect(readFileSync(join(root, 'etc/tcpfleet/agent.token'), 'utf8')).toBe(`${collector.token}\n`);
    const env = parseEnvFile(readFileSync(join(root, 'etc/tcpfleet/agent.env'), 'utf8'));
    expect(env).toMatchObject({
      TCPFLEET_COLLECTOR: collector.wsUrl,
      TCPFLEET_HOST_ID: 'installed-1',
      TCPFLEET_LABELS: 'env=test,role=web',
      TCPFLEET_TOKEN_FILE: '/run/credentials/tcpfleet-agent.service/token',
    });
    const unit = readFileSync(join(root, 'etc/systemd/system/tcpfleet-agent.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/\S+\/node --max-semi-space-size=1 \/usr\/local\/lib\/tcpfleet\/tcpfleet-agent\.mjs$/m);
    expect(unit).not.toMatch(/@NODE@|@AGENT@/);

    const second = install(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('nothing changed');
    expect(tree(root)).toEqual(after1);
  });

  it('an upgrade (a new agent, no token or collector given) replaces the agent and keeps token and settings', () => {
    const before = tree(root);
    const newer = join(tmp.dir, 'tcpfleet-agent-newer.mjs');
    copyFileSync(agentBundle(), newer);
    appendFileSync(newer, '\n// upgraded build\n');
    const r = install(['--root', root, '--agent', newer]);
    expect(r.code, r.stderr).toBe(0);
    const after = tree(root);
    const changed = after.filter((l) => !before.includes(l));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^f 755 usr\/local\/lib\/tcpfleet\/tcpfleet-agent\.mjs /);
    expect(readFileSync(join(root, 'etc/tcpfleet/agent.token'), 'utf8')).toBe(`${collector.token}\n`);
    // And back to the current build, so the next test runs the real bundle.
    expect(install(['--root', root]).code).toBe(0);
    // A bad argument on an installed host changes nothing either.
    const installed = tree(root);
    const bad = install(['--root', root, '--collector', 'collector:7070', '--token-file', tokenFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("got 'collector:7070'");
    expect(tree(root)).toEqual(installed);
  });

  it('what it installed runs with the environment file and reports to the collector', async () => {
    const env = parseEnvFile(readFileSync(join(root, 'etc/tcpfleet/agent.env'), 'utf8'));
    // systemd would hand /etc/tcpfleet/agent.token over as a credential; point at it directly.
    const runEnv = { PATH: '/usr/bin:/bin', ...env, TCPFLEET_TOKEN_FILE: join(root, 'etc/tcpfleet/agent.token'), TCPFLEET_SPOOL_DIR: join(tmp.dir, 'spool'), TCPFLEET_INTERVAL: '0.5' };
    const agent = startProc(process.execPath, [join(root, 'usr/local/lib/tcpfleet/tcpfleet-agent.mjs')], { env: runEnv, cwd: tmp.dir });
    try {
      await waitFor(() => {
        const r = cli(['hosts', '--json', '--url', collector.url]);
        const hosts = r.code === 0 ? (JSON.parse(r.stdout) as { host: string; labels: Record<string, string> }[]) : [];
        return hosts.some((h) => h.host === 'installed-1' && h.labels['role'] === 'web');
      }, 'the installed agent to report as installed-1 with its labels');
    } finally {
      await stopProc(agent);
    }
  });
});
