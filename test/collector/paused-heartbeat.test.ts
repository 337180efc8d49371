/**
 * The collector pauses reading every agent's socket while its write queue is full
 * (backpressure); pongs then wait unread in the kernel. A session must not be closed for a
 * missed pong the collector never read (at 10,000 agents that closed 1,675-7,644 live sessions
 * in 30 s and turned overload into reconnect storms), while an agent that stops answering is
 * still closed: within two heartbeats when reads run, within two heartbeats after the resume
 * when it went silent during a pause.
 *
 * Real CollectorServer in-process, real SQLite file written through the write thread, real
 * WebSocket clients on loopback; the write path is held by a second SQLite connection keeping
 * the write lock (BEGIN IMMEDIATE), as test/faults/storage.test.ts does with sqlite3.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import pino from 'pino';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, encodeMessage } from '@tcpfleet/common';
import { CollectorServer } from '../../packages/collector/src/ingest/server.js';
import { IngestWriter } from '../../packages/collector/src/ingest/writer.js';
import { Authenticator } from '../../packages/collector/src/ingest/auth.js';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { ThreadedStore } from '../../packages/collector/src/store/write-thread.js';
import { Uplink } from '../../packages/agent/src/uplink/uplink.js';
import { MemoryStore, Outbox } from '../../packages/agent/src/uplink/outbox.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir, waitFor } from '../helpers/procs.js';

const HEARTBEAT = 400;
/** Detection bound asserted: two heartbeats are documented, plus 1 s for timers late on a loaded CI machine. */
const DETECT_MS = 2 * HEARTBEAT + 1000;
const TOKEN = 'paused-heartbeat-fleet-token';
const AGENTS = 4;
const PER_BATCH = 4;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Collector {
  path: string;
  server: CollectorServer;
  port: number;
  /** Pause (true) and resume (false) events of the write queue, in order. */
  pressure: boolean[];
  /** With continuous admission: the sessions each partial resume let in, in order. */
  admitted: number[];
}

/**
 * A collector whose write queue pauses reads at 8 snapshots; commits wait up to 30 s for a lock.
 * `continuous`: wired as app.ts does, each commit lets in only as many paused sessions as fit;
 * the queue pauses at 16 snapshots, committed one batch at a time, one commit in flight.
 */
async function startCollector(helloTimeoutMs?: number, continuous = false): Promise<Collector> {
  const t = tempDir('paused-heartbeat');
  const path = `${t.dir}/c.db`;
  const log = pino({ level: 'silent' });
  const opts = { path, busyTimeoutMs: 30_000 };
  const store = new ThreadedStore(new SqliteStore(opts), { store: opts, logLevel: 'silent' }, log);
  const pressure: boolean[] = [];
  const admitted: number[] = [];
  let server: CollectorServer | null = null;
  const writer = new IngestWriter({
    store,
    log,
    maxQueued: (continuous ? 4 : 2) * PER_BATCH,
    ...(continuous ? { maxPerCommit: PER_BATCH, maxInFlight: 1 } : {}),
    onPressure: (full) => {
      pressure.push(full);
      server?.setPaused(full);
    },
    ...(continuous ? { onRoom: (room: number) => void admitted.push(server?.admit(room) ?? 0) } : {}),
  });
  server = new CollectorServer({
    host: '127.0.0.1',
    port: 0,
    log,
    store,
    writer,
    auth: new Authenticator(store, TOKEN),
    heartbeatMs: HEARTBEAT,
    ...(helloTimeoutMs !== undefined ? { helloTimeoutMs } : {}),
    http: (_req, res) => res.writeHead(404).end(),
  });
  const s = server;
  const port = await s.listen();
  cleanups.push(
    () => t.cleanup(),
    () => store.close(),
    () => s.close(),
  );
  return { path, server: s, port, pressure, admitted };
}

