/** The store conformance suite on PostgreSQL 15 (a throwaway server; a fresh database per case). */
import { afterAll, beforeAll } from 'vitest';
import { PgStore } from '../../../packages/collector/src/store/pg/pg-store.js';
import { startPostgres } from '../../helpers/postgres.js';
import type { PgServer } from '../../helpers/postgres.js';
import { conformance } from './cases.js';

let server: PgServer | null = null;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

let n = 0;
conformance('postgres', async () => {
  if (server === null) throw new Error('no PostgreSQL server');
  return PgStore.open(await server.createDatabase(`conf_${++n}`));
});
