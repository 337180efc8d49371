/**
 * A throwaway PostgreSQL 15 server for tests: initdb in a fresh temporary directory (as the
 * `postgres` user, since initdb refuses root), `postgres` on its own free port bound to 127.0.0.1
 * with its unix socket in that directory, a database created in it. stop() ends the server by its
 * PID and removes the directory; call it in afterAll (it is safe to call after a failure, twice,
 * or when start failed half way: startPostgres cleans up itself then).
 *
 * CI installs the Debian `postgresql` package (.ci/run; PostgreSQL 15 on Debian 12); the binaries are in PG_BIN.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './http.js';

/** The server binaries (Debian: /usr/lib/postgresql/15/bin; the newest installed version if several). */
const PG_BIN = ((): string => {
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
      .sort((a, b) => Number(b) - Number(a));
    return `/usr/lib/postgresql/${versions[0] ?? '15'}/bin`;
  } catch {
    return '/usr/lib/postgresql/15/bin';
  }
})();

export interface PgServer {
  /** postgres://postgres@127.0.0.1:PORT/DB (with the password when one was set). */
  url: string;
  /** The same URL without the password. */
  urlNoPassword: string;
  port: number;
  dir: string;
  database: string;
  /** The postmaster's PID. */
  pid(): number;
  /** Runs SQL as the superuser in the test database. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
  /** Creates another database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown), leaving the data directory. */
  halt(): Promise<void>;
  /** Starts it again on the same port. */
  resume(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

function ids(): { uid: number; gid: number } {
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) throw new Error('no postgres user: install the Debian postgresql package (.ci/run does)');
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Starts a fresh server with database `database`; with `password`, TCP logins need it (scram). */
export async function startPostgres(o: { database?: string; password?: string } = {}): Promise<PgServer> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`${PG_BIN}/initdb not found: install the Debian postgresql package (.ci/run does)`);
  const { uid, gid } = ids();
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-pg-'));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const database = o.database ?? 'tcpfleet_test';
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let log = '';
  const admin = (): pg.Client => new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: o.password, database: 'postgres' });

  const launch = async (): Promise<void> => {
    log = '';
    const p = spawn(join(PG_BIN, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=100'], {
      uid,
      gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc = p;
    p.stdout.on('data', (d: Buffer) => (log += d.toString()));
    p.stderr.on('data', (d: Buffer) => (log += d.toString()));
    exited = new Promise((r) => p.on('close', () => r()));
    const until = Date.now() + 30_000;
    for (let i = 0; i < 1000; i++) {
      if (p.exitCode !== null) throw new Error(`postgres exited: ${log.slice(-2000)}`);
      const c = admin();
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        if (Date.now() > until) throw new Error(`postgres did not accept connections within 30 s: ${log.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const halt = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    clearTimeout(t);
  };

  const createDb = async (name: string): Promise<void> => {
    const c = admin();
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
  };

  const stop = async (): Promise<void> => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const args = ['-D', data, '-U', 'postgres', '--encoding=UTF8', '--locale=C'];
    if (o.password !== undefined) {
      const pw = join(dir, 'pw');
      writeFileSync(pw, o.password + '\n', { mode: 0o600 });
      chownSync(pw, uid, gid);
      args.push('--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pw}`);
    } else args.push('--auth=trust');
    const init = spawnSync(join(PG_BIN, 'initdb'), args, { uid, gid, encoding: 'utf8', timeout: 120_000 });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    port = await freePort();
    await launch();
    await createDb(database);
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = o.password === undefined ? 'postgres' : `postgres:${encodeURIComponent(o.password)}`;
  return {
    url: `postgres://${auth}@127.0.0.1:${port}/${database}`,
    urlNoPassword: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    dir,
    database,
    pid: () => proc?.pid ?? -1,
    sql: async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> => {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: o.password, database });
      await c.connect();
      try {
        return (await c.query<R>(text, params)).rows;
      } finally {
        await c.end();
      }
    },
    createDatabase: async (name: string): Promise<string> => {
      await createDb(name);
      return `postgres://${auth}@127.0.0.1:${port}/${name}`;
    },
    halt,
    resume: launch,
    stop,
  };
}

/** A server for the tests of the calling file: started before them, stopped after them; the getter throws before the start. */
export function usePostgres(): () => PgServer {
  let server: PgServer | null = null;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === null) throw new Error('no PostgreSQL server');
    return server;
  };
}
