/**
 * A bad setting is named as the user gave it, by both binaries run as processes: a flag by its
 * name (`--listen`), an environment variable by its name (`TCPFLEET_LISTEN`), a config file by
 * its path and key; each line says what would be valid and shows the value given, never a
 * token. Exit 2, one line, nothing started.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BIN, COLLECTOR_BIN, tempDir } from '../helpers/procs.js';
import { FIXTURES } from '../helpers/fixtures.js';

const tmp = tempDir('error-sources');
afterAll(() => tmp.cleanup());

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stderr: string; line: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env } });
  const lines = r.stderr.trim().split('\n');
  return { code: r.status, stderr: r.stderr, line: lines.length === 1 ? (lines[0] ?? '') : `(${lines.length} lines) ${r.stderr}` };
}

function file(name: string, body: unknown): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
}

const PROC = join(FIXTURES, 'proc');
const agent = (args: readonly string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof run> => run(AGENT_BIN, ['--once', '--procfs', PROC, ...args], env);
let dbN = 0;
const serve = (args: readonly string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof run> & { db: string } => {
  const db = join(tmp.dir, `serve-${++dbN}.db`);
  return { ...run(COLLECTOR_BIN, ['serve', '--db', db, '--token', 'a-fleet-token-1234', ...args], env), db };
};

describe('the collector names the source of a bad setting', () => {
  it('a flag by its name, with what is valid and the value given', () => {
    const r = serve(['--listen', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.line).toBe('tcpfleet: flag --listen: HOST:PORT such as 127.0.0.1:7070 or 0.0.0.0:7070 (got "nowhere")');
    expect(existsSync(r.db), 'nothing started, no database').toBe(false);
  });

  it('an environment variable by its name', () => {
    const r = serve([], { TCPFLEET_LISTEN: '127.0.0.1:99999' });
    expect(r.code).toBe(2);
    expect(r.line).toBe('tcpfleet: environment variable TCPFLEET_LISTEN: port 99999 is above 65535: HOST:PORT such as 127.0.0.1:7070 (got "127.0.0.1:99999")');
    const level = serve(['--listen', '127.0.0.1:0'], { TCPFLEET_LOG_LEVEL: 'loud' });
    expect(level.code).toBe(2);
    expect(level.line).toBe('tcpfleet: environment variable TCPFLEET_LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (got "loud")');
  });

  it('a config file by its path and key; an unknown key with the one meant or the keys there are', () => {
    const cfg = file('serve.json', { durability: 'fast', writethread: 'on', listne: 'x' });
    const r = serve(['--listen', '127.0.0.1:0', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.line).toContain(`config file ${cfg}: durability: Invalid option: expected one of "full"|"normal" (got "fast")`);
    expect(r.line).toContain(`config file ${cfg}: unknown key "writethread" (did you mean "writeThread"?)`);
    expect(r.line).toMatch(new RegExp(`config file ${cfg}: unknown key "listne" \\(known keys: listen, db, .*retention`));
  });

  it('the value that won is the one named: a bad flag over a good variable is named as the flag', () => {
    const ok = run(COLLECTOR_BIN, ['serve', '--listen', 'bad', '--db', join(tmp.dir, 'x.db'), '--token', 'a-fleet-token-1234'], { TCPFLEET_LISTEN: '127.0.0.1:0' });
    expect(ok.line).toContain('flag --listen:');
    expect(ok.line).not.toContain('TCPFLEET_LISTEN');
  });

  it('settings that go together name both sources; a token value is never shown', () => {
    const r = run(COLLECTOR_BIN, ['serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, 'y.db'), '--token-file', join(tmp.dir, 'missing.token')], { TCPFLEET_TOKEN: 'sekrit-token-value-42' });
    expect(r.code).toBe(2);
    expect(r.line).toBe('tcpfleet: environment variable TCPFLEET_TOKEN and flag --token-file: give a token or a token file, not both');
    expect(r.stderr).not.toContain('sekrit');
    const tls = serve(['--listen', '127.0.0.1:0', '--tls-key', join(tmp.dir, 'k.pem')]);
    expect(tls.line).toMatch(/^tcpfleet: flag --tls-key without --tls-cert: /);
    const missing = run(COLLECTOR_BIN, ['serve', '--listen', '127.0.0.1:0', '--db', join(tmp.dir, 'z.db')], { TCPFLEET_TOKEN_FILE: join(tmp.dir, 'missing.token') });
    expect(missing.code).toBe(2);
    expect(missing.line).toBe(`tcpfleet: environment variable TCPFLEET_TOKEN_FILE: cannot read ${join(tmp.dir, 'missing.token')} (ENOENT); give a readable file holding the fleet token`);
  });
});

describe('the agent names the source of a bad setting', () => {
  it('a flag, an environment variable and a config key, each by name, all in one line', () => {
    const cfg = file('agent.json', { top: 500, hostid: 'x' });
    const r = agent(['--config', cfg, '--walk-budget', '2'], { TCPFLEET_INTERVAL: 'fast' });
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/^tcpfleet-agent: 4 problems: /);
    expect(r.line).toContain('environment variable TCPFLEET_INTERVAL: Invalid input: expected number, received NaN (got "fast")');
    expect(r.line).toContain(`config file ${cfg}: top: at most 100 (got 500)`);
    expect(r.line).toContain('flag --walk-budget: Too big: expected number to be <=1 (got 2)');
    expect(r.line).toContain(`config file ${cfg}: unknown key "hostid" (did you mean "hostId"?)`);
  });

  it('a config file that cannot be read or is not an object names the file and the flag', () => {
    const missing = join(tmp.dir, 'no-such.json');
    expect(agent(['--config', missing]).line).toBe(`tcpfleet-agent: config file ${missing} (flag --config): cannot read it (ENOENT); give a readable JSON file`);
    const arr = join(tmp.dir, 'array.json');
    writeFileSync(arr, '[1, 2]');
    const r = serve(['--config', arr]);
    expect(r.code).toBe(2);
    expect(r.line).toBe(`tcpfleet: config file ${arr} (flag --config): must hold a JSON object of settings, such as {"logLevel": "debug"}`);
  });

  it('labels: each entry named by the source that set it', () => {
    const cfg = file('labels.json', { labels: { env: 7, role: 'web' } });
    const fromFile = agent(['--config', cfg]);
    expect(fromFile.line).toBe(`tcpfleet-agent: config file ${cfg}: labels.env: Invalid input: expected string, received number (got 7)`);
    // The flag replaces the file's bad `env`; its own bad entry is named as the flag's.
    const fromFlag = agent(['--config', cfg, '--label', 'env=prod', '--label', 'note=a\u0007b']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.line).toMatch(/^tcpfleet-agent: flag --label \(note\): .*\(got "a\\u0007b"\)$/);
    const env = agent([], { TCPFLEET_LABELS: 'env=prod,broken' });
    expect(env.line).toBe('tcpfleet-agent: environment variable TCPFLEET_LABELS: label "broken" is not key=value');
  });

  it('cross-setting problems name both sides, defaults included', () => {
    const r = agent(['--reconnect-min', '50']);
    expect(r.code).toBe(2);
    expect(r.line).toBe('tcpfleet-agent: the default --reconnect-max (30) is below flag --reconnect-min (50): the largest reconnect delay must be at least the smallest');
    const tok = run(AGENT_BIN, ['--collector', 'ws://127.0.0.1:9', '--token-file', join(tmp.dir, 'nope')], { TCPFLEET_TOKEN: 'sekrit-agent-token' });
    expect(tok.line).toBe('tcpfleet-agent: environment variable TCPFLEET_TOKEN and flag --token-file: give a token or a token file, not both');
    expect(tok.stderr).not.toContain('sekrit');
    const long = agent([], { TCPFLEET_TOKEN: 'x'.repeat(5000) });
    expect(long.line).toBe('tcpfleet-agent: environment variable TCPFLEET_TOKEN: Too big: expected string to have <=4096 characters');
  });
});

describe('the query commands name the source of a bad collector URL', () => {
  it('flag --url, TCPFLEET_URL, through the fast path and through yargs', () => {
    const flag = run(COLLECTOR_BIN, ['total', '--url', 'nowhere']);
    expect(flag.code).toBe(2);
    expect(flag.line).toBe('tcpfleet: flag --url: an http:// or https:// URL such as http://127.0.0.1:7070 (got "nowhere")');
    for (const args of [['hosts', '--json'], ['total', '--json', 'true'], ['watch', '--count', '1'], ['alerts']]) {
      const env = run(COLLECTOR_BIN, args, { TCPFLEET_URL: 'ftp://collector:7070' });
      expect(env.code, args.join(' ')).toBe(2);
      expect(env.line, args.join(' ')).toBe('tcpfleet: environment variable TCPFLEET_URL: an http:// or https:// URL such as http://127.0.0.1:7070 (got "ftp://collector:7070")');
    }
  });
});
