/**
 * Read access control on real collector processes with real agents (issue 14, item 1): with a read
 * token configured, every read route answers 401 without `Authorization: Bearer <read token>`
 * and with a write token (fleet or per-host); /healthz and the dashboard's static page stay open
 * and name no host; a read token cannot write; per-person read tokens from the CLI count (and stop
 * counting) at once; the CLI sends the token given by flag, file or environment; a Host header
 * that does not name the collector gets 421; a non-loopback --listen without a read token is
 * refused in one line unless --public-read; the dashboard asks for the token once per tab.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { routeTable } from '../../packages/collector/src/app-routes.js';
import type { RouteHandlers } from '../../packages/collector/src/app-routes.js';
import { OPEN_HEALTH_FIELDS } from '../../packages/collector/src/api/health.js';
import { httpGet } from '../helpers/http.js';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { FIXTURE_PROC } from '../helpers/snapshots.js';
import { wsSession } from '../helpers/wire.js';
import { openBrowser } from '../helpers/browser.js';
import { haveTools } from '../helpers/tools.js';

const READ_A = 'read-token-alpha-0123456789abcdef';
const READ_B = 'read-token-bravo-fedcba9876543210';
const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

/** The read routes of the table, with a host for :id and a namespace inode for :netns. */
function readPaths(host: string): string[] {
  const noop = (): void => {};
  const handlers = new Proxy({}, { get: () => new Proxy(noop, { get: () => noop }) }) as unknown as RouteHandlers;
  return routeTable(handlers)
    .filter((r) => r.access === 'read')
    .map((r) => r.path.replace(':id', host).replace(':netns', '4026531840'));
}

const tmp = tempDir('read-access');
afterAll(() => {
  killAll();
  tmp.cleanup();
});

