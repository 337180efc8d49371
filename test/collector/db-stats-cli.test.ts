/**
 * The real collector and CLI: `tcpfleet db stats` on a database a running collector writes, the
 * history answer's resolution header, and the one-line error on a missing database.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';

const t = tempDir('dbstats');
afterAll(() => {
  killAll();
  t.cleanup();
});

describe('tcpfleet db stats', () => {
  it('shows rows and oldest data per resolution; history says which resolution answered', async () => {
    const c = await startCollector(t.dir, ['--retention', '48h']);
    const a = startAgent(c, t.dir, ['--host-id', 'stats-host']);
    await waitFor(async () => {
      const r = await fetch(`${c.url}/api/v1/hosts/stats-host/history?since=0`).catch(() => null);
      return r !== null && r.ok && ((await r.json()) as unknown[]).length >= 3;
    }, 'three snapshots stored');
    const res = await fetch(`${c.url}/api/v1/hosts/stats-host/history?since=${Date.now() - 3_600_000}`);
    expect(res.headers.get('x-tcpfleet-resolution')).toBe('raw');
    const old = await fetch(`${c.url}/api/v1/hosts/stats-host/history?since=${Date.now() - 7 * 86_400_000}`);
    expect(old.headers.get('x-tcpfleet-resolution')).toBe('1m');
    // No minute is rolled yet (grace of 2 min): the answer is the raw tail, same array shape.
    const rows = (await old.json()) as { host: string; states: Record<string, number> }[];
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows[0]!.host).toBe('stats-host');
    const fleet = await fetch(`${c.url}/api/v1/total/history`);
    expect(fleet.status).toBe(200);
    expect(Array.isArray(await fleet.json())).toBe(true);

    const r = cli(['db', 'stats', '--db', c.db, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { hosts: number; bytes: number; resolutions: { resolution: string; rows: number; oldest: number | null }[] };
    expect(doc.hosts).toBe(1);
    expect(doc.bytes).toBeGreaterThan(0);
    expect(doc.resolutions.map((x) => x.resolution)).toEqual(['raw', '1m', '1h', 'fleet_1m', 'ns_raw', 'ns_1m', 'ns_1h']);
    expect(doc.resolutions[0]!.rows).toBeGreaterThanOrEqual(3);
    expect(doc.resolutions[0]!.oldest).toBeGreaterThan(Date.now() - 600_000);
    const text = cli(['db', 'stats', '--db', c.db]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/RESOLUTION\s+TABLE\s+ROWS/);
    expect(text.stdout).toMatch(/raw\s+snapshots\s+\d+/);
    await stopProc(a);
    await stopProc(c);
  });

  it('refuses a missing database with one line', () => {
    const r = cli(['db', 'stats', '--db', join(t.dir, 'nope.db')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no database at .*nope\.db/);
  });
});
