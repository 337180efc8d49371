// Agent sampling cost at 1,000 / 10,000 / 100,000 connections, side by side with cat, awk, ss
// and node_exporter, in a network namespace this benchmark makes and removes (one per size).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { addNetns, delNetns, firstLine, installCleanup, isRoot, nsSysctl, startTracked, stopTracked } from './lib/netns.mjs';
import { fmt, mdTable, median, table, verdict, writeJson, writeSection } from './lib/report.mjs';

const WORKER = fileURLToPath(new URL('./lib/conns-worker.mjs', import.meta.url));
const MEASURE = fileURLToPath(new URL('./lib/measure-sampling.mjs', import.meta.url));
const ADAPTIVE = fileURLToPath(new URL('./lib/adaptive-cpu.mjs', import.meta.url));
// Daemon starts per build at the largest size (the peak varies by a few MB from start to start; the worst counts).
const DAEMON_RUNS = process.env['BENCH_DAEMON_RUNS'] ?? '3';
const PER_WORKER = 9000; // connections holding fds (2 each) per process: 18,000 of the 20,000 allowed

/** The mix for `n` connections: 65% IPv4 and 20% IPv6 established, 10% close-wait, 5% time-wait. */
function mix(n) {
  return { estab: Math.round(n * 0.65), estab6: Math.round(n * 0.2), closewait: Math.round(n * 0.1), timewait: Math.round(n * 0.05) };
}