/** An agent speaking the protocol: answers pings while `answering`, counts pings, acks and how it was closed. */
interface Agent {
  ws: WebSocket;
  host: string;
  answering: boolean;
  pings: number;
  /** When each ping arrived (performance.now()). */
  pingAt: number[];
  acked: number;
  closed: number | null;
  send(seqFrom: number): void;
}

async function connectAgent(port: number, host: string): Promise<Agent> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { Authorization: `Bearer ${TOKEN}` }, perMessageDeflate: false, autoPong: false });
  let id = 0;
  const a: Agent = {
    ws,
    host,
    answering: true,
    pings: 0,
    pingAt: [],
    acked: 0,
    closed: null,
    send(seqFrom) {
      const snapshots = Array.from({ length: PER_BATCH }, (_, i) => synthSnapshot(host, Date.now(), seqFrom + i, seqFrom + i));
      ws.send(encodeMessage({ type: 'batch', id: ++id, snapshots }));
    },
  };
  cleanups.push(() => ws.terminate());
  ws.on('ping', (data) => {
    a.pings++;
    a.pingAt.push(performance.now());
    if (a.answering) ws.pong(data);
  });
  ws.on('close', (code) => {
    a.closed = code;
  });
  const welcomed = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string };
      if (msg.type === 'welcome') resolve();
      if (msg.type === 'ack') a.acked++;
    });
    ws.on('close', () => reject(new Error(`${host} closed before its welcome`)));
  });
  ws.on('open', () => {
    ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, host, boot: '00000000-0000-4000-8000-000000000001', agent: 'paused-heartbeat-test', interval_ms: 1000, labels: {} }));
  });
  await welcomed;
  return a;
}

