#!/usr/bin/env node
// One layout of bench/namespaces-cost.mjs: --conns loopback connections spread evenly over
// --namespaces network namespaces, --busy of them with ongoing churn (--churn connections opened
// and as many closed every second), the others quiet (idle ESTABLISHED connections: nothing
// moves). One sampler process per mode (bench/lib/ns-sampler-proc.mjs: the agent's
// NamespaceSampler, walk budget 0 = walk every namespace every interval, or 1%, 2%, 5% of a
// core; a mode `B:SOURCE` in --budgets also sets its --walk-source, netlink or proc) samples
// the same namespaces in lockstep, interval after interval, the modes' order
// rotated each interval. After interval --intervals/3 a spike (+50% connections, a jump of the
// cheap counters) is made in one quiet namespace, after 2*--intervals/3 a small one (+5%, at least
// 50: below the jump threshold) in another; each mode's first snapshot showing it is recorded.
//
// The clock the samplers are given is simulated: snapshot k is taken at start + k x 10 s, as an
// agent at a 10 s interval takes it, however long the real interval was (at least --pace-ms, so
// the busy namespaces churn between snapshots). The walk budget accrues by that clock; CPU is real.
//
// Meant to run as PID 1 of a PID namespace of its own with its own /proc (namespaces-cost.mjs
// starts it under `unshare --pid --fork --mount-proc --kill-child`): the samplers then see only
// the namespaces made here, as on a node that holds exactly these containers, and everything
// started here dies with it. Writes its result as JSON to --out; progress on stderr.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addNetns, cleanupAll, firstLine, installCleanup } from './netns.mjs';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const CONNS = Number(opt('conns', 10_000));
const K = Number(opt('namespaces', 10));
const BUSY = Number(opt('busy', Math.max(1, Math.round(K / 10))));
const INTERVALS = Math.max(6, Number(opt('intervals', 20)));
/** Modes: `budget` or `budget:source` (--walk-source of that sampler; auto when not given). */
const BUDGETS = String(opt('budgets', '0,0.01,0.02,0.05'))
  .split(',')
  .map((m) => ({ budget: Number(m.split(':')[0]), source: m.split(':')[1] ?? 'auto' }));
const CHURN = Number(opt('churn', 10));
const PACE_MS = Number(opt('pace-ms', 2000));
const SETTLE_S = Number(opt('settle-s', 65));
const TAG = String(opt('tag', 'x'));
const OUT = opt('out', null);
/** net.ipv4.tcp_child_ehash_entries while the namespaces are made (0: the shared table, the default). */
const CHILD_EHASH = Number(opt('child-ehash', 0));
const CHILD_EHASH_FILE = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
const INTERVAL_MS = 10_000;
/** Connections per worker process at most, spike included: 2 descriptors each, 20,000 allowed. */
const PER_WORKER = 9000;

