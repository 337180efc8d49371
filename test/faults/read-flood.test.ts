/**
 * Issue 14, finding 1: a flood of history reads must not stall ingest nor exhaust memory.
 *
 * One host holds 20,000 stored snapshots (a default 10 s agent stores 17,280 within the 48 h
 * retention); a real agent is connected, sending every 0.1 s. Twelve clients at once pull that
 * host's whole history, each with the largest page the API allows (following the next-page
 * cursor, and waiting as told by Retry-After when refused with 429/503), over and over for 20 s
 * (the clients run at nice 10: they stand in for other machines).
 * During the flood the agent's acknowledgement round trip (its own debug log) keeps a p99 under
 * 250 ms, and so does the wait of each of its snapshots before the collector's commit began
 * (recv_ts - ts: a stall cannot hide there as unanswered batches hide from ack times); the
 * collector's peak RSS (VmHWM) stays under 500 MB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { getPriority, setPriority } from 'node:os';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { AGENT_BIN, killAll, startCollector, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { memKb, pct, query, report } from '../helpers/checker.js';
import { seedHistory } from '../helpers/seed.js';

const SEEDED = 20_000;
const CLIENTS = 12;
const FLOOD_MS = 20_000;
const ACK_P99_MS = 250;
const COLLECTOR_CEILING_KB = 500 * 1024;
/** The page size to ask for: today's API takes up to 1,000,000; a bounded one refuses that with 400. */
const HUGE_LIMIT = 1_000_000;
const PAGE_LIMIT = 10_000;
const CLIENTS_NICE = 10;

interface Answer {
  status: number;
  bytes: number;
  next: string | null;
  retryAfterS: number | null;
  body: string;
}

/** GETs a URL, counting the body's bytes (kept only when small: error answers). */
function get(url: string, timeoutMs = 90_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs, agent: false }, (res) => {
      let bytes = 0;
      let body = '';
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        if (body.length < 4096) body += d.toString('utf8', 0, Math.min(d.length, 4096));
      });
      res.on('end', () => {
        const ra = res.headers['retry-after'];
        const next = res.headers['x-tcpfleet-next-cursor'];
        resolve({ status: res.statusCode ?? 0, bytes, next: typeof next === 'string' ? next : null, retryAfterS: ra === undefined ? null : Number(ra), body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of each thread of a process (/proc/PID/task/TID/stat), for the figures. */
function threadCpuS(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12])) / 100;
      if (s >= 0.5) out[`${comm}/${tid}`] = s;
    }
  } catch {
    // The process is gone.
  }
  return out;
}

