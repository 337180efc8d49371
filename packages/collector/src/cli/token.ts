/**
 * `tcpfleet token create|revoke|list`: per-host write tokens and, with --read, per-person read
 * tokens, written straight into the database. A running collector sees them at once: every batch
 * is checked against the host tokens in its commit, so a session on a revoked or replaced token,
 * or on the fleet token for a host that now has its own, stores nothing once the command returned,
 * and is closed; a revoked read token is refused from the next request.
 * Only the SHA-256 of a token is stored; the token is printed once.
 */
import { HostIdSchema, TcpfleetError, printable } from '@tcpfleet/common';
import { openStore } from '../store/open-store.js';
import type { ReadTokenInfo, ReadTokens } from '../store/store.js';
import { hashToken, newToken } from '../ingest/auth.js';
import { table } from './format.js';

/** Refuses a host id (or read token name) that breaks the host id rule, with one line. */
export function checkHost(host: string, what = 'host id'): void {
  if (!HostIdSchema.safeParse(host).success) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `${what} ${JSON.stringify(printable(host))} is not valid: letters, digits and . _ : @ - only`);
}

export async function tokenCreate(db: string, host: string): Promise<void> {
  checkHost(host);
  const store = await openStore(db);
  try {
    const token = newToken();
    await store.putToken(host, hashToken(token), Date.now());
    process.stdout.write(`${token}\n`);
    process.stderr.write(
      `token for ${host} created; it is shown only this once. Put it in the agent's token file (mode 0600). A session on an older token of ${host}, or on the fleet token as ${host}, stores nothing more.\n`,
    );
  } finally {
    await store.close();
  }
}

export async function tokenRevoke(db: string, host: string): Promise<void> {
  checkHost(host);
  const store = await openStore(db);
  try {
    if (!(await store.revokeToken(host, Date.now()))) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no live token for host ${host}`);
    process.stderr.write(`token of ${host} revoked; its session stores nothing more and is closed\n`);
  } finally {
    await store.close();
  }
}

/** Lists the per-host tokens; opens the database read-only (it must exist). */
export async function tokenList(db: string, json: boolean): Promise<void> {
  const store = await openStore(db, { readonly: true });
  try {
    printTokens(await store.listTokens(), json, 'HOST', (r) => r.host, 'no per-host tokens');
  } finally {
    await store.close();
  }
}

/** Runs `fn` on the read tokens of the database at `db`. */
async function withReadTokens<T>(db: string, fn: (t: ReadTokens) => Promise<T>): Promise<T> {
  const store = await openStore(db);
  try {
    return await fn(store.readTokens);
  } finally {
    await store.close();
  }
}

export async function readTokenCreate(db: string, name: string): Promise<void> {
  checkHost(name, 'reader name');
  const token = newToken();
  await withReadTokens(db, (t) => t.put(name, hashToken(token), Date.now()));
  process.stdout.write(`${token}\n`);
  process.stderr.write(`read token for ${name} created; it is shown only this once. Readers send it as Authorization: Bearer (tcpfleet --read-token-file FILE).\n`);
}

export async function readTokenRevoke(db: string, name: string): Promise<void> {
  checkHost(name, 'reader name');
  if (!(await withReadTokens(db, (t) => t.revoke(name, Date.now())))) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no live read token for ${name}`);
  process.stderr.write(`read token of ${name} revoked; the collector refuses it from the next request\n`);
}

/** Lists the read tokens; opens the database read-only (one older than read tokens has none). */
export async function readTokenList(db: string, json: boolean): Promise<void> {
  const store = await openStore(db, { readonly: true });
  let rows: ReadTokenInfo[];
  try {
    rows = await store.readTokens.list();
  } finally {
    await store.close();
  }
  printTokens(rows, json, 'READER', (r) => r.name, 'no read tokens');
}

/** Token rows as JSON, or a table of who (`head`), created and revoked, or `none` when there are none. */
function printTokens<T extends { created: number; revoked: number | null }>(rows: readonly T[], json: boolean, head: string, who: (r: T) => string, none: string): void {
  if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else if (rows.length === 0) process.stdout.write(`${none}\n`);
  else
    process.stdout.write(
      table(
        [head, 'CREATED', 'REVOKED'],
        rows.map((r) => [who(r), new Date(r.created).toISOString(), r.revoked === null ? '-' : new Date(r.revoked).toISOString()]),
      ),
    );
}
