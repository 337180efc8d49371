/**
 * Configuration of both binaries, as processes: a JSON config file with an unknown key or a
 * wrong type is refused (exit 2, one line naming the key); one precedence, flags > environment
 * > config file > defaults; logs are JSON lines when stderr is not a terminal and readable lines
 * on a terminal; and every command's --help carries examples.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { AGENT_BIN, COLLECTOR_BIN, killAll, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { freePort } from '../helpers/http.js';
import { haveTools } from '../helpers/tools.js';

const haveTmux = haveTools(['tmux'], 'tmux');

const tmp = tempDir('config');
afterAll(() => {
  killAll();
  tmp.cleanup();
});

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const clean: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env };
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000, env: clean });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, body: unknown): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
}

const PROC = join(FIXTURES, 'proc');

describe('config files refuse bad keys and types, naming them', () => {
  const cases: [string, string, unknown, RegExp][] = [
    ['agent', AGENT_BIN, { hostid: 'x' }, /unknown key "hostid"/],
    ['agent', AGENT_BIN, { interval: 'fast' }, /interval: .*number/i],
    ['agent', AGENT_BIN, { labels: { env: 7 } }, /labels\.env/],
    ['agent', AGENT_BIN, '{"interval": 5,', /not valid JSON/],
    ['collector', COLLECTOR_BIN, { listne: '0.0.0.0:7070' }, /unknown key "listne"/],
    ['collector', COLLECTOR_BIN, { durability: 3 }, /durability/],
    ['collector', COLLECTOR_BIN, { heartbeat: 'often' }, /heartbeat: a duration/],
  ];
  for (const [i, [who, bin, body, message]] of cases.entries()) {
    it(`${who}: ${JSON.stringify(body)}`, () => {
      const cfg = file(`bad-${i}.json`, body);
      const args = who === 'agent' ? ['--once', '--procfs', PROC, '--config', cfg] : ['serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, `bad-${i}.db`), '--config', cfg];
      const r = run(bin, args);
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain(cfg);
    });
  }
});

describe('precedence: flags > environment > config file > defaults', () => {
  it('agent', () => {
    const cfg = file('agent.json', { hostId: 'from-file', interval: 7, labels: { src: 'file', keep: 'yes' } });
    const host = (args: string[], env: NodeJS.ProcessEnv = {}): { host: string; interval_ms: number; labels: Record<string, string> } => {
      const r = run(AGENT_BIN, ['--once', '--json', '--procfs', PROC, ...args], env);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { host: string; interval_ms: number; labels: Record<string, string> };
    };
    expect(host([]).host).toBe(hostname());
    expect(host([]).interval_ms).toBe(10_000);
    expect(host(['--config', cfg])).toMatchObject({ host: 'from-file', interval_ms: 7000, labels: { src: 'file', keep: 'yes' } });
    expect(host(['--config', cfg], { TCPFLEET_HOST_ID: 'from-env', TCPFLEET_LABELS: 'src=env' })).toMatchObject({ host: 'from-env', interval_ms: 7000, labels: { src: 'env', keep: 'yes' } });
    expect(host(['--config', cfg, '--host-id', 'from-flag', '--interval', '3', '--label', 'src=flag'], { TCPFLEET_HOST_ID: 'from-env', TCPFLEET_INTERVAL: '5' })).toMatchObject({
      host: 'from-flag',
      interval_ms: 3000,
      labels: { src: 'flag', keep: 'yes' },
    });
  });

  it('collector', async () => {
    const [pFile, pEnv, pFlag] = [await freePort(), await freePort(), await freePort()];
    const cfg = file('collector.json', { listen: `127.0.0.1:${pFile}`, db: join(tmp.dir, 'prec.db'), token: 'file-token-123' });
    const listened = async (args: string[], env: NodeJS.ProcessEnv): Promise<number> => {
      const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--config', cfg, ...args], { env: { PATH: process.env['PATH'], ...env } });
      try {
        let port = 0;
        await waitFor(() => {
          if (p.proc.exitCode !== null) throw new Error(p.stderr());
          port = Number(p.logs().find((l) => l['msg'] === 'collector started')?.['port'] ?? 0);
          return port > 0;
        }, 'collector to start');
        return port;
      } finally {
        await stopProc(p);
      }
    };
    expect(await listened([], {})).toBe(pFile);
    expect(await listened([], { TCPFLEET_LISTEN: `127.0.0.1:${pEnv}` })).toBe(pEnv);
    expect(await listened(['--listen', `127.0.0.1:${pFlag}`], { TCPFLEET_LISTEN: `127.0.0.1:${pEnv}` })).toBe(pFlag);
  });
});

describe('logs', () => {
  it('are JSON lines on stderr when it is not a terminal', async () => {
    const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, 'log.db'), '--token', 'log-test-token']);
    try {
      await waitFor(() => p.logs().some((l) => l['msg'] === 'collector started'), 'collector to start');
      const lines = p.stderr().trim().split('\n');
      for (const l of lines) expect(() => JSON.parse(l) as unknown, l).not.toThrow();
    } finally {
      await stopProc(p);
    }
  });

  it.skipIf(!haveTmux)('are readable lines on a terminal', async () => {
    const sock = `tf${process.pid}-logs`;
    const tmux = (args: string[]): string => spawnSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', timeout: 10_000 }).stdout;
    try {
      tmux(['new-session', '-d', '-x', '200', '-y', '20', `${process.execPath} ${COLLECTOR_BIN} serve --listen 127.0.0.1:0 --db ${join(tmp.dir, 'tty.db')} --token tty-test-token`]);
      let screen = '';
      await waitFor(() => {
        screen = tmux(['capture-pane', '-p']);
        return screen.includes('collector started');
      }, 'the collector log on the terminal');
      expect(screen).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}collector started \{/m);
      expect(screen).not.toContain('"level":');
    } finally {
      spawnSync('tmux', ['-L', sock, 'kill-server'], { timeout: 10_000 });
    }
  });
});

describe('--help', () => {
  const commands: [string, string[]][] = [
    ['tcpfleet-agent', [AGENT_BIN, '--help']],
    ['tcpfleet', [COLLECTOR_BIN, '--help']],
    ...['serve', 'hosts', 'total', 'host', 'history', 'top', 'watch', 'token'].map((c): [string, string[]] => [`tcpfleet ${c}`, [COLLECTOR_BIN, c, '--help']]),
  ];
  for (const [name, argv] of commands) {
    it(`${name} --help shows examples`, () => {
      const r = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const ex = r.stdout.split('Examples:')[1] ?? '';
      expect(ex.trim().split('\n').length).toBeGreaterThanOrEqual(1);
      expect(ex).toContain(name.split(' ')[0]!);
    });
  }
});
