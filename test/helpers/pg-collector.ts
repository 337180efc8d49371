/** A real `tcpfleet serve --db postgres://...` process on a free loopback port (tests on PostgreSQL). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_BIN, listeningPort, startProc } from './procs.js';
import type { Proc } from './procs.js';
import { getJson } from './http.js';

export interface PgCollector extends Proc {
  port: number;
  wsUrl: string;
  url: string;
  token: string;
}

/** Starts a collector on database `db` with fleet token `token` (written to DIR/fleet.token); waits until it listens. */
export async function startPgCollector(dir: string, db: string, token: string, o: { env?: NodeJS.ProcessEnv; extra?: readonly string[] } = {}): Promise<PgCollector> {
  const tokenFile = join(dir, 'fleet.token');
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--listen', '127.0.0.1:0', '--db', db, '--token-file', tokenFile, ...(o.extra ?? [])], { env: { ...process.env, ...(o.env ?? {}) } });
  const port = await listeningPort(p, 'collector to listen', 30_000);
  return { ...p, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, token };
}

/** Starts `n` collectors on database `db`, one after the other (same options). */
export async function startPgCollectors(n: number, dir: string, db: string, token: string, o: { env?: NodeJS.ProcessEnv; extra?: readonly string[] } = {}): Promise<PgCollector[]> {
  const out: PgCollector[] = [];
  for (let i = 0; i < n; i++) out.push(await startPgCollector(dir, db, token, o));
  return out;
}

/** The collectors among `cols` whose GET /healthz says `"leader": true`. */
export async function leadersAmong(cols: readonly PgCollector[]): Promise<PgCollector[]> {
  const out: PgCollector[] = [];
  for (const c of cols) if ((await getJson<{ leader: boolean }>(`${c.url}/healthz`)).leader) out.push(c);
  return out;
}
