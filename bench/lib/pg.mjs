// A throwaway PostgreSQL server for a benchmark (the bench's small port of
// test/helpers/postgres.ts): initdb in a fresh temporary directory as the `postgres` user (initdb
// refuses root), `postgres` on a free port bound to 127.0.0.1 with its unix socket in that
// directory. `fsync` (default on, as PostgreSQL ships) is passed as given; `statements` loads
// pg_stat_statements (time per statement, for a profile of the server's side). stop() ends the server
// by its PID (fast shutdown, SIGKILL after 10 s) and removes the directory; the bench's cleanup
// (netns.mjs) kills it by PID too if the bench dies.
import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTracked, stopTracked } from './netns.mjs';

/** The server binaries (Debian: /usr/lib/postgresql/N/bin, the newest N), or null when not installed. */
export function pgBin() {
  try {
    const v = readdirSync('/usr/lib/postgresql')
      .filter((x) => existsSync(`/usr/lib/postgresql/${x}/bin/initdb`))
      .sort((a, b) => Number(b) - Number(a))[0];
    return v === undefined ? null : `/usr/lib/postgresql/${v}/bin`;
  } catch {
    return null;
  }
}

export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Starts the server; resolves to { port, pid, version, url(db), sql(db, text), createDatabase(name), dropDatabase(name), stop() }. */
export async function startPg({ fsync = 'on', statements = false } = {}) {
  const bin = pgBin();
  if (bin === null) throw new Error('PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)');
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no postgres user');
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-pg-'));
  let proc = null;
  const stop = async () => {
    if (proc !== null) await stopTracked(proc, 'SIGINT');
    proc = null;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    chownSync(dir, uid, gid);
    const data = join(dir, 'data');
    const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--encoding=UTF8', '--locale=C', '--auth=trust'], { uid, gid, encoding: 'utf8', timeout: 120_000 });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const port = await freePort();
    let log = '';
    proc = startTracked(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `fsync=${fsync}`,
        '-c',
        'max_connections=100',
        ...(statements ? ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track_planning=on'] : []),
        // BENCH_PG_SETTINGS: more settings for an experiment ("name=value name=value"); BENCH_PG_LOG: a file the server's log is copied to.
        ...(process.env['BENCH_PG_SETTINGS'] ?? '')
          .split(' ')
          .filter(Boolean)
          .flatMap((x) => ['-c', x]),
      ],
      {
        uid,
        gid,
      },
    );
    proc.stdout.on('data', (d) => (log += d.toString()));
    proc.stderr.on('data', (d) => {
      log += d.toString();
      if (process.env['BENCH_PG_LOG'] !== undefined) appendFileSync(process.env['BENCH_PG_LOG'], d);
    });
    const url = (db) => `postgres://postgres@127.0.0.1:${port}/${db}`;
    const sql = async (db, text, params = []) => {
      const c = new pg.Client({ connectionString: url(db) });
      await c.connect();
      try {
        return (await c.query(text, params)).rows;
      } finally {
        await c.end();
      }
    };
    const until = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`postgres exited: ${log.slice(-1000)}`);
      try {
        await sql('postgres', 'SELECT 1');
        break;
      } catch {
        if (Date.now() > until) throw new Error(`postgres did not accept connections within 30 s: ${log.slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const version = (await sql('postgres', 'SHOW server_version'))[0].server_version;
    const pid = proc.pid;
    return {
      port,
      pid,
      version,
      fsync,
      url,
      sql,
      statements,
      createDatabase: async (name) => {
        await sql('postgres', `CREATE DATABASE ${name}`);
        if (statements) await sql(name, 'CREATE EXTENSION pg_stat_statements');
        return url(name);
      },
      /** The statements of database `name` that took the most server time since the last reset (pg_stat_statements). */
      topStatements: async (name, n = 8) =>
        (
          await sql(
            name,
            'SELECT calls, round(total_exec_time) AS ms, round(total_plan_time) AS plan_ms, rows, left(regexp_replace(query, $$\\s+$$, $$ $$, $$g$$), 160) AS query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT $1',
            [n],
          )
        ).map((r) => ({ calls: Number(r.calls), ms: Number(r.ms), planMs: Number(r.plan_ms), rows: Number(r.rows), query: r.query })),
      resetStatements: (name) => sql(name, 'SELECT pg_stat_statements_reset()'),
      dropDatabase: (name) => sql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
