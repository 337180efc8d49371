/** The store conformance suite on PostgreSQL 15 (a throwaway server; a fresh database per case). */
import { PgStore } from '../../../packages/collector/src/store/pg/pg-store.js';
import { usePostgres } from '../../helpers/postgres.js';
import { conformance } from './cases.js';

const pgServer = usePostgres();

let n = 0;
conformance('postgres', async () => {
  return PgStore.open(await pgServer().createDatabase(`conf_${++n}`));
});