const stored = (path: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** Takes the database's write lock from a second connection; returns the release (also run at cleanup). */
function holdWriteLock(path: string): () => void {
  const db = new Database(path);
  db.exec('BEGIN IMMEDIATE');
  db.prepare("INSERT INTO layouts (fields) VALUES ('lock-holder')").run();
  const release = (): void => {
    if (!db.open) return;
    db.exec('ROLLBACK');
    db.close();
  };
  cleanups.push(release);
  return release;
}

/** Holds the write lock and fills the queue with two filler agents' batches: reads paused. */
async function pauseReads(c: Collector): Promise<{ release: () => void; filler: Agent }> {
  const release = holdWriteLock(c.path);
  const filler = await Promise.all([connectAgent(c.port, 'filler-0'), connectAgent(c.port, 'filler-1')]);
  for (const a of filler) a.send(1);
  await waitFor(() => c.pressure.length === 1, 'the write queue full (reads paused)', 10_000, 10);
  if (filler[0] === undefined) throw new Error('no filler agent');
  return { release, filler: filler[0] };
}

describe('heartbeat while the collector pauses its reads', () => {
  it('a write path held for many heartbeats closes no session that answers pings; all is stored after', async () => {
    const c = await startCollector();
    const agents = await Promise.all(Array.from({ length: AGENTS }, (_, i) => connectAgent(c.port, `paused-${i}`)));
    // One at a time: the queue stays under its bound.
    for (const a of agents) {
      a.send(1);
      await waitFor(() => a.acked === 1, 'first batch acknowledged', 10_000, 10);
    }
    expect(c.pressure).toEqual([]);

    const release = holdWriteLock(c.path);
    for (const a of agents) a.send(1 + PER_BATCH);
    await waitFor(() => c.pressure.length === 1, 'the write queue full (reads paused)', 10_000, 10);
    // Paused for at least four heartbeats: each agent received (and answered) four more pings,
    // whose pongs the collector cannot read until it resumes. Stops early if a session is closed.
    const pingsAtPause = agents.map((a) => a.pings);
    await waitFor(() => agents.every((a, i) => a.pings >= (pingsAtPause[i] ?? 0) + 4) || agents.some((a) => a.closed !== null), 'four heartbeats while paused', 10_000, 10);
    expect(c.pressure).toEqual([true]);
    expect(agents.map((a) => a.closed)).toEqual(agents.map(() => null));

    release();
    await waitFor(() => agents.every((a) => a.acked === 2) || agents.some((a) => a.closed !== null), 'second batches acknowledged', 30_000, 10);
    // Resumed (batches still in the kernel when it paused may fill the queue once more).
    expect(c.pressure.slice(0, 2)).toEqual([true, false]);
    expect(c.pressure.at(-1)).toBe(false);
    // And the resume is not followed by a close either: three more heartbeats with reads running.
    const pingsAtResume = agents.map((a) => a.pings);
    await waitFor(() => agents.every((a, i) => a.pings >= (pingsAtResume[i] ?? 0) + 3) || agents.some((a) => a.closed !== null), 'three heartbeats after resume', 10_000, 10);
    expect(agents.map((a) => a.closed)).toEqual(agents.map(() => null));
    expect(agents.map((a) => a.acked)).toEqual(agents.map(() => 2));
    expect(c.server.connected).toBe(AGENTS);
    expect(stored(c.path)).toBe(AGENTS * 2 * PER_BATCH);
  });

  it('an agent that stops answering is still closed: within two heartbeats with reads running, within two after a resume', async () => {
    const c = await startCollector();
    const [live, quiet, pausedQuiet] = await Promise.all([connectAgent(c.port, 'live'), connectAgent(c.port, 'quiet'), connectAgent(c.port, 'paused-quiet')]);
    if (live === undefined || quiet === undefined || pausedQuiet === undefined) throw new Error('agents not connected');

    // Reads running: a silent agent is closed within two heartbeats (DETECT_MS: plus slack).
    quiet.answering = false;
    const silentAt = Date.now();
    await waitFor(() => quiet.closed !== null, 'the silent agent closed', 10_000, 10);
    const detectMs = Date.now() - silentAt;
    expect(detectMs).toBeLessThan(DETECT_MS);
    expect(live.closed).toBeNull();

    // An agent that goes silent while the collector is paused is closed after the resume.
    const release = holdWriteLock(c.path);
    live.send(1);
    pausedQuiet.send(1);
    await waitFor(() => c.pressure.length === 1, 'the write queue full (reads paused)', 10_000, 10);
    pausedQuiet.answering = false;
    const pingsAtPause = live.pings;
    await waitFor(() => live.pings >= pingsAtPause + 4 || pausedQuiet.closed !== null, 'four heartbeats while paused', 10_000, 10);
    expect(pausedQuiet.closed).toBeNull();
    release();
    await waitFor(() => c.pressure.length === 2, 'reads resumed', 30_000, 10);
    const resumedAt = Date.now();
    await waitFor(() => pausedQuiet.closed !== null, 'the agent silent since the pause closed', 10_000, 10);
    expect(Date.now() - resumedAt).toBeLessThan(DETECT_MS);
    expect(live.closed).toBeNull();
    expect(live.acked).toBe(1);
  });

  it("the agent's uplink does not declare a paused collector dead: the collector's pings keep it", async () => {
    const c = await startCollector();
    const logged: string[] = [];
    const outbox = new Outbox(new MemoryStore(100));
    const boot = '00000000-0000-4000-8000-0000000000aa';
    outbox.push(synthSnapshot('uplink', Date.now(), 1, 1, boot));
    const up = new Uplink({
      urls: [`ws://127.0.0.1:${c.port}/`],
      token: TOKEN,
      hello: { host: 'uplink', boot, agent: 'paused-heartbeat-test', interval_ms: 1000, labels: {} },
      outbox,
      log: pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) }),
      // Two collector heartbeats: one collector ping or more between two of the agent's checks.
      heartbeatMs: 2 * HEARTBEAT,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
    });
    cleanups.push(() => up.stop(500));
    up.start();
    await waitFor(() => up.stats.acked === 1, "the uplink's first snapshot acknowledged", 10_000, 10);

    const { release, filler } = await pauseReads(c);
    // Paused for at least four agent heartbeats (eight of the collector's): the uplink's pings
    // stay unanswered all that time.
    const pings = filler.pings;
    await waitFor(() => filler.pings >= pings + 8 || up.stats.connects > 1, 'four agent heartbeats while paused', 15_000, 10);
    const unresponsive = logged.filter((l) => l.includes('collector unresponsive')).length;
    release();
    expect(unresponsive).toBe(0);
    expect(up.stats.connects).toBe(1);
    outbox.push(synthSnapshot('uplink', Date.now(), 2, 2, boot));
    up.pump();
    await waitFor(() => up.stats.acked === 2, "the uplink's second snapshot acknowledged", 30_000, 10);
    expect(up.stats.connects).toBe(1);
    expect(stored(c.path)).toBe(2 + 2 * PER_BATCH);
  });

  it('a hello that waits unread while reads are paused is not refused for being late', async () => {
    const c = await startCollector(HEARTBEAT);
    const { release, filler } = await pauseReads(c);
    // Connects while paused: its hello stays unread for four hello timeouts.
    const late = connectAgent(c.port, 'late');
    let welcomed = false;
    late.then(
      () => (welcomed = true),
      () => undefined,
    );
    const pings = filler.pings;
    await waitFor(() => filler.pings >= pings + 4, 'four hello timeouts while paused', 10_000, 10);
    expect(welcomed).toBe(false);
    release();
    const a = await late;
    expect(a.closed).toBeNull();
    expect(c.server.connected).toBe(3);
  });

  it('after a pause the sessions read longest ago are resumed first, not the same ones every time', async () => {
    const c = await startCollector();
    const agents = await connectAcked(c.port, 'order', 6);
    // order-0 and order-1 fill the queue (two batches) while commits wait: reads paused, and
    // these two are now the sessions read most recently.
    const release = holdWriteLock(c.path);
    const [a0, a1] = agents;
    if (a0 === undefined || a1 === undefined) throw new Error('no agents');
    a0.send(1 + PER_BATCH);
    a1.send(1 + PER_BATCH);
    await waitFor(() => c.pressure.length === 1, 'the write queue full (reads paused)', 10_000, 10);
    // Every agent sends one more batch, which waits unread.
    const order: string[] = [];
    for (const a of agents) {
      const before = a.acked;
      a.ws.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'ack' && a.acked > before) order.push(a.host);
      });
      await new Promise<void>((resolve, reject) =>
        a.ws.send(encodeMessage({ type: 'batch', id: 100, snapshots: Array.from({ length: PER_BATCH }, (_, i) => synthSnapshot(a.host, Date.now(), 100 + i, i)) }), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    }
    release();
    await waitFor(() => order.length === 8, 'every batch acknowledged', 30_000, 10);
    // First the two queued when it paused; then, each resume letting two batches in, the sessions
    // unread longest: 2 and 3, 4 and 5, and only then 0 and 1 (before: 0 and 1 again at once).
    expect(order.slice(0, 2).sort()).toEqual(['order-0', 'order-1']);
    expect(order.slice(2, 4).sort()).toEqual(['order-2', 'order-3']);
    expect(order.slice(4, 6).sort()).toEqual(['order-4', 'order-5']);
    expect(order.slice(6, 8).sort()).toEqual(['order-0', 'order-1']);
  });
});

