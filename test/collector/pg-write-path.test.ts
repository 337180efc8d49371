/**
 * The PostgreSQL write path's helpers on a real server. Array parameters written as literals
 * (store/pg/pg-arrays.ts) come back element for element, whatever the text holds. Token checks
 * made together are answered by one query over all their keys
 * (store/pg/pg-lookups.ts): on a real PostgreSQL server through the real PgStore, many checks at
 * once each get their own answer (live, revoked, unknown, a host with and without a token), and a
 * check made after a token changed sees the change even while an earlier query is in flight.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { numArray, textArray } from '../../packages/collector/src/store/pg/pg-arrays.js';
import { usePostgres } from '../helpers/postgres.js';

const pgServer = usePostgres();
let store: PgStore | null = null;
afterAll(async () => {
  await store?.close();
});

describe('PostgreSQL write path', () => {
  it('array literals: text with quotes, backslashes, braces, commas, spaces, NULL-like words and non-ASCII; numbers and NULLs', async () => {
    const texts = ['plain', 'a"b', 'back\\slash\\', '{braces}', 'a,b', ' spaced ', 'NULL', 'null', '', 'ünï😀', '\\"', null, 'x'];
    const got = await pgServer().sql<{ v: string | null }>('SELECT unnest($1::text[]) AS v', [textArray(texts)]);
    expect(got.map((r) => r.v)).toEqual(texts);
    const nums = [0, 1, -5, 2 ** 53 - 1, null, 1796034416943];
    const n = await pgServer().sql<{ v: string | null }>('SELECT unnest($1::bigint[])::text AS v', [numArray(nums)]);
    expect(n.map((r) => (r.v === null ? null : Number(r.v)))).toEqual(nums);
    expect(await pgServer().sql('SELECT unnest($1::int[]) AS v', [numArray([])])).toEqual([]);
  });

  it('token checks made together: each of many concurrent checks answered, and a check after a change sees it', async () => {
    const s = await PgStore.open(await pgServer().createDatabase('token_lookups'));
    store = s;
    const now = Date.now();
    for (let i = 0; i < 50; i++) await s.putToken(`h${i}`, `hash-${i}`, now);
    for (let i = 40; i < 50; i++) await s.revokeToken(`h${i}`, now);
    const hashes = Array.from({ length: 300 }, (_, i) => `hash-${i % 60}`);
    const hosts = await Promise.all(hashes.map((h) => s.hostForToken(h)));
    hosts.forEach((host, i) => expect(host, hashes[i]).toBe(i % 60 < 40 ? `h${i % 60}` : null));
    const has = await Promise.all(Array.from({ length: 300 }, (_, i) => s.hostHasToken(`h${i % 60}`)));
    has.forEach((v, i) => expect(v, `h${i % 60}`).toBe(i % 60 < 40));

    // A lookup in flight, then a token made: a check made after it sees the new token.
    const early = s.hostForToken('hash-new');
    await s.putToken('h-new', 'hash-new', now);
    const late = s.hostForToken('hash-new');
    expect(await late).toBe('h-new');
    expect([null, 'h-new']).toContain(await early);
    await s.revokeToken('h-new', now);
    expect(await s.hostForToken('hash-new')).toBeNull();
    expect(await s.hostHasToken('h-new')).toBe(false);
  }, 60_000);
});
