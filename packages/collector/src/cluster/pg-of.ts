/** The PostgreSQL store behind a Store, or null (SQLite); the driver is loaded only when it is in use. */
import type { Store } from '../store/store.js';
import type { PgStore } from '../store/pg/pg-store.js';

export async function pgStoreOf(store: Store): Promise<PgStore | null> {
  if (store.driver !== 'postgres') return null;
  const { PgStore: Pg } = await import('../store/pg/pg-store.js');
  return store instanceof Pg ? store : null;
}
