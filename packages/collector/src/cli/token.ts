/**
 * `tcpfleet token create|revoke|list`: per-host tokens, written straight into the database
 * (a running collector sees them at once: every batch is checked against them in its commit, so a
 * session on a revoked or replaced token, or on the fleet token for a host that now has its own,
 * stores nothing once the command returned, and is closed).
 * Only the SHA-256 of a token is stored; the token is printed once.
 */
import { HostIdSchema, TcpfleetError, printable } from '@tcpfleet/common';
import { SqliteStore } from '../store/sqlite-store.js';
import { hashToken, newToken } from '../ingest/auth.js';
import { table } from './format.js';

/** Refuses a host id that breaks the host id rule, with one line. */
export function checkHost(host: string): void {
  if (!HostIdSchema.safeParse(host).success) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `host id ${JSON.stringify(printable(host))} is not valid: letters, digits and . _ : @ - only`);
}

export async function tokenCreate(db: string, host: string): Promise<void> {
  checkHost(host);
  const store = new SqliteStore({ path: db });
  try {
    const token = newToken();
    await store.putToken(host, hashToken(token), Date.now());
    process.stdout.write(`${token}\n`);
    process.stderr.write(`token for ${host} created; it is shown only this once. Put it in the agent's token file (mode 0600). A session on an older token of ${host}, or on the fleet token as ${host}, stores nothing more.\n`);
  } finally {
    await store.close();
  }
}

export async function tokenRevoke(db: string, host: string): Promise<void> {
  checkHost(host);
  const store = new SqliteStore({ path: db });
  try {
    if (!(await store.revokeToken(host, Date.now()))) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no live token for host ${host}`);
    process.stderr.write(`token of ${host} revoked; its session stores nothing more and is closed\n`);
  } finally {
    await store.close();
  }
}

/** Lists the per-host tokens; opens the database read-only (it must exist). */
export async function tokenList(db: string, json: boolean): Promise<void> {
  const store = new SqliteStore({ path: db, readonly: true });
  try {
    const rows = await store.listTokens();
    if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (rows.length === 0) process.stdout.write('no per-host tokens\n');
    else process.stdout.write(table(['HOST', 'CREATED', 'REVOKED'], rows.map((r) => [r.host, new Date(r.created).toISOString(), r.revoked === null ? '-' : new Date(r.revoked).toISOString()])));
  } finally {
    await store.close();
  }
}
