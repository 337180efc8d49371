#!/usr/bin/env node
// What --namespaces costs (issue 10): a host with BENCH_NS_CONNS (100,000) loopback connections
// spread evenly over 10 and over 100 network namespaces (BENCH_NS_LAYOUTS), a tenth of them busy
// (connections opened and closed every second), the rest quiet. For each layout, in one run and
// side by side on the same namespaces: walking every namespace every interval (what cAdvisor
// does) and the agent's budgeted walk at 1%, 2% and 5% of a core. Reported: CPU per interval as
// a share of a core at a 10 s interval, the age of per-state counts (p50 and max) of quiet and
// busy namespaces, whether quiet ones are exact without walks, the snapshots from a spike in one
// namespace to one that shows it, and the JSON bytes per entry (bin1 has no per-namespace
// encoding yet). Each layout runs in bench/lib/ns-cost-scenario.mjs, in a PID namespace of its
// own (so the samplers see only the bench's namespaces, and nothing it starts outlives it).
//   node bench/run.mjs namespaces                       (root, after tsc -b; writes RESULTS.md)
//   node bench/namespaces-cost.mjs [--conns 10000] [--layouts 10] [--intervals 20] [--churn 10]
//        [--pace-ms 2000] [--settle-s 65]   (the same, sizes from flags; BENCH_NS_* env vars work for both)
//   node bench/namespaces-cost.mjs --report-only   (rewrites the section from results/namespaces.json)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCleanup, isRoot, startTracked } from './lib/netns.mjs';
import { BENCH, REPO, assemble, fmt, machine, mdTable, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const SCENARIO = fileURLToPath(new URL('./lib/ns-cost-scenario.mjs', import.meta.url));
/**
 * Modes, `budget:source`: walking every namespace every interval through /proc (what cAdvisor
 * does) and through netlink sock_diag, the budgeted walk at 1%, 2% and 5% through netlink (the
 * agent's default as root), and at 2% through /proc beside it (the agent without CAP_SYS_ADMIN).
 */
const BUDGETS = ['0:proc', '0:netlink', '0.01:netlink', '0.02:netlink', '0.05:netlink', '0.02:proc'];
const TITLE = '## Per-namespace cost (--namespaces)\n';

const env = (k, d) => process.env[k] ?? d;
/** A mode's walk source (results before netlink walks have none: /proc). */
const sourceOf = (m) => m.source ?? 'proc';
const modeName = (m) => {
  const src = sourceOf(m) === 'netlink' ? 'netlink' : sourceOf(m) === 'proc' ? '/proc' : 'netlink and /proc';
  return m.budget === 0 ? `walk every namespace every interval, ${src}${sourceOf(m) === 'proc' ? ' (cAdvisor)' : ''}` : `budgeted, ${fmt(m.budget * 100, 0)}% of a core, ${src}`;
};
/** CPU per walk in the first interval and after it, with the share of /proc walks that skipped net/tcp6 (older results: '-'). */
const perWalk = (m) => {
  const w = m.walk;
  if (w === undefined) return '-';
  const one = (x) => (x.walks === 0 ? '-' : `${fmt(x.cpu_ms_per_walk, 0)} ms${(x.netlink ?? 0) > 0 ? '' : ` (${fmt((100 * x.ipv6_skipped) / x.walks, 0)}%)`}`);
  return `${one(w.first)} / ${one(w.after)}`;
};
/** The 2% mode the targets are judged on: netlink when the run has it. */
const targetMode = (l) => l.modes.find((x) => x.budget === 0.02 && sourceOf(x) === 'netlink') ?? l.modes.find((x) => x.budget === 0.02);
/** The 2% /proc mode beside it, when the run has both. */
const procMode = (l, b) => (l.modes.some((x) => sourceOf(x) === 'netlink') ? l.modes.find((x) => x.budget === b && sourceOf(x) === 'proc') : undefined);
const sec = (ms) => (ms === null || !Number.isFinite(ms) ? '-' : `${fmt(ms / 1000, 0)} s`);

function haveUnshare() {
  try {
    execFileSync('unshare', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs one layout in a PID namespace of its own; resolves with its result. */
function scenario(k, o) {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-bench-ns-'));
  const out = join(dir, 'result.json');
  const tag = `${process.pid}-${k}`;
  const a = [
    '--pid',
    '--fork',
    '--mount-proc',
    '--kill-child',
    process.execPath,
    SCENARIO,
    '--conns',
    String(o.conns),
    '--namespaces',
    String(k),
    '--intervals',
    String(o.intervals),
    '--churn',
    String(o.churn),
    '--pace-ms',
    String(o.paceMs),
    '--settle-s',
    String(o.settleS),
    '--budgets',
    BUDGETS.join(','),
    '--tag',
    tag,
    '--child-ehash',
    String(o.childEhash),
    '--out',
    out,
  ];
  const p = startTracked('unshare', a, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve, reject) => {
    p.on('exit', (code, signal) => {
      // The scenario removes its namespaces; if it was killed, its mounts died with its mount
      // namespace and only the names are left in /run/netns: remove them.
      try {
        for (const f of readdirSync('/run/netns')) if (f.startsWith(`tfbench1-${tag}-`)) execFileSync('ip', ['netns', 'del', f], { stdio: 'ignore' });
      } catch {}
      try {
        if (code !== 0) throw new Error(`the ${k}-namespace layout failed (${signal ?? `exit ${code}`}): see its output above`);
        resolve(JSON.parse(readFileSync(out, 'utf8')));
      } catch (err) {
        reject(err);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

export async function run() {
  if (!isRoot() || !haveUnshare()) {
    const note = `${TITLE}\nSkipped: needs root (to make network namespaces) and unshare from util-linux (run \`sudo node bench/run.mjs namespaces\`).\n`;
    console.log(note);
    writeSection('namespaces', note);
    return;
  }
  installCleanup();
  const o = {
    conns: Number(env('BENCH_NS_CONNS', 100_000)),
    layouts: env('BENCH_NS_LAYOUTS', '10,100').split(',').map(Number),
    intervals: Number(env('BENCH_NS_INTERVALS', 20)),
    churn: Number(env('BENCH_NS_CHURN', 10)),
    paceMs: Number(env('BENCH_NS_PACE_MS', 2000)),
    settleS: Number(env('BENCH_NS_SETTLE_S', 65)),
    childEhash: Number(env('BENCH_NS_CHILD_EHASH', 0)),
  };
  const started = new Date();
  const layouts = [];
  for (const k of o.layouts) {
    console.log(`namespaces: ${o.conns} connections over ${k} namespaces...`);
    layouts.push(await scenario(k, o));
  }
  let commit = null;
  try {
    commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {}
  const data = { options: o, budgets: BUDGETS, ran: started.toISOString(), machine: machine(), commit, layouts };
  if (o.childEhash > 0) {
    // Namespaces with hash tables of their own: a variant, kept beside the main run (whose
    // section quotes it), not in its place.
    writeJson('namespaces-child-ehash', data);
    console.log(table(...modeTable(data)));
    return;
  }
  writeJson('namespaces', data);
  report(data);
}

/** The variant with per-namespace hash tables (BENCH_NS_CHILD_EHASH), when results/namespaces-child-ehash.json exists. */
function childEhashNote() {
  let v;
  try {
    v = JSON.parse(readFileSync(`${BENCH}results/namespaces-child-ehash.json`, 'utf8'));
  } catch {
    return '';
  }
  const [head, rows] = modeTable(v);
  const loads = v.layouts.map((l) => `${l.load.ticks_start} at the first interval, ${l.load.end} at the last`).join('; ');
  let md = `\n**With a hash table per namespace** (\`BENCH_NS_CHILD_EHASH=${v.options.childEhash} BENCH_NS_LAYOUTS=${v.options.layouts.join(',')} node bench/run.mjs namespaces\`, run ${v.ran.replace(/:\d\d\.\d+Z$/, 'Z')}, commit ${v.commit}; results/namespaces-child-ehash.json): the same layout, its namespaces made while \`net.ipv4.tcp_child_ehash_entries\` was ${v.options.childEhash} (docs/namespaces.md: what operators set), so each walk scans only its own namespace's sockets. Load average: ${loads}.\n\n`;
  md += mdTable(head, rows);
  return md;
}

/** The busy namespaces' age at 2% with a hash table per namespace, for the targets table ('' without that variant). */
function childEhashBusy() {
  try {
    const v = JSON.parse(readFileSync(`${BENCH}results/namespaces-child-ehash.json`, 'utf8'));
    const m = targetMode(v.layouts.find((l) => l.namespaces === 100) ?? v.layouts.at(-1));
    return m === undefined ? '' : `; with a hash table per namespace (its table above): max ${sec(m.busy.age_ms.max)} at ${fmt(m.cpu_share_of_a_core_at_10s * 100, 2)}% of a core`;
  } catch {
    return '';
  }
}

/** The per-mode table of a run: [head, rows]. */
function modeTable(data) {
  const { layouts } = data;
  const rows = [];
  for (const l of layouts)
    for (const m of l.modes)
      rows.push([
        `${l.namespaces} (${l.busy} busy)`,
        modeName(m),
        `${fmt(m.cpu_share_of_a_core_at_10s * 100, 2)}% (${fmt(m.cpu_ms_per_interval.mean, 0)} ms)`,
        `${fmt(m.first_interval_cpu_ms, 0)} ms`,
        fmt(m.walks_per_interval, 1),
        perWalk(m),
        `${sec(m.quiet.age_ms.p50)} / ${sec(m.quiet.age_ms.max)}`,
        `${m.quiet.exact_at_end}/${m.quiet.of}, ${fmt(m.quiet.proven_share * 100, 0)}%, ${m.quiet.walks_after_start}`,
        `${sec(m.busy.age_ms.p50)} / ${sec(m.busy.age_ms.max)}`,
        m.spikes.map((s) => s.snapshots_until_shown ?? 'not seen').join(' / '),
      ]);
  const head = [
    'namespaces',
    'mode',
    'CPU per interval, % of a core at 10 s',
    'first interval',
    'walks per interval',
    'CPU per walk: first interval / after (net/tcp6 skipped)',
    'quiet: age p50 / max',
    'quiet: exact at end, proven, walks after start',
    'busy: age p50 / max',
    'spike big / small: snapshots until shown',
  ];
  return [head, rows];
}

/** The table on stdout and the RESULTS.md section, from a run's data (results/namespaces.json). */
function report(data) {
  const { options: o, layouts } = data;

  const [head, rows] = modeTable(data);
  console.log(table(head, rows));

  const l100 = layouts.find((l) => l.namespaces === 100) ?? layouts.at(-1);
  const m2 = targetMode(l100);
  const mAll = procMode(l100, 0) ?? l100.modes.find((m) => m.budget === 0);
  const p2 = procMode(l100, 0.02);
  const big = m2.spikes.find((s) => s.kind === 'spike-big');
  const json = m2.json_bytes_per_entry;
  const bin1 = m2.bin1_bytes_per_entry;
  const bin1Steady = bin1?.steady ?? null;
  const loads = layouts.map((l) => `${l.namespaces} namespaces: ${l.load.ticks_start} at the first interval, ${l.load.end} at the last`).join('; ');
  const first = layouts[0];

  let md = `${TITLE}\nCommand: \`sudo node bench/run.mjs namespaces\` (BENCH_NS_CONNS=${o.conns}, BENCH_NS_LAYOUTS=${o.layouts.join(',')}, BENCH_NS_INTERVALS=${o.intervals}, BENCH_NS_CHURN=${o.churn}, BENCH_NS_PACE_MS=${o.paceMs}). `;
  md += `For each layout the benchmark makes the namespaces, ${o.conns.toLocaleString('en')} idle loopback connections spread evenly over them (two ESTABLISHED sockets each, held by ${layouts.map((l) => `${l.workers} worker processes for ${l.namespaces}`).join(', ')}: at most 9,000 connections each, a process may hold 20,000 files), and makes a tenth of the namespaces **busy**: ${o.churn} connections opened and ${o.churn} closed every second in each, all through the run. The others are **quiet**: nothing in them moves. `;
  const nModes = first.modes.length;
  md +=
    nModes === 4
      ? `Four samplers, each the agent's NamespaceSampler in a process of its own (with the agent's \`--max-semi-space-size=1\`), sample the same namespaces in lockstep: walk budget 0 (every namespace walked every interval, what cAdvisor's tcp metrics do) and the budgeted walk at 1%, 2% and 5% of a core; each interval they take turns, in rotated order. `
      : `${nModes} samplers, each the agent's NamespaceSampler in a process of its own (with the agent's \`--max-semi-space-size=1\`), sample the same namespaces in lockstep: ${first.modes.map((m) => modeName(m)).join('; ')}. "netlink" = per-state counts from one netlink sock_diag dump per namespace (\`--walk-source netlink\`, the agent's default when it holds CAP_SYS_ADMIN), "/proc" = from /proc/PID/net/tcp and tcp6 (\`--walk-source proc\`, the agent without CAP_SYS_ADMIN; docs/namespaces.md). Each interval they take turns, in rotated order. `;
  md += `The layout runs in a PID namespace of its own (\`unshare --pid --fork --mount-proc\`), so the samplers see only these namespaces, as on a node that holds exactly these containers (found: ${layouts.map((l) => `${l.modes[0].found} of ${l.namespaces}`).join(', ')}).\n\n`;
  md += `**Simulated intervals.** The samplers are given a clock that advances 10 s per snapshot (${o.intervals} intervals after the first), while the real time between snapshots is at least ${fmt(o.paceMs / 1000, 0)} s and as long as the samplers take (here ${layouts.map((l) => `${fmt(l.real_ms_per_interval.mean / 1000, 1)} s on average with ${l.namespaces} namespaces`).join(', ')}): ages and the walk budget follow the simulated 10 s interval; **CPU is real**: user + system CPU time of the sampler's process (process.cpuUsage()) around each snapshot's namespace part (discovery of the namespaces, their cheap counters and walks), averaged over the intervals after the first, as a share of one core at a 10 s interval. The first interval after a start walks every namespace once (its own column). The host's own sample is not included (in the agent it shares the budget: its CPU is taken from the namespaces' share, down to half of it). `;
  md += `Busy namespaces churn in real time, so between two snapshots fewer connections move than in 10 real seconds; every busy namespace still moves between any two snapshots. `;
  md += `**Spikes**: after interval ${first.spikes[0].after_interval}, +50% connections in one quiet namespace (a jump of its cheap counters: ${layouts.map((l) => `${l.spikes[0].conns} connections with ${l.namespaces}`).join(', ')}); after interval ${first.spikes[1].after_interval}, a small one (+5%, at least 50: ${layouts.map((l) => `${l.spikes[1].conns}`).join(', ')}; not a jump) in another. "Snapshots until shown": 1 = the first snapshot after the spike shows it (its \`states\` count the new connections), i.e. within one interval.\n\n`;
  const mach = data.machine;
  if (mach !== undefined) md += `Machine: ${mach.cpu}, ${mach.memGiB} GiB RAM, Linux ${mach.kernel}, Node ${mach.node}${data.commit ? `; code at commit ${data.commit}` : ''}. `;
  md += `Quiet: "exact at end" = entries whose \`states\` equal the connections the namespace holds (also checked with \`ss\` in three of them: ${layouts.every((l) => l.ss_checked.every((c) => c.ok)) ? 'equal' : 'NOT equal'}); "proven" = share of quiet entries with \`states_unchanged: true\`; "walks after start" = walks of quiet namespaces after the first interval. Ages are \`collect.states_age_ms\` of every entry of the kind, over all intervals after the first. "CPU per walk" = CPU time of the walks alone (one netlink dump, or net/tcp and net/tcp6 of one namespace read and counted), per walk, in the first interval (every namespace) and after it; in parentheses, for /proc walks, the share of those walks that skipped net/tcp6 because the namespace provably had no IPv6 socket (TCP6 inuse and tw both 0: docs/namespaces.md). Load average during the run: ${loads} (2 cores, shared with other engineers' work: CPU figures are noisy).\n\n`;
  md += mdTable(head, rows);
  md += `\nJSON per entry (the snapshot's \`namespaces\` field, \`JSON.stringify\` of one entry, averaged at the last interval): ${fmt(json?.plain ?? NaN, 0)} bytes with \`container: null\` (as in this bench), ${fmt(json?.named ?? NaN, 0)} bytes with a named containerd pod's identity. ${bin1Steady === null ? 'bin1 bytes per namespace were not measured in this run.' : `bin1 per namespace (the frame of a snapshot with its \`namespaces\` less the same frame without, divided by the entries, at the last interval): ${fmt(bin1Steady, 1)} bytes in steady state (coded against the previous interval's snapshot of the session), ${fmt(bin1.first, 0)} bytes in a session's first frame (docs/protocol.md).`}\n`;
  md += childEhashNote();
  md += `\n### Targets (${l100.namespaces} namespaces, ${l100.busy} busy, budget 2% of a core${sourceOf(m2) === 'netlink' ? ', netlink walks' : ''})\n\n`;
  const quietOk = m2.quiet.exact_at_end === m2.quiet.of && m2.quiet.walks_after_start === 0 && m2.quiet.proven_share === 1;
  md += mdTable(
    ['target', 'measured', 'verdict'],
    [
      [
        'CPU at most 2% of a core (10 s interval)',
        `${fmt(m2.cpu_share_of_a_core_at_10s * 100, 2)}% (${fmt(m2.cpu_ms_per_interval.mean, 0)} ms per interval; walking every namespace${sourceOf(mAll) === 'proc' ? ' through /proc' : ''}: ${fmt(mAll.cpu_share_of_a_core_at_10s * 100, 1)}%)`,
        verdict(m2.cpu_share_of_a_core_at_10s <= 0.02, `${fmt(m2.cpu_share_of_a_core_at_10s / 0.02, 2)} x the budget`),
      ],
      [
        'a spike seen within one interval',
        big.snapshots_until_shown === null ? 'never shown' : `shown by snapshot ${big.snapshots_until_shown} after it`,
        verdict(big.snapshots_until_shown === 1, big.snapshots_until_shown === 1 ? 'the next snapshot' : 'later'),
      ],
      [
        'quiet namespaces exact without walks',
        `${m2.quiet.exact_at_end} of ${m2.quiet.of} exact at the end, ${fmt(m2.quiet.proven_share * 100, 0)}% proven unchanged, ${m2.quiet.walks_after_start} walks after the start`,
        verdict(quietOk, quietOk ? 'all' : 'not all'),
      ],
      [
        'busy namespaces at most 60 s old',
        `max ${sec(m2.busy.age_ms.max)} (p50 ${sec(m2.busy.age_ms.p50)}) at ${fmt(m2.walks_per_interval, 1)} walks per interval${m2.walk?.after?.cpu_ms_per_walk ? ` of ${fmt(m2.walk.after.cpu_ms_per_walk, 0)} ms` : ''}${sourceOf(m2) === 'netlink' ? ' (netlink)' : ''}${p2 === undefined ? '' : `; through /proc beside it: max ${sec(p2.busy.age_ms.max)} at ${fmt(p2.walks_per_interval, 1)} walks per interval${p2.walk?.after?.cpu_ms_per_walk ? ` of ${fmt(p2.walk.after.cpu_ms_per_walk, 0)} ms` : ''}`}${childEhashBusy()}`,
        verdict(m2.busy.age_ms.max <= 60_000, `${fmt(m2.busy.age_ms.max / 60_000, 2)} x the limit`),
      ],
      bin1Steady === null
        ? ['at most 120 bytes of bin1 frame per namespace', `not measured in this run (JSON: ${fmt(json?.plain ?? NaN, 0)} B per entry, ${fmt(json?.named ?? NaN, 0)} B named)`, '**not measured**']
        : [
            'at most 120 bytes of bin1 frame per namespace',
            `${fmt(bin1Steady, 1)} B per namespace in steady state (${fmt(bin1.first, 0)} B in a session's first frame; JSON ${fmt(json?.plain ?? NaN, 0)} B)`,
            verdict(bin1Steady <= 120, `${fmt(bin1Steady / 120, 2)} x the limit`),
          ],
    ],
  );
  if (data.note) md += `\n${data.note}\n`;
  console.log(md);
  writeSection('namespaces', md, data.ran === undefined ? new Date() : new Date(data.ran));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  for (const [flag, key] of [
    ['conns', 'BENCH_NS_CONNS'],
    ['layouts', 'BENCH_NS_LAYOUTS'],
    ['intervals', 'BENCH_NS_INTERVALS'],
    ['churn', 'BENCH_NS_CHURN'],
    ['pace-ms', 'BENCH_NS_PACE_MS'],
    ['settle-s', 'BENCH_NS_SETTLE_S'],
  ]) {
    const i = args.indexOf(`--${flag}`);
    if (i >= 0) process.env[key] = args[i + 1];
  }
  const go = args.includes('--report-only') ? async () => report(JSON.parse(readFileSync(`${BENCH}results/namespaces.json`, 'utf8'))) : run;
  go()
    .then(() => assemble())
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