/** Connects `n` agents named PREFIX-0.. one after the other, each with its first batch acknowledged (read in this order). */
async function connectAcked(port: number, prefix: string, n: number): Promise<Agent[]> {
  const agents: Agent[] = [];
  for (let i = 0; i < n; i++) {
    const a = await connectAgent(port, `${prefix}-${i}`);
    a.send(1);
    await waitFor(() => a.acked === 1, 'first batch acknowledged', 10_000, 10);
    agents.push(a);
  }
  return agents;
}

describe('continuous admission (IngestWriter onRoom, CollectorServer.admit)', () => {
  it('a backlog is let in a few sessions per commit, longest-unread first; every paused session is read, none closed', async () => {
    const c = await startCollector(undefined, true);
    const agents = await connectAcked(c.port, 'admit', 12);
    // admit-0 to admit-3 fill the queue (16 snapshots) while commits wait: every read paused.
    const release = holdWriteLock(c.path);
    const fill = agents.slice(0, 4);
    for (const a of fill) a.send(1 + PER_BATCH);
    await waitFor(() => c.pressure.length === 1, 'the write queue full (reads paused)', 10_000, 10);
    // The eight others send a batch each, which waits unread; four heartbeats pass paused.
    const order: string[] = [];
    for (const a of agents) {
      a.ws.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'ack' && a.acked === 2) order.push(a.host);
      });
      if (!fill.includes(a)) a.send(1 + PER_BATCH);
    }
    const pings = agents[0]?.pings ?? 0;
    await waitFor(() => (agents[0]?.pings ?? 0) >= pings + 4 || agents.some((a) => a.closed !== null), 'four heartbeats while paused', 10_000, 10);
    expect(c.admitted).toEqual([]);
    release();
    await waitFor(() => agents.every((a) => a.acked === 2) || agents.some((a) => a.closed !== null), 'every second batch acknowledged', 30_000, 10);
    expect(agents.map((a) => a.closed)).toEqual(agents.map(() => null));
    // Partial resumes: each commit left room for 4 snapshots (one batch), which let in 2 of the
    // waiting sessions (2 snapshots a read estimated), never all eight at once as before.
    expect(c.admitted.length, String(c.admitted)).toBeGreaterThanOrEqual(2);
    expect(c.admitted.every((n) => n >= 1 && n <= 2)).toBe(true);
    // The four queued at the pause first, then the rest in the order they were last read.
    expect(order.slice(0, 4).sort()).toEqual(fill.map((a) => a.host).sort());
    expect(order.slice(4, 6).sort()).toEqual(['admit-4', 'admit-5']);
    expect(order).toHaveLength(12);
    // Heartbeats after the backlog: nobody closed, everything stored once.
    const after = agents.map((a) => a.pings);
    await waitFor(() => agents.every((a, i) => a.pings >= (after[i] ?? 0) + 3) || agents.some((a) => a.closed !== null), 'three heartbeats after', 10_000, 10);
    expect(agents.map((a) => a.closed)).toEqual(agents.map(() => null));
    expect(c.server.connected).toBe(12);
    expect(stored(c.path)).toBe(12 * 2 * PER_BATCH);
  });
});

