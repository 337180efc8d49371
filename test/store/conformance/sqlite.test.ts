/** The store conformance suite on SQLite (a fresh database file per case). */
import { afterAll } from 'vitest';
import { join } from 'node:path';
import { SqliteStore } from '../../../packages/collector/src/store/sqlite-store.js';
import { tempDir } from '../../helpers/procs.js';
import { conformance } from './cases.js';

const dirs: { cleanup: () => void }[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

conformance('sqlite', () => {
  const t = tempDir('conformance');
  dirs.push(t);
  return Promise.resolve(new SqliteStore({ path: join(t.dir, 'db.sqlite'), durability: 'normal' }));
});
