/**
 * The failed-token table of the Authenticator (issue 14, finding 3) on a real SQLite store: valid
 * tokens are checked before the limit, bad ones are limited per address, and old addresses leave
 * the table one at a time (least recently failing first) instead of the whole table being cleared
 * when it fills, which used to hand every limited address a fresh budget.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { Authenticator, hashToken } from '../../packages/collector/src/ingest/auth.js';
import { tempDir } from '../helpers/procs.js';

describe('Authenticator failure table', () => {
  const tmp = tempDir('auth');
  const store = new SqliteStore({ path: `${tmp.dir}/t.db` });
  afterAll(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('limits bad tokens per address, never a valid token, and evicts gradually when full', async () => {
    await store.putToken('web-1', hashToken('host-token-web-1'), 1);
    const auth = new Authenticator(store, 'fleet-token-0123456789', { maxFailures: 20, windowMs: 60_000, maxAddresses: 10_000 });
    const t0 = 1_000_000;
    const prober = '10.0.0.1';
    const first = [];
    for (let i = 0; i < 25; i++) first.push(await auth.check(`guess-${i}`, prober, t0 + i));
    expect(first.map((r) => (r.ok ? 'ok' : r.limited ? 429 : 401))).toEqual([...Array<number>(20).fill(401), ...Array<number>(5).fill(429)]);
    // Valid tokens from the limited address are let in.
    expect(await auth.check('host-token-web-1', prober, t0 + 30)).toMatchObject({ ok: true, boundHost: 'web-1', auth: { kind: 'host' } });
    expect(await auth.check('fleet-token-0123456789', prober, t0 + 31)).toMatchObject({ ok: true, boundHost: null, auth: { kind: 'fleet' } });
    expect(await auth.check(null, prober, t0 + 32)).toMatchObject({ ok: false, limited: true });

    // 12,000 other addresses fail once each while the prober keeps failing now and then: it
    // stays limited throughout, and the table never holds more than its bound.
    let maxSize = 0;
    for (let i = 0; i < 12_000; i++) {
      const now = t0 + 100 + i;
      await auth.check('nope', `10.1.${i >> 8}.${i & 255}`, now);
      maxSize = Math.max(maxSize, auth.failingAddresses);
      if (i % 500 === 0) expect(await auth.check('still-guessing', prober, now)).toMatchObject({ ok: false, limited: true });
    }
    expect(maxSize).toBe(10_000);
    expect(auth.failingAddresses).toBe(10_000);
    // Which address leaves a full table: the least recently failing one, not the oldest entry.
    const strict = new Authenticator(store, null, { maxFailures: 1, maxAddresses: 3 });
    for (const a of ['a', 'b', 'c']) await strict.check('x', a, t0);
    expect(await strict.check('x', 'a', t0 + 1)).toMatchObject({ limited: true });
    await strict.check('x', 'd', t0 + 2); // table full: 'b' (least recently failing) leaves, not 'a'
    expect(strict.failingAddresses).toBe(3);
    expect(await strict.check('x', 'a', t0 + 3)).toMatchObject({ limited: true });
    expect(await strict.check('x', 'b', t0 + 4)).toMatchObject({ limited: false });

    // After the window, the prober starts over.
    expect(await auth.check('again', prober, t0 + 100 + 12_000 + 60_001)).toMatchObject({ ok: false, limited: false });
  });
});