describe('one heartbeat sweep for every session (ingest/heartbeat.ts)', () => {
  it('pings every agent once a heartbeat and closes one that stops answering within two heartbeats', async () => {
    const c = await startCollector();
    const agents = await Promise.all(Array.from({ length: 24 }, (_, i) => connectAgent(c.port, `sweep-${i}`)));
    expect(c.server.connected).toBe(24);
    // Every agent pinged at least three times; none more often than once a heartbeat.
    await waitFor(() => agents.every((a) => a.pings >= 3), 'three pings to every agent', 20_000, 10);
    for (const a of agents) for (let k = 1; k < a.pingAt.length; k++) expect(a.pingAt[k]! - a.pingAt[k - 1]!).toBeGreaterThanOrEqual(HEARTBEAT - 20);

    // One stops answering: closed within two heartbeats (DETECT_MS: plus slack); the others stay.
    const quiet = agents[5]!;
    quiet.answering = false;
    const silentAt = Date.now();
    await waitFor(() => quiet.closed !== null, 'the silent agent closed', 10_000, 10);
    expect(Date.now() - silentAt).toBeLessThan(DETECT_MS);
    await waitFor(() => c.server.connected === 23, 'its session released', 5000, 10);
    const after = agents.map((a) => a.pings);
    await waitFor(() => agents.every((a, i) => a === quiet || a.pings >= after[i]! + 2), 'two more pings to the others', 10_000, 10);
    expect(agents.filter((a) => a.closed !== null)).toEqual([quiet]);
  });
});