describe('a collector with read tokens', () => {
  let col: Collector;
  let hostToken = '';
  const agents: Proc[] = [];
  const readFile = join(tmp.dir, 'read.tokens');

  beforeAll(async () => {
    writeFileSync(readFile, `# one read token a line\n${READ_A}\n\n${READ_B}\n`, { mode: 0o600 });
    col = await startCollector(tmp.dir, ['--read-token-file', readFile]);
    const created = cli(['token', 'create', 'ra-bound', '--db', col.db]);
    expect(created.code, created.stderr).toBe(0);
    hostToken = created.stdout.trim();
    agents.push(startAgent(col, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'ra-web-1']));
    agents.push(startAgent({ wsUrl: col.wsUrl, token: hostToken }, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'ra-bound']));
    await waitFor(async () => {
      const r = await httpGet(`${col.url}/api/v1/hosts`, 5000, bearer(READ_A));
      return r.status === 200 && r.body.includes('"ra-web-1"') && r.body.includes('"ra-bound"');
    }, 'both agents stored');
  });

  afterAll(async () => {
    for (const a of agents) await stopProc(a);
    await stopProc(col);
  });

  it('answers 401 on every read route without a token and with a write token, 200 with each read token', async () => {
    const paths = readPaths('ra-web-1');
    expect(paths).toEqual(
      expect.arrayContaining(['/metrics', '/api/v1/overview', '/api/v1/hosts', '/api/v1/hosts/ra-web-1', '/api/v1/hosts/ra-web-1/history', '/api/v1/total', '/api/v1/top', '/api/v1/alerts']),
    );
    for (const path of paths) {
      for (const [who, headers] of [
        ['no token', {}],
        ['the fleet token', bearer(col.token)],
        ['a per-host token', bearer(hostToken)],
        ['a wrong token', bearer('x'.repeat(40))],
        ['Basic', { authorization: `Basic ${Buffer.from(`u:${READ_A}`).toString('base64')}` }],
      ] as const) {
        const r = await httpGet(`${col.url}${path}`, 5000, headers);
        expect(r.status, `${path} with ${who}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer realm="tcpfleet"');
        expect((JSON.parse(r.body) as { error: { code: string } }).error.code).toBe('TCPFLEET_ERR_AUTH');
        expect(r.body).not.toContain('ra-web-1');
      }
      for (const t of [READ_A, READ_B]) expect((await httpGet(`${col.url}${path}`, 5000, bearer(t))).status, `${path} with a read token`).toBe(200);
    }
    // Paths not in the table are guarded too: no token learns nothing, a reader gets the 404.
    expect((await httpGet(`${col.url}/api/v1/nothing`)).status).toBe(401);
    expect((await httpGet(`${col.url}/api/v1/nothing`, 5000, bearer(READ_A))).status).toBe(404);
    const metrics = await httpGet(`${col.url}/metrics`, 5000, bearer(READ_B));
    expect(metrics.body).toContain('tcpfleet_host_connections{host="ra-web-1",state="listen"}');
  });

  it('keeps /healthz and the dashboard page open without naming a host', async () => {
    const open = await httpGet(`${col.url}/healthz`);
    expect(open.status).toBe(200);
    const doc = JSON.parse(open.body) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual([...OPEN_HEALTH_FIELDS].sort());
    expect(doc).not.toHaveProperty('hosts');
    expect(doc).not.toHaveProperty('agents_connected');
    expect(open.body).not.toContain('ra-');
    const withWrite = JSON.parse((await httpGet(`${col.url}/healthz`, 5000, bearer(col.token))).body) as Record<string, unknown>;
    expect(withWrite).not.toHaveProperty('hosts');
    const full = JSON.parse((await httpGet(`${col.url}/healthz`, 5000, bearer(READ_A))).body) as Record<string, unknown>;
    expect(full).toMatchObject({ status: 'ok', hosts: 2, agents_connected: 2 });
    const page = await httpGet(`${col.url}/`);
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).not.toContain('ra-web-1');
  });

  it('never lets a read token write: the upgrade is refused with 401 and a real agent with it stores nothing', async () => {
    expect((await wsSession(col.wsUrl, READ_A, () => {})).status).toBe(401);
    const person = cli(['token', 'create', '--read', 'ra-writer', '--db', col.db]);
    expect(person.code, person.stderr).toBe(0);
    expect((await wsSession(col.wsUrl, person.stdout.trim(), () => {})).status).toBe(401);
    const agent = startAgent({ wsUrl: col.wsUrl, token: READ_B }, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'ra-reader-writes', '--log-level', 'info']);
    await waitFor(() => agent.logs().some((l) => l['msg'] === 'collector refused the token'), 'the agent with a read token to be refused');
    await stopProc(agent);
    expect((await httpGet(`${col.url}/api/v1/hosts/ra-reader-writes`, 5000, bearer(READ_A))).status).toBe(404);
    expect(cli(['token', 'revoke', '--read', 'ra-writer', '--db', col.db]).code).toBe(0);
  });

  it('takes per-person read tokens from the database at once, and refuses them at once when revoked or replaced', async () => {
    const first = cli(['token', 'create', '--read', 'alice', '--db', col.db]);
    expect(first.code, first.stderr).toBe(0);
    const alice = first.stdout.trim();
    expect(alice).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await httpGet(`${col.url}/api/v1/hosts`, 5000, bearer(alice))).status).toBe(200);
    const again = cli(['token', 'create', '--read', 'alice', '--db', col.db]);
    const alice2 = again.stdout.trim();
    expect((await httpGet(`${col.url}/api/v1/hosts`, 5000, bearer(alice))).status).toBe(401);
    expect((await httpGet(`${col.url}/api/v1/hosts`, 5000, bearer(alice2))).status).toBe(200);
    const listed = JSON.parse(cli(['token', 'list', '--read', '--json', '--db', col.db]).stdout) as { name: string; revoked: number | null }[];
    expect(listed.find((t) => t.name === 'alice')).toMatchObject({ revoked: null });
    expect(JSON.stringify(listed)).not.toContain(alice2);
    // Host tokens and read tokens are listed apart.
    expect(cli(['token', 'list', '--json', '--db', col.db]).stdout).not.toContain('alice');
    const revoked = cli(['token', 'revoke', '--read', 'alice', '--db', col.db]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await httpGet(`${col.url}/api/v1/hosts`, 5000, bearer(alice2))).status).toBe(401);
    const after = JSON.parse(cli(['token', 'list', '--read', '--json', '--db', col.db]).stdout) as { name: string; revoked: number | null }[];
    expect(after.find((t) => t.name === 'alice')?.revoked).toBeTypeOf('number');
    const none = cli(['token', 'revoke', '--read', 'nobody', '--db', col.db]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no live read token for nobody');
  });

  it('the CLI sends the read token from --read-token, --read-token-file or TCPFLEET_READ_TOKEN, on the fast path and through yargs', () => {
    const oneFile = join(tmp.dir, 'mine.token');
    writeFileSync(oneFile, `${READ_B}\n`, { mode: 0o600 });
    const none = cli(['hosts', '--url', col.url, '--json']);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toEqual([`tcpfleet: the collector at ${col.url} needs a read token: give --read-token-file FILE, --read-token TOKEN or TCPFLEET_READ_TOKEN`]);
    const wrong = cli(['total', '--url', col.url, '--read-token', 'not-a-read-token-at-all']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('refused the read token');
    const ways: [string, string[], NodeJS.ProcessEnv][] = [
      ['--read-token', ['hosts', '--url', col.url, '--json', '--read-token', READ_A], {}],
      ['--read-token-file', ['hosts', '--url', col.url, '--json', '--read-token-file', oneFile], {}],
      ['TCPFLEET_READ_TOKEN', ['hosts', '--url', col.url, '--json'], { TCPFLEET_READ_TOKEN: READ_A }],
      ['TCPFLEET_READ_TOKEN_FILE', ['hosts', '--url', col.url, '--json'], { TCPFLEET_READ_TOKEN_FILE: readFile }],
      // Not plain invocations: yargs parses these (--json=true and watch/alerts are not on the fast path).
      ['--read-token (yargs)', ['hosts', '--url', col.url, '--json=true', '--read-token', READ_A], {}],
      ['--read-token-file (watch)', ['watch', '--url', col.url, '--count', '1', '--read-token-file', oneFile], {}],
      ['TCPFLEET_READ_TOKEN (alerts)', ['alerts', '--url', col.url, '--json'], { TCPFLEET_READ_TOKEN: READ_B }],
    ];
    for (const [how, args, env] of ways) {
      const r = cli(args, env);
      expect(r.code, `${how}: ${r.stderr}`).toBe(0);
      if (args[0] === 'hosts') expect(r.stdout, how).toContain('"ra-web-1"');
      if (args[0] === 'watch') expect(r.stdout, how).toContain('ra-web-1');
      if (args[0] === 'alerts') expect(JSON.parse(r.stdout), how).toEqual([]);
    }
    const both = cli(['hosts', '--url', col.url, '--read-token', READ_A, '--read-token-file', oneFile]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give either --read-token or --read-token-file');
  });

  it('answers 421 to a Host header that does not name the collector, whatever the token', async () => {
    for (const host of ['evil.example', `evil.example:${col.port}`, `127.0.0.1.nip.io:${col.port}`, `10.1.2.3:${col.port}`]) {
      for (const path of ['/api/v1/hosts', '/healthz', '/']) {
        const r = await httpGet(`${col.url}${path}`, 5000, { host, ...bearer(READ_A) });
        expect(r.status, `${host} ${path}`).toBe(421);
        expect(r.body).toContain('--public-url');
      }
    }
    for (const host of [`127.0.0.1:${col.port}`, `localhost:${col.port}`, `[::1]:${col.port}`, 'LOCALHOST']) {
      expect((await httpGet(`${col.url}/api/v1/hosts`, 5000, { host, ...bearer(READ_A) })).status, host).toBe(200);
    }
  });

  it.skipIf(!haveTools(['chromium'], 'chromium'))('the dashboard asks once for the read token, keeps it for the tab and shows the fleet', async () => {
    const browser = await openBrowser();
    try {
      const page = await browser.ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${col.url}/`);
      await page.waitForSelector('#login:not([hidden])', { timeout: 20_000 });
      expect(await page.textContent('#status')).toBe('read token needed');
      expect(await page.isHidden('#hosts')).toBe(true);
      await page.fill('#login-token', 'a-wrong-read-token-0000000000');
      await page.click('#login button');
      await page.waitForSelector('#login-why:text("That token was refused.")', { timeout: 20_000 });
      await page.fill('#login-token', READ_A);
      await page.click('#login button');
      await page.waitForSelector('#hosts tr[data-host="ra-web-1"]', { timeout: 20_000 });
      expect(await page.isHidden('#login')).toBe(true);
      expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem: (k: string) => string | null } }).sessionStorage.getItem('tcpfleet.readToken'))).toBe(READ_A);
      await page.reload();
      await page.waitForSelector('#hosts tr[data-host="ra-bound"]', { timeout: 20_000 });
      expect(await page.isHidden('#login')).toBe(true);
      // A new tab (a new session) asks again.
      const other = await browser.ctx.newPage();
      await other.goto(`${col.url}/`);
      await other.waitForSelector('#login:not([hidden])', { timeout: 20_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('a loopback collector without read tokens', () => {
  it('is open, and becomes protected as soon as a read token is created in its database', async () => {
    const dir = join(tmp.dir, 'open');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const col = await startCollector(dir);
    try {
      expect((await httpGet(`${col.url}/api/v1/hosts`)).status).toBe(200);
      expect(JSON.parse((await httpGet(`${col.url}/healthz`)).body)).toHaveProperty('hosts', 0);
      const carol = cli(['token', 'create', '--read', 'carol', '--db', col.db]).stdout.trim();
      expect((await httpGet(`${col.url}/api/v1/hosts`)).status).toBe(401);
      expect((await httpGet(`${col.url}/api/v1/hosts`, 5000, bearer(carol))).status).toBe(200);
      expect(cli(['token', 'revoke', '--read', 'carol', '--db', col.db]).code).toBe(0);
      expect((await httpGet(`${col.url}/api/v1/hosts`)).status).toBe(200);
    } finally {
      await stopProc(col);
    }
  });
});

describe('a --listen beyond loopback', () => {
  const refusal =
    /^tcpfleet: --listen 0\.0\.0\.0:0 is not a loopback address and no read token is set: give --read-token-file FILE or --read-token TOKEN .* or --public-read to let anyone who reaches the port read it$/;

  it('is refused without a read token: exit 2, one line naming --read-token and --public-read, nothing created', () => {
    const dir = join(tmp.dir, 'wide');
    const db = join(dir, 'wide.db');
    for (const env of [{}, { TCPFLEET_LISTEN: '0.0.0.0:0' }]) {
      const args = ['serve', '--db', db, '--token', 'fleet-token-0123456789', ...('TCPFLEET_LISTEN' in env ? [] : ['--listen', '0.0.0.0:0'])];
      const r = cli(args, env);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(refusal);
      expect(existsSync(db)).toBe(false);
    }
  });

  it('starts with --public-read (open reads), or with a read token only in the database', async () => {
    const dir = join(tmp.dir, 'public');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const pub = await startCollector(dir, ['--public-read'], undefined, '0.0.0.0:0');
    try {
      expect(pub.logs().find((l) => l['msg'] === 'collector started')?.['read']).toBe('public');
      expect((await httpGet(`${pub.url}/api/v1/hosts`)).status).toBe(200);
      // Listening on every address, any IP literal names it; a name needs --public-url.
      expect((await httpGet(`${pub.url}/api/v1/hosts`, 5000, { host: `192.0.2.7:${pub.port}` })).status).toBe(200);
      expect((await httpGet(`${pub.url}/api/v1/hosts`, 5000, { host: `[2001:db8::7]:${pub.port}` })).status).toBe(200);
      expect((await httpGet(`${pub.url}/api/v1/hosts`, 5000, { host: `collector.example:${pub.port}` })).status).toBe(421);
    } finally {
      await stopProc(pub);
    }
    // A read token only in the database is enough; --public-url names are accepted.
    const created = cli(['token', 'create', '--read', 'dave', '--db', pub.db]);
    expect(created.code, created.stderr).toBe(0);
    const dbOnly = await startCollector(dir, ['--public-url', 'https://collector.example:8443,http://tcpfleet.internal'], undefined, '0.0.0.0:0');
    try {
      expect(dbOnly.logs().find((l) => l['msg'] === 'collector started')?.['read']).toBe('token');
      expect((await httpGet(`${dbOnly.url}/api/v1/hosts`)).status).toBe(401);
      expect((await httpGet(`${dbOnly.url}/api/v1/hosts`, 5000, { host: 'collector.example', ...bearer(created.stdout.trim()) })).status).toBe(200);
      expect((await httpGet(`${dbOnly.url}/api/v1/hosts`, 5000, { host: 'tcpfleet.internal:7070', ...bearer(created.stdout.trim()) })).status).toBe(200);
      expect((await httpGet(`${dbOnly.url}/api/v1/hosts`, 5000, { host: 'other.example', ...bearer(created.stdout.trim()) })).status).toBe(421);
    } finally {
      await stopProc(dbOnly);
    }
  });

  it('refuses contradictory or weak read settings in one line each', () => {
    const db = join(tmp.dir, 'bad-read.db');
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--read-token', 'short'], {}, /^tcpfleet: (flag )?--read-token\b[^:]*: a read token needs at least 16 characters/],
      [['--public-read', '--read-token', READ_A], {}, /^tcpfleet: (flag )?--public-read\b.* lets anyone read; give it or read tokens, not both$/],
      [['--read-token', 'fleet-token-0123456789'], {}, /^tcpfleet: a read token must differ from the fleet token: write tokens never read$/],
      [[], { TCPFLEET_READ_TOKEN_FILE: join(tmp.dir, 'missing.tokens') }, /^tcpfleet: read token file .*missing\.tokens: ENOENT$/],
      [['--public-url', 'not a url'], {}, /^tcpfleet: (flag )?--public-url\b[^:]*: "not a url" is not a URL/],
    ];
    for (const [extra, env, want] of cases) {
      const r = cli(['serve', '--listen', '127.0.0.1:0', '--db', db, '--token', 'fleet-token-0123456789', ...extra], env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(want);
    }
    expect(existsSync(db)).toBe(false);
  });
});
