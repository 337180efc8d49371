/**
 * The alert engine. Host-scope rules are evaluated on each committed snapshot, in the snapshot's
 * own time (its `ts`), so a backlog replayed after a reconnect is judged against the baseline of
 * its own moment rather than looking like a burst. Fleet-scope and absent rules, and repeats, are
 * evaluated on a periodic tick in collector time.
 *
 * Container-scope rules (container-scope.ts) are evaluated like host rules, on each namespace of
 * each committed snapshot, as series of their own keyed by (host, netns) and kept in memory.
 *
 * Lifecycle: pending (condition holds) -> firing (held for `for`, outside grace) -> resolved
 * (threshold: back past resolve_value; spike: under resolve_factor x baseline). Nothing starts
 * pending during `grace` after a host (re)connects or after the collector starts. Every
 * transition is written with its notifications in one transaction (alert-store.ts); delivery
 * happens elsewhere (notify.ts).
 */
import type { Logger } from 'pino';
import { PackedSnapshot } from '@tcpfleet/common';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common';
import type { IngestItem, StoredSnapshot } from '../store/store.js';
import type { AlertEvidence, AlertRecord, AlertStore } from './alert-store.js';
import { NamespaceSeriesSet, isContainerKey, isNamespaceEvidence, matchesContainer, namespaceEvidence } from './container-scope.js';
import { HostSeries } from './host-series.js';
import { median, sampleKeys, valueAt } from './metric.js';
import type { SampleKeys } from './metric.js';
import { notificationBody } from './notifiers.js';
import { summaryText, toPayload } from './payload.js';
import type { AlertPayload } from './payload.js';
import type { Notifier, Rule, RuleSet } from './rules-file.js';
import type { FiringAlert } from '../views/firing-alerts.js';

/** Intervals without data after which a host counts as silent (as `stale` in the API). */
const STALE_INTERVALS = 3;
/** Alerts GET /api/v1/alerts?all=1 lists at most (the leader's engine and a follower's read alike). */
export const ALERT_LIST_LIMIT = 1000;
/** How often tick() runs (fleet-scope and absent rules, repeats): in serve and in `rules test`. */
export const TICK_MS = 500;

/** Options of the engine. */
export interface EngineOptions {
  store: AlertStore;
  log: Logger;
  /** Called after notifications were queued. */
  onQueued: () => void;
  now?: () => number;
}

interface Eval {
  ts: number;
  host: HostSeries | null;
  value: number;
  baseline: number | null;
  fire: boolean;
  clear: boolean;
  grace: boolean;
  evidence: AlertEvidence | null;
}

const cmp = (a: number, op: string, b: number): boolean => (op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b);
/** True when `labels` has every label of `m` (a loop: no entries array per rule and snapshot). */
const matches = (labels: Record<string, string>, m: Record<string, string>): boolean => {
  for (const k in m) if (labels[k] !== m[k]) return false;
  return true;
};

/** A batch's snapshots in ts order: the batch itself when it is already (one snapshot, most often), else a sorted copy. */
function inTsOrder(snaps: readonly Snapshot[]): readonly Snapshot[] {
  for (let i = 1; i < snaps.length; i++) if (snaps[i]!.ts < snaps[i - 1]!.ts) return [...snaps].sort((a, b) => a.ts - b.ts);
  return snaps;
}

export class AlertEngine {
  readonly #o: EngineOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #startedAt: number;
  #rules: RuleSet = { file: '', rules: [], notifiers: [] };
  /** What each host's samples keep: the numbers the rules in force read. */
  #keys: SampleKeys = sampleKeys([]);
  #notifiers = new Map<string, Notifier>();
  /** When each firing alert was last posted to each Alertmanager notifier (`id\0notifier`). */
  readonly #posted = new Map<string, number>();
  readonly #open = new Map<string, AlertRecord>();
  readonly #hosts = new Map<string, HostSeries>();
  readonly #fleet = new Map<string, { ts: number; v: number }[]>();
  /** Container-scope rules in force, and the per-(host, netns) series they read. */
  #containerRules: readonly Rule[] = [];
  readonly #namespaces = new NamespaceSeriesSet();
  #lastConnect = 0;