describe('issue 14 (1): twelve clients pulling the largest history while a real agent sends', () => {
  const tmp = tempDir('readflood');
  let c: Collector;
  let agent: Proc;
  let oldest = 0;
  const stored = (host: string): number => query<{ n: number }>(c.db, 'SELECT count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0]?.n ?? 0;

  beforeAll(async () => {
    oldest = await seedHistory(`${tmp.dir}/tcpfleet.db`, 'seeded', SEEDED, Date.now() - 10_000, 5_000);
    c = await startCollector(tmp.dir, ['--heartbeat', '2s']);
    // A real agent sending every 0.1 s, logging each acknowledgement's round trip (debug).
    writeFileSync(`${tmp.dir}/agent.token`, c.token + '\n', { mode: 0o600 });
    agent = startProc(process.execPath, [AGENT_BIN, '--collector', c.wsUrl, '--token-file', `${tmp.dir}/agent.token`, '--host-id', 'flood-agent', '--interval', '0.1', '--log-level', 'debug']);
    await waitFor(() => stored('flood-agent') >= 20, 'the agent stored 20 snapshots', 30_000);
  });

  afterAll(() => {
    killAll();
    tmp.cleanup();
  });

  it('keeps the agent acknowledged within 250 ms (p99) and the collector under 500 MB', async () => {
    const base = `${c.url}/api/v1/hosts/seeded/history?since=${oldest}`;
    // The largest page this API allows: 1,000,000 where it takes it, else the documented maximum.
    const probe = await get(`${base}&limit=${HUGE_LIMIT}`);
    const limit = probe.status === 200 ? HUGE_LIMIT : PAGE_LIMIT;
    if (probe.status !== 200) {
      expect(probe.status).toBe(400);
      expect(probe.body).toContain(String(PAGE_LIMIT));
    }

    const baseline = agent
      .logs()
      .filter((l) => l['msg'] === 'batch acknowledged')
      .map((l) => Number(l['ms']));
    // The clients stand in for machines elsewhere: on this box they run at nice 10 (this thread
    // only; the collector and the agent were started before, at the test's own priority), so
    // that their own parsing does not take from the collector a CPU no remote client could.
    const nice0 = getPriority(0);
    setPriority(0, Math.max(nice0, CLIENTS_NICE));
    const cpu0 = process.cpuUsage();
    const floodStart = Date.now();
    const floodEnd = floodStart + FLOOD_MS;
    let hwm = memKb(c.pid);
    let rssMax = 0;
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 10_000; i++) {
        rssMax = Math.max(rssMax, memKb(c.pid, 'VmRSS'));
        await sleep(100);
      }
    })();
    const tally = { walks: 0, pages: 0, bytes: 0, refused: 0, failed: 0, statuses: {} as Record<string, number> };
    const client = async (): Promise<void> => {
      // Whole walks, over and over, until the flood's time is up (the last one is finished).
      // Bounded: 3,000 requests a client, and each request by its timeout.
      let requests = 0;
      for (let w = 0; Date.now() < floodEnd && w < 1000; w++) {
        let cursor: string | null = null;
        for (; requests < 3000; requests++) {
          const a: Answer = await get(`${base}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`).catch((): Answer => ({
            status: 0,
            bytes: 0,
            next: null,
            retryAfterS: null,
            body: '',
          }));
          tally.statuses[a.status] = (tally.statuses[a.status] ?? 0) + 1;
          if (a.status === 429 || a.status === 503) {
            tally.refused++;
            expect(a.retryAfterS).toBeGreaterThan(0);
            await sleep(Math.min(5, a.retryAfterS ?? 1) * 1000);
            continue;
          }
          if (a.status !== 200) {
            // No answer in time (status 0) or an error: counted (and asserted after the figures
            // are reported), then asked again while the flood lasts.
            tally.failed++;
            if (Date.now() >= floodEnd) return;
            await sleep(1000);
            continue;
          }
          tally.pages++;
          tally.bytes += a.bytes;
          cursor = a.next;
          if (cursor === null) {
            tally.walks++;
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, () => client()));
    const floodDone = Date.now();
    const clientsCpu = process.cpuUsage(cpu0);
    try {
      setPriority(0, nice0);
    } catch {
      // Lowering a nice value needs root (CI is); otherwise the rest of this file runs niced.
    }
    sampling = false;
    await sampler;
    hwm = Math.max(hwm, memKb(c.pid));

    const acks = agent
      .logs()
      .filter((l) => l['msg'] === 'batch acknowledged' && Number(l['time']) >= floodStart && Number(l['time']) <= floodDone)
      .map((l) => Number(l['ms']));
    const reconnects = agent.logs().filter((l) => l['msg'] === 'collector unresponsive; reconnecting' && Number(l['time']) >= floodStart).length;
    const health = (await get(`${c.url}/healthz`)).body;
    const collectorCpu = threadCpuS(c.pid);
    await stopProc(agent);
    await stopProc(c);
    // From the collector's side: how long each snapshot the agent took during the flood waited
    // before its commit began (recv_ts - ts). Unlike acks, a snapshot stuck behind a stall or a
    // reconnect cannot drop out of this measure.
    const waits = query<{ w: number }>(
      c.db,
      "SELECT s.recv_ts - s.ts AS w FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'flood-agent' AND s.ts >= ? AND s.ts < ?",
      floodStart,
      floodDone - 1000,
    ).map((r) => r.w);
    report('issue 14 read flood', {
      seeded: SEEDED,
      clients: CLIENTS,
      page_limit: limit,
      flood_ms: floodDone - floodStart,
      walks: tally.walks,
      pages: tally.pages,
      mb_served: Math.round(tally.bytes / 1e5) / 10,
      refused: tally.refused,
      failed: tally.failed,
      statuses: tally.statuses,
      ack_ms_before_flood: { n: baseline.length, p50: pct(baseline, 50), p99: pct(baseline, 99) },
      acks: acks.length,
      ack_ms: { p50: pct(acks, 50), p99: pct(acks, 99), max: Math.max(...acks) },
      stored_wait_ms: { n: waits.length, p50: pct(waits, 50), p99: pct(waits, 99), max: Math.max(...waits) },
      agent_reconnects: reconnects,
      clients_cpu_s: Math.round((clientsCpu.user + clientsCpu.system) / 1e5) / 10,
      collector_thread_cpu_s: collectorCpu,
      collector_hwm_kb: hwm,
      collector_rss_max_kb: rssMax,
      health: JSON.parse(health) as unknown,
    });
    // Ingest went on: acks came soon, the collector stayed small, the agent never gave up on it.
    expect(pct(acks, 99)).toBeLessThan(ACK_P99_MS);
    expect(pct(waits, 99)).toBeLessThan(ACK_P99_MS);
    expect(hwm).toBeLessThan(COLLECTOR_CEILING_KB);
    expect(reconnects).toBe(0);
    expect(acks.length).toBeGreaterThan((floodDone - floodStart) / 100 / 4);
    // The flood happened: every client walked the whole history at least once, every answer a page or a 429/503.
    expect(tally.failed).toBe(0);
    expect(tally.walks).toBeGreaterThanOrEqual(CLIENTS);
    expect(tally.bytes).toBeGreaterThan(CLIENTS * SEEDED * 1000);
  });
});
