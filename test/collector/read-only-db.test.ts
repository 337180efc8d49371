/**
 * Commands that only read or change what is in the database (`token list`, `token revoke`,
 * `db stats`) never create one: a missing file is one line naming the path, where the path came
 * from and how to create it, exit 1, and afterwards neither the file nor its directory exists.
 * On an existing database `token list` reads without writing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/procs.js';

const t = tempDir('read-only-db');
afterAll(() => t.cleanup());

describe('read-only commands never create a database', () => {
  const cases: [string[], string][] = [
    [['token', 'list'], 'token list'],
    [['token', 'list', '--json'], 'token list'],
    [['token', 'revoke', 'web-7'], 'token revoke'],
    [['db', 'stats'], 'db stats'],
    [['db', 'stats', '--json'], 'db stats'],
  ];
  for (const [args, name] of cases) {
    it(`${args.join(' ')}: --db`, () => {
      const db = join(t.dir, args.join('-'), 'sub', 'tcpfleet.db');
      const r = cli([...args, '--db', db]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `tcpfleet: ${name}: no database at ${db} (flag --db); nothing was created. \`tcpfleet serve --db ${db}\` creates it, or give --db PATH (or TCPFLEET_DB) of an existing one\n`,
      );
      expect(existsSync(db)).toBe(false);
      expect(existsSync(join(t.dir, args.join('-'))), 'not even its directory').toBe(false);
    });
  }

  it('names TCPFLEET_DB when the path came from there', () => {
    const db = join(t.dir, 'env', 'tcpfleet.db');
    const r = cli(['token', 'list'], { TCPFLEET_DB: db });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no database at ${db} (environment variable TCPFLEET_DB)`);
    expect(existsSync(join(t.dir, 'env'))).toBe(false);
  });

  it('token create makes the database; token list then reads it without changing it', () => {
    const db = join(t.dir, 'made', 'tcpfleet.db');
    const made = cli(['token', 'create', 'web-7', '--db', db]);
    expect(made.code, made.stderr).toBe(0);
    expect(existsSync(db)).toBe(true);
    const before = readFileSync(db);
    const list = cli(['token', 'list', '--db', db, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { host: string }[]).map((x) => x.host)).toEqual(['web-7']);
    expect(readFileSync(db).equals(before), 'the file is byte for byte the same').toBe(true);
  });
});
