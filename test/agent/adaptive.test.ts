/**
 * The cost-adaptive sampler against a fixture procfs tree in a temporary directory whose files
 * the test rewrites between samples: cheap counters fresh every sample, the tcp/tcp6 walk only
 * when its cost fits the budget or a cheap counter jumps, and states_age_ms saying how old the
 * per-state counts are.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdaptiveSampler } from '../../packages/agent/src/adaptive.js';
import type { AdaptiveOptions } from '../../packages/agent/src/adaptive.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/procs.js';

const t = tempDir('adaptive');
afterAll(() => t.cleanup());

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
let procfs = '';
let run = 0;

/** Writes net/tcp with `estab` ESTABLISHED and `tw` TIME_WAIT lines (plus one listener). */
function writeTcp(estab: number, tw = 0): void {
  const lines = [HEADER, '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0000000000000000 100 0 0 10 0\n'];
  let sl = 1;
  const row = (st: string, i: number): string =>
    `${String(sl++).padStart(4)}: 0100007F:1F90 0100007F:${(10000 + (i % 50000)).toString(16).toUpperCase().padStart(4, '0')} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${200 + i} 1 0000000000000000 20 4 30 10 -1\n`;
  for (let i = 0; i < estab; i++) lines.push(row('01', i));
  for (let i = 0; i < tw; i++) lines.push(row('06', i));
  writeFileSync(join(procfs, 'net/tcp'), lines.join(''));
}

/** Writes sockstat with the given inuse and tw. */
function writeSockstat(inuse: number, tw: number): void {
  writeFileSync(
    join(procfs, 'net/sockstat'),
    `sockets: used ${inuse + 10}\nTCP: inuse ${inuse} orphan 0 tw ${tw} alloc ${inuse + 5} mem 1\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n`,
  );
}

/** Rewrites CurrEstab in snmp. */
function writeCurrEstab(n: number): void {
  const path = join(procfs, 'net/snmp');
  const lines = readFileSync(path, 'utf8').split('\n');
  const hi = lines.findIndex((l) => l.startsWith('Tcp:'));
  const names = lines[hi]!.split(/\s+/);
  const vals = lines[hi + 1]!.split(/\s+/);
  vals[names.indexOf('CurrEstab')] = String(n);
  lines[hi + 1] = vals.join(' ');
  writeFileSync(path, lines.join('\n'));
}

beforeEach(() => {
  procfs = join(t.dir, `proc-${run++}`);
  cpSync(join(FIXTURES, 'proc'), procfs, { recursive: true });
  // tcp6: header only, so the IPv4 file alone decides the counts.
  writeFileSync(join(procfs, 'net/tcp6'), `${readFileSync(join(FIXTURES, 'proc/net/tcp6'), 'utf8').split('\n')[0] ?? ''}\n`);
  writeTcp(100);
  writeSockstat(500, 0);
  writeCurrEstab(100);
});

const meta = { host: 'h', boot: '00000000-0000-4000-8000-000000000001', interval_ms: 10_000, labels: {} };
let seq = 0;
const sampler = (o: Partial<AdaptiveOptions>): AdaptiveSampler => new AdaptiveSampler({ procfs, top: 5, intervalMs: 10_000, budget: 0.01, ...o });
const sample = (s: AdaptiveSampler): ReturnType<AdaptiveSampler['sample']> => s.sample({ ...meta, seq: ++seq });
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('AdaptiveSampler', () => {
  it('walks every interval with --walk-budget 0', () => {
    const s = sampler({ budget: 0 });
    for (let i = 0; i < 4; i++) {
      writeTcp(100 + i);
      const snap = sample(s);
      expect(snap.states.established).toBe(100 + i);
      expect(snap.collect.states_age_ms).toBe(0);
    }
    expect(s.walks).toBe(4);
    expect(s.skips).toBe(0);
  });

  it('walks every interval while the walk costs less than the budget', () => {
    // 10 min interval: the walk would have to cost 3 s to exceed 1% of it.
    const s = sampler({ intervalMs: 600_000 });
    for (let i = 0; i < 3; i++) {
      writeTcp(100 + i);
      expect(sample(s).states.established).toBe(100 + i);
    }
    expect(s.walks).toBe(3);
  });

  it('skips the walk when over budget, keeps cheap counters fresh and says how old the states are', async () => {
    const s = sampler({ budget: 1e-9 });
    const first = sample(s);
    expect(first.states.established).toBe(100);
    expect(first.collect.states_age_ms).toBe(0);
    // The tcp file changes, but the cheap counters move less than the trigger: no walk.
    writeTcp(130);
    writeSockstat(520, 3);
    writeCurrEstab(120);
    await pause(20);
    const second = sample(s);
    expect(second.states.established).toBe(100);
    expect(second.collect.states_age_ms).toBeGreaterThanOrEqual(20);
    expect(second.collect.states_age_ms).toBe(second.ts - first.ts);
    expect(second.sockstat.tcp_inuse).toBe(520);
    expect(second.sockstat.tcp_tw).toBe(3);
    expect(second.summary.estab).toBe(120);
    expect(second.collect.bytes).toBeLessThan(first.collect.bytes);
    expect(s.skips).toBe(1);
  });

  it.each([
    ['TCP inuse', (): void => writeSockstat(800, 0)],
    ['TCP tw', (): void => writeSockstat(500, 200)],
    ['CurrEstab', (): void => writeCurrEstab(400)],
  ])('walks at once when %s jumps', async (_name, jump) => {
    const s = sampler({ budget: 1e-9 });
    sample(s);
    writeTcp(300, 10);
    await pause(5);
    expect(sample(s).states.established).toBe(100); // no jump yet: not walked
    jump();
    await pause(5);
    const snap = sample(s);
    expect(snap.states.established).toBe(300);
    expect(snap.states.time_wait).toBe(10);
    expect(snap.collect.states_age_ms).toBe(0);
    expect(s.walks).toBe(2);
    // Compared with the counters at that walk: unchanged now, so no walk again.
    await pause(5);
    expect(sample(s).collect.states_age_ms).toBeGreaterThan(0);
  });

  it('needs both the fraction and the minimum delta to trigger', () => {
    const s = sampler({ budget: 1e-9, changeFraction: 0.2, minDelta: 50 });
    sample(s);
    writeTcp(200);
    writeSockstat(540, 0); // +40: under minDelta
    expect(sample(s).states.established).toBe(100);
    writeSockstat(5, 0); // -495: both
    expect(sample(s).states.established).toBe(200);
  });
});
