/**
 * The PostgreSQL database setting: `postgres://USER@HOST:PORT/DB` (or `postgresql://`). The
 * password should not be in the URL (it would be in the process list and shell history): give it
 * in PGPASSWORD, in a password file named by TCPFLEET_DB_PASSWORD_FILE (first line), or in
 * ~/.pgpass (PGPASSFILE). A password in the URL still works; it is never logged or shown: every
 * URL and message the driver prints goes through redactUrl / redact.
 */
import { readFileSync } from 'node:fs';
import type { PoolConfig } from 'pg';
import { StorageError } from '../storage-error.js';

/** The URL with its password replaced by `***` (the URL as given when it does not parse). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** `text` with every secret in it replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

/** The password given outside the URL (TCPFLEET_DB_PASSWORD_FILE), or undefined (pg then reads PGPASSWORD or ~/.pgpass). */
function passwordFromFile(env: NodeJS.ProcessEnv): string | undefined {
  const file = env['TCPFLEET_DB_PASSWORD_FILE'];
  if (file === undefined || file === '') return undefined;
  try {
    return (readFileSync(file, 'utf8').split('\n')[0] ?? '').trim();
  } catch (err) {
    throw new StorageError(`cannot read the database password file ${file} (TCPFLEET_DB_PASSWORD_FILE): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'CONFIG', false);
  }
}

/** The connection settings of a URL and the secrets no message may show. */
export function pgSettings(url: string, env: NodeJS.ProcessEnv = process.env): { config: PoolConfig; secrets: string[]; where: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StorageError(`the database URL ${redactUrl(url)} is not a valid URL (postgres://USER@HOST:PORT/DB)`, 'CONFIG', false);
  }
  const secrets: string[] = [];
  if (u.password !== '') secrets.push(url, u.password, decodeURIComponent(u.password));
  const filed = passwordFromFile(env);
  let conn = url;
  if (filed !== undefined) {
    // pg takes the connection string's fields over separate settings: the password goes in it.
    u.password = encodeURIComponent(filed);
    conn = u.toString();
    secrets.push(conn, filed, encodeURIComponent(filed));
  }
  const envPw = env['PGPASSWORD'];
  if (envPw !== undefined && envPw !== '') secrets.push(envPw);
  const config: PoolConfig = { connectionString: conn };
  return { config, secrets, where: redactUrl(url) };
}
