/**
 * The agent: samples every interval into the outbox and lets the uplink deliver. start() and
 * stop() in reverse order.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { AdaptiveSampler } from './adaptive.js';
import type { AgentConfig } from './config.js';
import { MemoryStore, Outbox } from './uplink/outbox.js';
import type { OutboxStore } from './uplink/outbox.js';
import { Uplink } from './uplink/uplink.js';
import { DiskSpool } from './uplink/spool.js';
import { VERSION } from './version.js';
import { NamespaceSampler } from './namespaces/sampler.js';

export class Agent {
  readonly #cfg: AgentConfig;
  readonly #log: Logger;
  readonly #boot = randomUUID();
  readonly #sampler: AdaptiveSampler;
  readonly #namespaces: NamespaceSampler | null = null;
  readonly outbox: Outbox;
  readonly #uplink: Uplink;
  readonly #spool: DiskSpool | null = null;
  #seq = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(cfg: AgentConfig, log: Logger, store?: OutboxStore) {
    this.#cfg = cfg;
    this.#log = log.child({ component: 'agent' });
    const intervalMs = Math.round(cfg.interval * 1000);
    this.#sampler = new AdaptiveSampler({ procfs: cfg.procfs, top: cfg.top, intervalMs, budget: cfg.walkBudget });
    if (cfg.namespaces) {
      const nsLog = log.child({ component: 'namespaces' });
      this.#namespaces = new NamespaceSampler({ ...cfg, budget: cfg.walkBudget, intervalMs, warn: (m) => nsLog.warn(m), info: (m) => nsLog.info(m) });
    }
    if (store === undefined && cfg.spoolDir !== undefined) {
      const spoolLog = log.child({ component: 'spool' });
      this.#spool = new DiskSpool({
        dir: cfg.spoolDir,
        maxBytes: cfg.spoolBytes,
        memoryMax: cfg.queue,
        onEvent: (event, detail) => (event === 'disk-error' ? spoolLog.error({ detail }, 'spool write failed; holding snapshots in memory') : spoolLog.info({ detail }, 'spool writable again')),
      });
      spoolLog.info({ dir: cfg.spoolDir, recovered: this.#spool.stats.recovered, corrupt: this.#spool.stats.corrupt, bytes: this.#spool.bytes }, 'spool opened');
    }
    this.outbox = new Outbox(store ?? this.#spool ?? new MemoryStore(cfg.queue));
    this.#uplink = new Uplink({
      urls: cfg.collector ?? [],
      token: cfg.tokenValue ?? '',
      hello: { host: cfg.hostId, boot: this.#boot, agent: VERSION, interval_ms: intervalMs, labels: { ...cfg.labels } },
      outbox: this.outbox,
      log,
      ca: cfg.ca === undefined ? undefined : readFileSync(cfg.ca),
      heartbeatMs: Math.max(1000, Math.min(15_000, intervalMs)),
      reconnectMinMs: cfg.reconnectMin * 1000,
      reconnectMaxMs: cfg.reconnectMax * 1000,
    });
  }

  /** Starts sampling and connecting. */
  start(): void {
    this.#log.info({ host: this.#cfg.hostId, procfs: this.#cfg.procfs, intervalS: this.#cfg.interval, collector: this.#cfg.collector, namespaces: this.#cfg.namespaces }, 'agent started');
    this.#uplink.start();
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    const started = Date.now();
    try {
      const c0 = process.cpuUsage();
      const snap = this.#sampler.sample({
        host: this.#cfg.hostId,
        boot: this.#boot,
        seq: ++this.#seq,
        interval_ms: Math.round(this.#cfg.interval * 1000),
        labels: { ...this.#cfg.labels },
      });
      if (snap.collect.errors.length > 0) this.#log.warn({ errors: snap.collect.errors }, 'snapshot has problems');
      if (this.#namespaces !== null) {
        const hostCpu = process.cpuUsage(c0);
        const part = this.#namespaces.sample(snap.ts, (hostCpu.user + hostCpu.system) / 1000);
        snap.collect.namespaces = part.collect;
        if (part.entries !== undefined) snap.namespaces = part.entries;
        this.#log.debug({ seq: snap.seq, namespaces: part.collect }, 'namespaces sampled');
      }
      const before = this.outbox.dropped;
      this.outbox.push(snap);
      if (this.outbox.dropped > before) this.#log.warn({ dropped: this.outbox.dropped, queued: this.outbox.size }, 'queue full; dropped oldest snapshot');
      this.#log.debug({ seq: snap.seq, ms: snap.collect.ms, statesAgeMs: snap.collect.states_age_ms }, 'snapshot taken');
      this.#uplink.pump();
    } catch (err) {
      this.#log.error({ err }, 'sampling failed');
    }
    const intervalMs = this.#cfg.interval * 1000;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, intervalMs - (Date.now() - started)));
  }

  /** Stops sampling, gives in-flight batches a moment to be acknowledged, closes the link. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#uplink.stop();
    this.#spool?.close();
    this.#log.info({ unsent: this.outbox.size, dropped: this.outbox.dropped, lastSeq: this.#seq, boot: this.#boot, spool: this.#spool?.stats }, 'agent stopped');
  }
}