async function withConnections(n, tag, fn) {
  const ns = addNetns(tag);
  try {
    nsSysctl(ns, 'net.ipv4.ip_local_port_range', '30000 65535'); // 20100 (node_exporter) stays free
    nsSysctl(ns, 'net.ipv4.tcp_max_tw_buckets', '1000000');
    const m = mix(n);
    const held = m.estab + m.estab6 + m.closewait;
    const workers = Math.max(1, Math.ceil(held / PER_WORKER));
    const share = (x, i) => Math.floor(x / workers) + (i < x % workers ? 1 : 0);
    const procs = [];
    const t0 = performance.now();
    for (let i = 0; i < workers; i++) {
      const a = [
        '--estab',
        share(m.estab, i),
        '--estab6',
        share(m.estab6, i),
        '--closewait',
        share(m.closewait, i),
        '--timewait',
        share(m.timewait, i),
        '--addr',
        `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      ].map(String);
      procs.push(startTracked('ip', ['netns', 'exec', ns, process.execPath, WORKER, ...a]));
    }
    await Promise.all(procs.map((p, i) => firstLine(p, `conns worker ${i}`, 300_000)));
    const setupS = (performance.now() - t0) / 1000;
    try {
      return await fn(ns, { workers, setupS, mix: m });
    } finally {
      for (const p of procs) await stopTracked(p);
    }
  } finally {
    delNetns(ns);
  }
}

function runIn(ns, script, args, timeoutMs, nodeFlags = []) {
  const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, ...nodeFlags, script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.trim().split('\n').at(-1));
}

export async function run() {
  const title = '## Agent sampling cost\n';
  if (!isRoot()) {
    const note = `${title}\nSkipped: needs root to create a network namespace (run \`sudo npm run bench\`).\n`;
    console.log(note);
    writeSection('agent', note);
    return;
  }
  installCleanup();
  const sizes = (process.env['BENCH_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
  const adaptiveSeconds = Number(process.env['BENCH_ADAPTIVE_S'] ?? 130);
  const results = [];
  let adaptive = null;
  for (const n of sizes) {
    console.log(`agent: creating ${n} connections in a namespace...`);
    const r = await withConnections(n, `a${n}`, async (ns, info) => {
      // The measuring process runs with the agent's own Node flags (deploy/systemd/tcpfleet-agent.service).
      const m = runIn(ns, MEASURE, ['--runs', n >= 100_000 ? '7' : '15', '--ne-port', '20100', '--daemon-runs', n >= 100_000 ? DAEMON_RUNS : '1'], 900_000, ['--max-semi-space-size=1']);
      let ad = null;
      if (n === Math.max(...sizes) && adaptiveSeconds > 0) {
        console.log(`agent: cost-adaptive loop at a 10 s interval for ${adaptiveSeconds} s...`);
        ad = runIn(ns, ADAPTIVE, ['--seconds', String(adaptiveSeconds), '--interval', '10'], (adaptiveSeconds + 120) * 1000);
      }
      return { n, ...info, ...m, adaptive: ad };
    });
    if (r.adaptive !== null) adaptive = r.adaptive;
    results.push(r);
    const cat = median(r.times.cat);
    const rows = Object.entries(r.times).map(([tool, xs]) => [
      tool,
      fmt(median(xs), 2),
      fmt(median(xs) / cat, 2),
      r.rss_kb[tool === 'walk' || tool === 'sample' || tool === 'read' ? 'sampler_process' : tool] ?? '-',
    ]);
    console.log(
      `\n${n} connections = ${r.sockets.total} sockets (tcp ${r.sockets.tcp}, tcp6 ${r.sockets.tcp6}), ${r.workers} holder processes\n` +
        table(['tool', 'ms/sample (median)', 'x cat', 'peak RSS KiB'], rows),
    );
  }
  writeJson('agent', { results, adaptive });

  // RESULTS.md section
  const label = {
    cat: '`cat /proc/net/tcp /proc/net/tcp6 >/dev/null` (fork+exec included)',
    read: 'plain read of both files in the agent process, no parsing (the floor)',
    walk: '**tcpfleet agent: full walk** (256 KiB chunks, byte scanner, typed-array breakdown)',
    sample: 'tcpfleet agent: full snapshot (walk + sockstat, snmp, netstat)',
    awk: "the seed's awk one-liner (`awk 'FNR>1 {count[$4]++} ...' tcp tcp6`)",
    ss: '`ss -tan >/dev/null` (netlink)',
    node_exporter: 'node_exporter 1.5 `--collector.tcpstat` scrape (HTTP GET /metrics)',
  };
  const runsNote = (d) => (d?.runs?.length > 1 ? `, worst of ${d.runs.length} starts (peaks ${d.runs.map((x) => fmt(x.hwm_kb / 1024, 1)).join(', ')} MB)` : '');
  let md = `${title}\nCommand: \`sudo npm run bench\` (or \`node bench/run.mjs agent\`; sizes with BENCH_SIZES=1000,10000,100000). For each size the benchmark makes a network namespace, fills it with loopback connections held by several processes (at most 9,000 connections each: two descriptors per connection, 20,000 allowed per process), 65% IPv4 and 20% IPv6 ESTABLISHED, 10% CLOSE_WAIT/FIN_WAIT2, 5% TIME_WAIT, then times every tool in the same run, round-robin (median of 15 runs, 7 at 100,000), and deletes the namespace. Peak RSS: \`/usr/bin/time -f %M\` for the commands, VmHWM for node_exporter, the measuring process's maxRSS for the in-process rows (it holds the agent's sampler, runs with the agent's \`--max-semi-space-size=1\` and also spawns the other tools), and the agent as a whole process (\`--once --json\` and as a daemon, VmHWM; at 100,000 connections each build's daemon starts ${DAEMON_RUNS} times, interleaved (BENCH_DAEMON_RUNS), and the worst start is the figure: its peak varies by a few MB from start to start).\n`;
  for (const r of results) {
    const cat = median(r.times.cat);
    md += `\n### ${r.n.toLocaleString('en-US')} connections: ${r.sockets.total.toLocaleString('en-US')} sockets (tcp ${r.sockets.tcp}, tcp6 ${r.sockets.tcp6}); ${(r.bytes / 1e6).toFixed(1)} MB of text; states ${JSON.stringify(r.states)}\n\n`;
    md += mdTable(
      ['tool', 'ms per sample (median)', 'min', 'max', 'ratio to cat', 'peak RSS'],
      Object.entries(r.times).map(([tool, xs]) => [
        label[tool] ?? tool,
        fmt(median(xs), 2),
        fmt(Math.min(...xs), 2),
        fmt(Math.max(...xs), 2),
        fmt(median(xs) / cat, 2),
        `${fmt(((tool === 'walk' || tool === 'sample' || tool === 'read' ? r.rss_kb.sampler_process : r.rss_kb[tool]) ?? NaN) / 1024, 1)} MB`,
      ]),
    );
    const kb = (x) => (x === null || x === undefined ? 'n/a' : `${fmt(x / 1024, 1)} MB`);
    md += `\nThe agent as a whole process, run with \`--max-semi-space-size=1\` as deploy/ and the shebangs run it: \`tcpfleet-agent --once --json\` peak RSS ${kb(r.rss_kb.agent_once)} (bundle \`dist/tcpfleet-agent.mjs\`: ${kb(r.rss_kb.agent_once_bundle)}; without the flag: ${kb(r.rss_kb.agent_once_default_flags)}); as a daemon walking every 2 s for 12 s (no collector reachable)${runsNote(r.daemons?.bin)}: peak ${kb(r.daemons?.bin?.hwm_kb)}, then ${kb(r.daemons?.bin?.rss_kb)} (bundle${runsNote(r.daemons?.bundle)}: peak ${kb(r.daemons?.bundle?.hwm_kb)}, then ${kb(r.daemons?.bundle?.rss_kb)}). Connections set up in ${fmt(r.setupS, 1)} s by ${r.workers} processes.`;
    if (r.daemons?.baseline_bin)
      md += ` Before, in the same namespace and run (${process.env['BENCH_AGENT_BASELINE_LABEL'] || 'the build at BENCH_AGENT_BASELINE'}): daemon${runsNote(r.daemons.baseline_bin)} peak ${kb(r.daemons.baseline_bin.hwm_kb)}, then ${kb(r.daemons.baseline_bin.rss_kb)} (bundle${runsNote(r.daemons.baseline_bundle)}: peak ${kb(r.daemons.baseline_bundle?.hwm_kb)}, then ${kb(r.daemons.baseline_bundle?.rss_kb)}).`;
    if (r.node_exporter === null) md += ' node_exporter: not installed, row skipped (`apt-get install prometheus-node-exporter`).';
    md += '\n';
  }
  const big = results.find((r) => r.n === 100_000) ?? results.at(-1);
  if (big !== undefined) {
    const walkRatio = median(big.times.walk) / median(big.times.cat);
    const floorRatio = median(big.times.walk) / median(big.times.read);
    const rssMb = big.rss_kb.sampler_process / 1024;
    const agentParts = [
      ['`tcpfleet-agent --once --json`', big.rss_kb.agent_once],
      ['bundle --once', big.rss_kb.agent_once_bundle],
      ['daemon', big.daemons?.bin?.hwm_kb],
      ['bundle daemon', big.daemons?.bundle?.hwm_kb],
    ].filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
    const agentMb = Math.max(...agentParts.map(([, v]) => v)) / 1024;
    const agentText = agentParts.map(([k, v]) => `${k} ${fmt(v / 1024, 1)} MB`).join(', ');
    md += `\n### Targets at ${big.n.toLocaleString('en-US')} connections\n\n`;
    md += mdTable(
      ['target', 'measured', 'verdict'],
      [
        [
          'full walk <= 1.1 x cat of the same files',
          `${fmt(median(big.times.walk), 1)} ms vs ${fmt(median(big.times.cat), 1)} ms (${fmt(floorRatio, 2)} x the in-process read floor)`,
          verdict(walkRatio <= 1.1, `${fmt(walkRatio, 2)} x cat`),
        ],
        [
          'agent peak RSS < 64 MB',
          `sampler process ${fmt(rssMb, 1)} MB; the agent as a process (peak, with the deployed --max-semi-space-size=1): ${agentText}`,
          verdict(
            Math.max(rssMb, agentMb) < 64,
            `${fmt(Math.max(rssMb, agentMb) / 64, 2)} x the limit, by the largest: ${rssMb >= agentMb ? 'sampler process' : agentParts.reduce((a, b) => (b[1] > a[1] ? b : a))[0]}`,
          ),
        ],
        adaptive === null
          ? ['cost-adaptive sampling <= 1% of one core at 10 s', 'not measured (BENCH_ADAPTIVE_S=0)', 'not measured']
          : [
              'cost-adaptive sampling <= 1% of one core at 10 s',
              `${fmt(adaptive.cpuPctSteady, 2)}% after the start-up walk (${fmt(adaptive.cpuPct, 2)}% counting it) over ${fmt(adaptive.seconds, 0)} s: ${adaptive.samples} snapshots, ${adaptive.walks} full walks (last ${fmt(adaptive.walkCostMs, 0)} ms), ${adaptive.skips} cheap-only; per-state counts at most ${fmt(adaptive.maxStatesAgeMs / 1000, 0)} s old`,
              verdict(adaptive.cpuPctSteady <= 1, `${fmt(adaptive.cpuPctSteady / 1, 2)} x the budget`),
            ],
      ],
    );
    md += `\nThe adaptive loop is the agent's AdaptiveSampler (default budget 0.01) at a 10 s interval in its own process; CPU is that whole process's user + system time. The first figure leaves out the first snapshot (every agent start walks once); both include every walk forced by a jump in the cheap counters (the TIME_WAIT sockets of the mix expire together after 60 s, which is such a jump), as a long-running agent would see them.\n`;
  }
  writeSection('agent', md);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