  constructor(o: EngineOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'alerts' });
    this.#now = o.now ?? Date.now;
    this.#startedAt = this.#now();
    for (const a of o.store.open()) this.#open.set(`${a.rule}\0${a.key}`, a);
  }

  /** The rules now in force. */
  get rules(): RuleSet {
    return this.#rules;
  }

  /** Notifiers of the rules now in force, by name. */
  get notifiers(): ReadonlyMap<string, Notifier> {
    return this.#notifiers;
  }

  /**
   * How far back samples are needed: the longest spike window plus a margin. With no rule nothing
   * reads them: 0, so each host keeps its last two (HostSeries keeps at least two; the newest
   * boots tell a restart) instead of a minute of them (60 per host at one a second: ~6 KB of heap
   * a host, 60 MB at 10,000 hosts, docs/performance.md collector memory). Rules loaded later
   * (SIGHUP) gather their samples from then on.
   */
  get keepMs(): number {
    if (this.#rules.rules.length === 0) return 0;
    let w = 0;
    for (const r of this.#rules.rules) if (r.kind === 'spike') w = Math.max(w, r.windowMs);
    return w + 60_000;
  }

  /** Replaces the rules; open alerts of rules that still exist keep their state. */
  setRules(set: RuleSet): void {
    this.#rules = set;
    this.#keys = sampleKeys(set.rules.flatMap((r) => ('metric' in r ? [r.metric] : [])));
    this.#notifiers = new Map(set.notifiers.map((n) => [n.name, n]));
    this.#containerRules = set.rules.filter((r) => r.scope === 'container');
    if (this.#containerRules.length === 0) this.#namespaces.clear();
    const names = new Set(set.rules.map((r) => r.name));
    const byName = new Map(set.rules.map((r) => [r.name, r]));
    const now = this.#now();
    for (const [id, a] of this.#open) {
      // Kept when its rule still exists with the same scope; otherwise nothing would ever evaluate it again.
      const r = byName.get(a.rule);
      if (r !== undefined && r.scope === (a.key === '' ? 'fleet' : isContainerKey(a.key) ? 'container' : 'host')) continue;
      this.#open.delete(id);
      if (a.status === 'pending') this.#o.store.remove(a.id);
      else {
        this.#o.store.update({ ...a, status: 'resolved', endsAt: now });
        this.#log.info({ rule: a.rule, host: a.host }, 'alert closed: its rule was removed or changed scope');
      }
    }
    for (const name of [...this.#fleet.keys()]) if (!names.has(name)) this.#fleet.delete(name);
  }

  /** Loads what the collector knew before this start: each host's latest and recent history. */
  seed(latest: readonly StoredSnapshot[], history: ReadonlyMap<string, readonly StoredSnapshot[]>): void {
    for (const s of latest) {
      const h = new HostSeries(s.host, s.labels, s.recv_ts, s.interval_ms, 0);
      for (const old of history.get(s.host) ?? []) h.add(old, this.keepMs, this.#keys);
      h.add(s, this.keepMs, this.#keys);
      if (PackedSnapshot.hasBreakdown(s)) h.keepBreakdown(s);
      this.#hosts.set(s.host, h);
    }
  }

  /** Evaluates host-scope rules on committed snapshots. Never throws. */
  ingest(items: readonly IngestItem[], recvTs: number): void {
    try {
      for (const item of items) this.#ingestHost(item, recvTs);
    } catch (err) {
      this.#log.error({ err }, 'alert evaluation failed');
    }
  }

  #ingestHost(item: IngestItem, recv: number): void {
    const snaps = inTsOrder(item.snapshots);
    const first = snaps[0];
    if (first === undefined) return;
    let h = this.#hosts.get(item.host);
    const silent = h !== undefined && recv - h.lastRecv > STALE_INTERVALS * h.intervalMs;
    let newBoot = h !== undefined && h.samples.length > 0;
    for (let k = 0; newBoot && k < snaps.length; k++) if (h!.hasBoot(snaps[k]!.boot)) newBoot = false;
    if (h === undefined) {
      h = new HostSeries(item.host, item.labels, recv, first.interval_ms, recv);
      this.#hosts.set(item.host, h);
      this.#lastConnect = recv;
    } else if (silent || newBoot) {
      h.connectedAt = recv;
      this.#lastConnect = recv;
      this.#log.info({ host: item.host }, silent ? 'host back after a silence: grace period starts' : 'host agent restarted: grace period starts');
    }
    h.lastRecv = recv;
    h.labels = item.labels;
    h.intervalMs = first.interval_ms;
    const keep = this.keepMs;
    const rules = this.#rules.rules;
    for (const s of snaps) {
      const newest = h.newestTs;
      const i = h.add(s, keep, this.#keys);
      const fresh = i >= 0 && s.ts >= newest;
      if (this.#containerRules.length > 0) this.#ingestNamespaces(h, s, fresh);
      if (!fresh) continue; // already seen, or older than what was evaluated: history only
      if (PackedSnapshot.hasBreakdown(s)) h.keepBreakdown(s);
      let evidence: (() => AlertEvidence | null) | null = null;
      for (const rule of rules) {
        if (rule.scope !== 'host' || rule.kind === 'absent') continue;
        if (matches(h.labels, rule.match)) this.#evalSample(rule, h, h, i, s, h.host, (evidence ??= breakdownOf(s, h)));
        else if (this.#open.size > 0) {
          // The host's labels no longer match the rule: its alert ends.
          const a = this.#open.get(`${rule.name}\0${h.host}`);
          if (a !== undefined) this.#step(rule, h.host, { ts: s.ts, host: h, value: a.value ?? 0, baseline: a.baseline, fire: false, clear: true, grace: false, evidence: null });
        }
      }
    }
    // Data is back: absent alerts of this host resolve (none to look up when nothing is open).
    if (this.#open.size === 0) return;
    for (const rule of rules) {
      if (rule.kind === 'absent' && rule.scope === 'host') {
        const a = this.#open.get(`${rule.name}\0${h.host}`);
        if (a !== undefined) this.#step(rule, h.host, { ts: recv, host: h, value: 0, baseline: null, fire: false, clear: true, grace: false, evidence: null });
      }
    }
  }

  /**
   * One sample of a series (a host's, or one namespace's of host `h`) for the alert `key`.
   * `evidence` is built only if an alert opens or fires on this sample (a bin1 breakdown stays
   * packed otherwise).
   */
  #evalSample(rule: Exclude<Rule, { kind: 'absent' }>, h: HostSeries, series: HostSeries, i: number, s: Snapshot, key: string, evidence: () => AlertEvidence | null): void {
    const value = valueAt(series.samples, i, rule.metric);
    if (value === undefined) return;
    const grace = this.#now() < Math.max(this.#startedAt, h.connectedAt) + rule.graceMs;
    if (rule.kind === 'threshold') {
      this.#step(rule, key, { ts: s.ts, host: h, value, baseline: null, fire: cmp(value, rule.op, rule.value), clear: !cmp(value, rule.op, rule.resolveValue), grace, evidence });
      return;
    }
    // An open alert keeps the baseline it started from, so a long spike never becomes its own
    // baseline and "resolves" while it is still going on.
    const base = this.#open.get(`${rule.name}\0${key}`)?.baseline ?? series.baseline(rule.metric, s.ts, rule.windowMs);
    if (base === undefined) return;
    this.#step(rule, key, { ts: s.ts, host: h, value, baseline: base, ...this.#spike(rule, value, base), grace, evidence });
  }

  /**
   * Container-scope rules on the namespaces of one snapshot of host `h`: each namespace that a
   * rule matches is its own series. On the host's newest snapshot (`fresh`), an alert of a
   * namespace the snapshot no longer lists (gone, or no longer matched) resolves.
   */
  #ingestNamespaces(h: HostSeries, s: Snapshot, fresh: boolean): void {
    const rules = this.#containerRules.filter((r) => matches(h.labels, r.match)) as Exclude<Rule, { kind: 'absent' }>[];
    const { added } = this.#namespaces.observe(h, s, this.keepMs, this.#keys, (e) => rules.some((r) => matchesContainer(e.container, r.container ?? {})));
    if (!fresh) return;
    const listed = new Map<string, NamespaceEntry>();
    for (const { ns, index } of added) {
      const entry = ns.entry;
      listed.set(ns.key, entry);
      if (index < 0) continue;
      for (const rule of rules) if (matchesContainer(entry.container, rule.container ?? {})) this.#evalSample(rule, h, ns.series, index, s, ns.key, () => namespaceEvidence(entry));
    }
    // Alerts of this host's namespaces that the snapshot no longer lists, or that their rule no longer matches, resolve.
    for (const a of [...this.#open.values()]) {
      if (a.host !== h.host || !isContainerKey(a.key)) continue;
      const rule = rules.find((r) => r.name === a.rule);
      const entry = listed.get(a.key);
      if (rule !== undefined && entry !== undefined && matchesContainer(entry.container, rule.container ?? {})) continue;
      const any = rule ?? this.#containerRules.find((r) => r.name === a.rule);
      if (any !== undefined) this.#step(any, a.key, { ts: s.ts, host: h, value: a.value ?? 0, baseline: a.baseline, fire: false, clear: true, grace: false, evidence: null });
    }
  }

  #spike(rule: Extract<Rule, { kind: 'spike' }>, value: number, base: number): { fire: boolean; clear: boolean } {
    return {
      fire: value >= rule.factor * base && value - base >= rule.minDelta,
      clear: value < rule.resolveFactor * base || value - base < rule.minDelta / 2 || value <= base,
    };
  }

  /** Fleet-scope and absent rules, and repeats; run periodically. Never throws. */
  tick(): void {
    try {
      const now = this.#now();
      for (const rule of this.#rules.rules) {
        if (rule.kind === 'absent') this.#tickAbsent(rule, now);
        else if (rule.scope === 'fleet') this.#tickFleet(rule, now);
      }
      this.#repeat(now);
    } catch (err) {
      this.#log.error({ err }, 'alert evaluation failed');
    }
  }

  #tickAbsent(rule: Rule, now: number): void {
    const grace = now < this.#startedAt + rule.graceMs;
    if (rule.scope === 'host') {
      for (const h of this.#hosts.values()) {
        if (!matches(h.labels, rule.match)) continue;
        const age = now - h.lastRecv;
        const silent = age > STALE_INTERVALS * h.intervalMs;
        if (!silent && !this.#open.has(`${rule.name}\0${h.host}`)) continue;
        // Pending from the last data received; firing once that is `for` ago.
        this.#step(rule, h.host, { ts: now, host: h, value: Math.round(age / 1000), baseline: null, fire: silent, clear: !silent, grace, evidence: null }, h.lastRecv);
      }
      return;
    }
    const hosts = [...this.#hosts.values()].filter((h) => matches(h.labels, rule.match));
    const live = hosts.filter((h) => now - h.lastRecv <= STALE_INTERVALS * h.intervalMs);
    const last = Math.max(0, ...hosts.map((h) => h.lastRecv));
    const age = last === 0 ? now - this.#startedAt : now - last;
    this.#step(rule, '', { ts: now, host: null, value: Math.round(age / 1000), baseline: null, fire: live.length === 0, clear: live.length > 0, grace }, live.length === 0 ? now - age : undefined);
  }

  #tickFleet(rule: Exclude<Rule, { kind: 'absent' }>, now: number): void {
    let sum = 0;
    let n = 0;
    for (const h of this.#hosts.values()) {
      if (now - h.lastRecv > STALE_INTERVALS * h.intervalMs || !matches(h.labels, rule.match)) continue;
      const v = valueAt(h.samples, h.samples.length - 1, rule.metric);
      if (v === undefined) continue;
      sum += v;
      n++;
    }
    if (n === 0) return;
    const grace = now < Math.max(this.#startedAt, this.#lastConnect) + rule.graceMs;
    if (rule.kind === 'threshold') {
      this.#step(rule, '', { ts: now, host: null, value: sum, baseline: null, fire: cmp(sum, rule.op, rule.value), clear: !cmp(sum, rule.op, rule.resolveValue), grace, evidence: null });
      return;
    }
    const series = this.#fleet.get(rule.name) ?? [];
    this.#fleet.set(rule.name, series);
    let old = 0;
    while (old < series.length && (series[old]?.ts ?? now) < now - rule.windowMs) old++;
    series.splice(0, old);
    const inWindow = [...series];
    series.push({ ts: now, v: sum });
    const open = this.#open.get(`${rule.name}\0`)?.baseline ?? null;
    if (open === null && inWindow.length < 3) return;
    const base = open ?? median(inWindow.map((p) => p.v));
    this.#step(rule, '', { ts: now, host: null, value: sum, baseline: base, ...this.#spike(rule, sum, base), grace, evidence: null });
  }

  /** One evaluation of one rule for one key: moves the alert along its lifecycle. */
  #step(rule: Rule, key: string, e: Omit<Eval, 'evidence'> & { evidence?: AlertEvidence | null | (() => AlertEvidence | null) }, pendingSince?: number): void {
    const evidenceOf = (): AlertEvidence | null => (typeof e.evidence === 'function' ? e.evidence() : (e.evidence ?? null));
    const id = `${rule.name}\0${key}`;
    let a = this.#open.get(id);
    const store = this.#o.store;
    if (a === undefined) {
      if (!e.fire || e.grace) return;
      a = store.insert({
        rule: rule.name,
        key,
        status: 'pending',
        severity: rule.severity,
        host: e.host === null ? null : e.host.host,
        labels: e.host === null ? rule.match : { ...e.host.labels },
        metric: rule.kind === 'absent' ? null : rule.metric.text,
        value: e.value,
        baseline: e.baseline,
        pendingSince: pendingSince ?? e.ts,
        startsAt: null,
        endsAt: null,
        lastNotified: null,
        evidence: evidenceOf(),
      });
      this.#open.set(id, a);
      this.#log.info({ rule: rule.name, host: a.host, value: e.value }, 'alert pending');
    }
    a.value = e.value;
    a.baseline = e.baseline;
    if (a.status === 'pending') {
      if (!e.fire) {
        store.remove(a.id);
        this.#open.delete(id);
        this.#log.info({ rule: rule.name, host: a.host, value: e.value }, 'alert pending cleared');
        return;
      }
      // The value of an open alert is kept in memory; only transitions are written.
      if (e.grace || e.ts - a.pendingSince < rule.forMs) return;
      a.status = 'firing';
      a.startsAt = e.ts;
      a.evidence = evidenceOf() ?? a.evidence;
      a.lastNotified = this.#now();
      this.#transition(rule, a, 'firing');
      return;
    }
    if (!e.clear) return;
    a.status = 'resolved';
    a.endsAt = e.ts;
    this.#open.delete(id);
    this.#transition(rule, a, 'resolved');
  }

  /**
   * Stores a transition with its notifications, logs it, and wakes the delivery pump. A repeat
   * (`repeat`) goes to webhooks only: Alertmanager notifiers get their own re-posts (#repeat).
   */
  #transition(rule: Rule, a: AlertRecord, status: 'firing' | 'resolved', repeat = false): void {
    const p = toPayload(a, rule.kind, status);
    const now = this.#now();
    this.#o.store.transaction(() => {
      this.#o.store.update(a);
      this.#enqueue(rule, a, p, now, (nf) => !repeat || nf.type === 'webhook');
    });
    this.#logAlert(p, status === 'firing' ? 'alert firing' : 'alert resolved');
    if (rule.notify.length > 0) this.#o.onQueued();
  }

  /** Queues the notifications of `p` to the rule's notifiers that `which` picks. */
  #enqueue(rule: Rule, a: AlertRecord, p: AlertPayload, now: number, which: (n: Notifier) => boolean): void {
    for (const n of rule.notify) {
      const nf = this.#notifiers.get(n);
      if (nf === undefined || !which(nf)) continue;
      // Alertmanager wants the alert's latest state only: an older post still queued would undo a newer one.
      this.#o.store.enqueue(a.id, n, notificationBody(p, nf, rule.description, now), now, nf.type === 'alertmanager');
      if (nf.type === 'alertmanager') {
        if (p.status === 'firing') this.#posted.set(`${a.id}\0${n}`, now);
        else this.#posted.delete(`${a.id}\0${n}`);
      }
    }
  }

  #logAlert(p: AlertPayload, msg: string): void {
    const fields = {
      alert: { rule: p.rule, host: p.host, severity: p.severity, metric: p.metric, value: p.value, baseline: p.baseline, startsAt: p.startsAt, endsAt: p.endsAt },
      text: summaryText(p),
    };
    if (p.status === 'firing') this.#log.warn(fields, msg);
    else this.#log.info(fields, msg);
  }

  #repeat(now: number): void {
    const byName = new Map(this.#rules.rules.map((r) => [r.name, r]));
    for (const a of this.#open.values()) {
      const rule = byName.get(a.rule);
      if (rule === undefined || a.status !== 'firing') continue;
      this.#repost(rule, a, now);
      if (rule.repeatMs <= 0 || now - (a.lastNotified ?? 0) < rule.repeatMs) continue;
      a.lastNotified = now;
      this.#transition(rule, a, 'firing', true);
    }
  }

  /** Posts a firing alert again to the rule's Alertmanager notifiers every `resend` (not logged). */
  #repost(rule: Rule, a: AlertRecord, now: number): void {
    const due = (nf: Notifier | undefined): boolean => nf?.type === 'alertmanager' && now - (this.#posted.get(`${a.id}\0${nf.name}`) ?? a.lastNotified ?? 0) >= nf.resendMs;
    if (!rule.notify.some((n) => due(this.#notifiers.get(n)))) return;
    this.#o.store.transaction(() => this.#enqueue(rule, a, toPayload(a, rule.kind, 'firing'), now, due));
    this.#o.onQueued();
  }

  /** The alerts firing now, in the shape the operator views (/metrics, dashboard, watch) show. */
  firing(): FiringAlert[] {
    return firingOf([...this.#open.values()], this.#rules);
  }

  /** Open alerts (or, with `all`, the history too) as payload objects: firing first. */
  list(all: boolean, limit = ALERT_LIST_LIMIT): AlertPayload[] {
    const open = [...this.#open.values()];
    return listOf(all ? this.#o.store.all(limit).map((r) => open.find((o) => o.id === r.id) ?? r) : open, this.#rules);
  }
}

/** Evidence of a host sample: the snapshot's breakdown, else the host's newest one (built only when an alert needs it). */
const breakdownOf =
  (s: Snapshot, h: HostSeries): (() => AlertEvidence | null) =>
  () =>
    s.breakdown ?? h.breakdown;

const kindsOf = (rules: RuleSet): Map<string, Rule['kind']> => new Map(rules.rules.map((r) => [r.name, r.kind]));

/** The firing ones of `recs` as the operator views show them (also a non-leader's, from the database). */
export function firingOf(recs: readonly AlertRecord[], rules: RuleSet): FiringAlert[] {
  const kinds = kindsOf(rules);
  return recs
    .filter((a) => a.status === 'firing')
    .map((a) => ({
      rule: a.rule,
      host: a.host,
      ...(isNamespaceEvidence(a.evidence) ? { netns: a.evidence.netns, container: a.evidence.container } : {}),
      since: a.startsAt ?? a.pendingSince,
      ...(a.value === null ? {} : { value: a.value }),
      severity: a.severity,
      summary: summaryText(toPayload(a, kinds.get(a.rule) ?? null)),
    }));
}

/** Alert records as GET /api/v1/alerts lists them (also a non-leader's, from the database): firing first, then pending, then resolved; newest first. */
export function listOf(recs: readonly AlertRecord[], rules: RuleSet): AlertPayload[] {
  const kinds = kindsOf(rules);
  const rank = { firing: 0, pending: 1, resolved: 2 } as const;
  return [...recs].sort((x, y) => rank[x.status] - rank[y.status] || (y.startsAt ?? y.pendingSince) - (x.startsAt ?? x.pendingSince)).map((r) => toPayload(r, kinds.get(r.rule) ?? null));
}