const WORKER = fileURLToPath(new URL('./conns-worker.mjs', import.meta.url));
const SAMPLER = fileURLToPath(new URL('./ns-sampler-proc.mjs', import.meta.url));
const log = (m) => process.stderr.write(`namespaces[${K}]: ${m}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
function track(p) {
  children.add(p);
  p.on('exit', () => children.delete(p));
  return p;
}
function killChildren() {
  for (const p of children) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
}

/** The next JSON line a worker prints. */
function nextLine(proc, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const on = (d) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(t);
      proc.stdout.off('data', on);
      const msg = JSON.parse(out.slice(0, nl));
      if (msg.error !== undefined) reject(new Error(`${what}: ${msg.error}`));
      else resolve(msg);
    };
    proc.stdout.on('data', on);
  });
}

/** The next IPC message of a sampler process. */
function ask(proc, msg) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`sampler exited with ${code}`));
    proc.once('exit', onExit);
    proc.once('message', (m) => {
      proc.off('exit', onExit);
      resolve(m);
    });
    if (msg !== null) proc.send(msg);
  });
}

const share = (x, n, i) => Math.floor(x / n) + (i < x % n ? 1 : 0);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const mean = (xs) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

async function main() {
  installCleanup();
  process.on('exit', killChildren);
  const started = Date.now();
  const loadStart = loadavg();
  const perNs = Math.floor(CONNS / K);
  const workersPerNs = Math.max(1, Math.ceil((perNs * 1.5) / PER_WORKER));
  const bigSpike = Math.round(perNs / 2);
  const smallSpike = Math.max(50, Math.round(perNs / 20));
  // Busy ones first (their churn settles while the rest start), then the two spike namespaces, then quiet.
  const nss = [];
  // With --child-ehash, each namespace gets a TCP hash table of its own (the sysctl is read when
  // a namespace is made): set only while they are made, then put back.
  const oldEhash = CHILD_EHASH > 0 ? readFileSync(CHILD_EHASH_FILE, 'utf8').trim() : null;
  if (oldEhash !== null) writeFileSync(CHILD_EHASH_FILE, String(CHILD_EHASH));
  try {
    for (let i = 0; i < K; i++) {
      const kind = i < BUSY ? 'busy' : i === BUSY ? 'spike-big' : i === BUSY + 1 ? 'spike-small' : 'quiet';
      nss.push({ i, kind, name: addNetns(`${TAG}-n${i}`), conns: share(CONNS, K, i), workers: [], ino: 0 });
    }
  } finally {
    if (oldEhash !== null) writeFileSync(CHILD_EHASH_FILE, oldEhash);
  }
  log(`${CONNS} connections over ${K} namespaces (${BUSY} busy, churn ${CHURN}/s each), ${workersPerNs} worker(s) per namespace; load ${loadStart}`);
  const t0 = performance.now();
  let churnSince = 0;
  const jobs = [];
  for (const ns of nss)
    for (let w = 0; w < workersPerNs; w++) {
      const a = ['--estab', String(share(ns.conns, workersPerNs, w)), '--addr', `127.0.0.${w + 1}`, '--hold', '14400'];
      if (ns.kind === 'busy' && w === 0) a.push('--churn', String(CHURN));
      const commands = ns.kind.startsWith('spike');
      if (commands) a.push('--commands');
      jobs.push({ ns, args: a, commands });
    }
  // A few at a time: each start is a Node process making its connections.
  for (let j = 0; j < jobs.length; j += 8) {
    await Promise.all(
      jobs.slice(j, j + 8).map(async ({ ns, args: a, commands }) => {
        const p = track(spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--max-semi-space-size=1', WORKER, ...a], { stdio: [commands ? 'pipe' : 'ignore', 'pipe', 'pipe'] }));
        const ready = await firstLine(p, `worker in ${ns.name}`, 300_000);
        ns.workers.push({ proc: p, pid: ready.pid });
        ns.ino = statSync(`/proc/${ready.pid}/ns/net`).ino;
      }),
    );
    if (nss.filter((n) => n.kind === 'busy').every((n) => n.workers.length === workersPerNs) && churnSince === 0) churnSince = performance.now();
  }
  const setupS = (performance.now() - t0) / 1000;
  log(`set up in ${setupS.toFixed(1)} s`);
  // TIME_WAIT of the churn lasts 60 s: start measuring once it is steady.
  const settle = churnSince + SETTLE_S * 1000 - performance.now();
  if (settle > 0) {
    log(`letting the churn settle for ${(settle / 1000).toFixed(0)} s`);
    await sleep(settle);
  }

  const modes = [];
  for (const { budget, source } of BUDGETS) {
    const proc = track(
      spawn(process.execPath, ['--max-semi-space-size=1', SAMPLER, '--budget', String(budget), '--interval-ms', String(INTERVAL_MS), '--walk-source', source], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    await ask(proc, null);
    modes.push({ budget, source, proc, ticks: [], warnings: [] });
  }
  const spikes = [
    { kind: 'spike-big', conns: bigSpike, after: Math.floor(INTERVALS / 3) },
    { kind: 'spike-small', conns: smallSpike, after: Math.floor((2 * INTERVALS) / 3) },
  ];
  const base = Date.now();
  const loadTicks = loadavg();
  const tTicks = performance.now();
  const realMs = [];
  for (let t = 0; t <= INTERVALS; t++) {
    const tickStart = performance.now();
    const ts = base + t * INTERVAL_MS;
    for (let k = 0; k < modes.length; k++) {
      const m = modes[(t + k) % modes.length];
      const r = await ask(m.proc, { ts, bytes: t === INTERVALS });
      m.ticks[t] = r;
      m.warnings.push(...r.warnings);
    }
    for (const sp of spikes) {
      if (sp.after !== t) continue;
      const ns = nss.find((n) => n.kind === sp.kind);
      await Promise.all(
        ns.workers.map((w, i) => {
          const n = share(sp.conns, ns.workers.length, i);
          const done = nextLine(w.proc, `spike in ${ns.name}`, 120_000);
          w.proc.stdin.write(`spike ${n}\n`);
          return done;
        }),
      );
      ns.conns += sp.conns;
      sp.ino = ns.ino;
      sp.estab = 2 * ns.conns;
      log(`interval ${t}: spike of ${sp.conns} connections in namespace ${ns.i}`);
    }
    const wait = PACE_MS - (performance.now() - tickStart);
    if (wait > 0) await sleep(wait);
    realMs.push(performance.now() - tickStart);
    if (t % 5 === 0) log(`interval ${t}/${INTERVALS} (${(realMs.at(-1) / 1000).toFixed(1)} s real)`);
  }
  const loadEnd = loadavg();
  const ticksS = (performance.now() - tTicks) / 1000;

  // What the kernel holds at the end, for quiet namespaces, checked with ss in a few of them.
  const quiet = nss.filter((n) => n.kind === 'quiet');
  const truth = (n) => ({ established: 2 * n.conns, listen: n.workers.length });
  const ssChecked = quiet.slice(0, 3).map((n) => {
    const lines = execFileSync('ip', ['netns', 'exec', n.name, 'ss', '-tanH'], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter((l) => l.trim() !== '');
    const est = lines.filter((l) => l.startsWith('ESTAB')).length;
    const listen = lines.filter((l) => l.startsWith('LISTEN')).length;
    return {
      ns: n.i,
      ss_total: lines.length,
      ss_established: est,
      ss_listen: listen,
      expected: truth(n),
      ok: est === truth(n).established && listen === truth(n).listen && lines.length === est + listen,
    };
  });

  const kindOf = new Map(nss.map((n) => [n.ino, n]));
  const result = {
    conns: CONNS,
    namespaces: K,
    busy: BUSY,
    churn_per_s: CHURN,
    child_ehash_entries: CHILD_EHASH,
    conns_per_namespace: perNs,
    workers: jobs.length,
    setup_s: setupS,
    intervals: INTERVALS,
    interval_ms: INTERVAL_MS,
    real_ms_per_interval: { mean: mean(realMs), max: Math.max(...realMs) },
    ticks_real_s: ticksS,
    load: { start: loadStart, ticks_start: loadTicks, end: loadEnd },
    spikes: spikes.map((s) => ({ kind: s.kind, conns: s.conns, after_interval: s.after })),
    ss_checked: ssChecked,
    modes: [],
  };
  for (const m of modes) {
    const steady = m.ticks.slice(1);
    const ageOf = (kind) => steady.flatMap((r) => r.entries.filter((e) => kindOf.get(e[0])?.kind === kind).map((e) => e[1]));
    const entriesOf = (kind, rs) => rs.flatMap((r) => r.entries.filter((e) => kindOf.get(e[0])?.kind === kind));
    const quietSteady = entriesOf('quiet', steady);
    const busySteady = entriesOf('busy', steady);
    const last = m.ticks.at(-1);
    const quietLast = last.entries.filter((e) => kindOf.get(e[0])?.kind === 'quiet');
    const exact = quietLast.filter((e) => {
      const n = kindOf.get(e[0]);
      const want = truth(n);
      return e[3] === want.established && e[4] === want.listen && e[5] === want.established + want.listen;
    }).length;
    const spikeSeen = spikes.map((s) => {
      let seen = null;
      for (let t = s.after + 1; t < m.ticks.length; t++) {
        const e = m.ticks[t].entries.find((x) => x[0] === s.ino);
        if (e !== undefined && e[3] >= s.estab) {
          seen = t - s.after;
          break;
        }
      }
      return { kind: s.kind, conns: s.conns, snapshots_until_shown: seen };
    });
    const cpu = steady.map((r) => r.cpu_ms);
    // The walks themselves (net/tcp and, unless skipped, net/tcp6 of a namespace), from the
    // sampler's counters: the first interval's, and those after it.
    const w0 = m.ticks[0].walkCounts;
    const wl = last.walkCounts;
    const walksAfter = wl.walks - w0.walks;
    const walkStats = {
      first: { walks: w0.walks, netlink: w0.netlink, ipv6_skipped: w0.ipv6Skipped, cpu_ms_per_walk: w0.walks > 0 ? w0.cpuMs / w0.walks : null },
      after: { walks: walksAfter, netlink: wl.netlink - w0.netlink, ipv6_skipped: wl.ipv6Skipped - w0.ipv6Skipped, cpu_ms_per_walk: walksAfter > 0 ? (wl.cpuMs - w0.cpuMs) / walksAfter : null },
    };
    result.modes.push({
      budget: m.budget,
      // The source the walks used (a netlink mode falls back to /proc if it cannot enter namespaces).
      source: wl.netlink === wl.walks && wl.walks > 0 ? 'netlink' : wl.netlink === 0 ? 'proc' : 'mixed',
      found: m.ticks[1].collect.found,
      reported: m.ticks[1].collect.reported,
      first_interval_cpu_ms: m.ticks[0].cpu_ms,
      cpu_ms_per_interval: { mean: mean(cpu), p50: pct(cpu, 50), max: Math.max(...cpu) },
      cpu_share_of_a_core_at_10s: mean(cpu) / INTERVAL_MS,
      process_cpu_ms_per_interval: last.processCpuMs / m.ticks.length,
      wall_ms_per_interval: mean(steady.map((r) => r.wall_ms)),
      walks_per_interval: mean(steady.map((r) => r.collect.walked)),
      stale_per_interval: mean(steady.map((r) => r.collect.stale)),
      walk: walkStats,
      quiet: {
        age_ms: { p50: pct(ageOf('quiet'), 50), max: Math.max(...ageOf('quiet')) },
        proven_share: quietSteady.filter((e) => e[2]).length / quietSteady.length,
        walks_after_start: quietSteady.filter((e) => e[1] === 0).length,
        entries_per_interval: quietSteady.length / steady.length,
        exact_at_end: exact,
        of: quietLast.length,
      },
      busy: {
        age_ms: { p50: pct(ageOf('busy'), 50), max: Math.max(...ageOf('busy')) },
        walks: busySteady.filter((e) => e[1] === 0).length,
        entries_per_interval: busySteady.length / steady.length,
      },
      spikes: spikeSeen,
      json_bytes_per_entry: last.jsonBytes,
      bin1_bytes_per_entry: last.bin1Bytes,
      warnings: [...new Set(m.warnings)],
    });
  }
  result.seconds = (Date.now() - started) / 1000;
  const text = JSON.stringify(result, null, 2);
  if (OUT !== null) writeFileSync(OUT, text + '\n');
  else process.stdout.write(text + '\n');
}

main()
  .catch((err) => {
    log(err.stack ?? String(err));
    process.exitCode = 1;
  })
  .finally(() => {
    killChildren();
    cleanupAll();
  });
