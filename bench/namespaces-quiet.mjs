#!/usr/bin/env node
// Experiment (issue 10): "a namespace whose segment counters and sockstat did not move since its
// last walk has not changed state". Two parts, both sampling as the agent does (the cheap
// counters first, then the tcp/tcp6 walk) and once more after the walk, every --every ms:
//   churn:     in one namespace, bench/lib/quiet-churn.mjs makes every kind of transition at
//              random moments with quiet gaps between bursts;
//   scenarios: each timer-driven transition alone (bench/lib/quiet-scenario.mjs), in a pair of
//              namespaces joined by a veth, both observed: SYN_SENT timeout, request-socket
//              expiry, retransmission-timeout death, orphaned FIN_WAIT2 timeout, TIME_WAIT expiry,
//              keepalive death.
// For several fingerprints of the cheap counters it keeps the reference an agent would keep (the
// last walk, redone whenever the fingerprint moved). A later sample with the same fingerprint
// whose walk saw nothing counted while it ran (the fingerprint equal before and after the walk)
// must show the reference's per-state counts, or the claim is broken for that fingerprint.
//   node bench/namespaces-quiet.mjs [--seconds 240] [--every 20] [--seed 1] [--part churn|scenarios|both]
// Root, after `npx tsc -b`. Writes bench/results/namespaces-quiet.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseNetNetstat, parseNetSnmp, parseSockstat } from '../packages/common/dist/agent.js';
import { addNetns, cleanupAll, firstLine, installCleanup, isRoot, nsSysctl, startTracked, stopTracked } from './lib/netns.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(opt('seconds', 240));
const EVERY = Number(opt('every', 20));
const SEED = Number(opt('seed', 1));
const PART = opt('part', 'both');
const SCENARIO_SECONDS = 75;

if (!isRoot()) {
  console.error('namespaces-quiet: needs root (network namespaces, iptables)');
  process.exit(2);
}

const STATES = ['established', 'syn_sent', 'syn_recv', 'fin_wait1', 'fin_wait2', 'time_wait', 'close', 'close_wait', 'last_ack', 'listen', 'closing', 'new_syn_recv'];

/** Per-state counts of net/tcp + net/tcp6 of PID's namespace, as a short text. */
function walk(pid) {
  const counts = new Array(13).fill(0);
  for (const f of ['tcp', 'tcp6']) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/net/${f}`, 'latin1');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      if (l.length < 40) continue;
      counts[parseInt(l.trim().split(/\s+/)[3], 16)]++;
    }
  }
  return STATES.map((s, i) => `${s}=${counts[i + 1]}`)
    .filter((s) => !s.endsWith('=0'))
    .join(' ');
}

function cheap(pid) {
  const sockstat = parseSockstat(readFileSync(`/proc/${pid}/net/sockstat`, 'latin1'), readFileSync(`/proc/${pid}/net/sockstat6`, 'latin1'));
  const snmp = parseNetSnmp(readFileSync(`/proc/${pid}/net/snmp`, 'latin1'));
  const netstat = parseNetNetstat(readFileSync(`/proc/${pid}/net/netstat`, 'latin1'));
  return { sockstat, snmp, netstat };
}

const perNs = (c) => [c.sockstat.tcp_inuse, c.sockstat.tcp6_inuse, c.sockstat.tcp_tw];
const FINGERPRINTS = {
  'InSegs+OutSegs+inuse+tw': (c) => [c.snmp.InSegs, c.snmp.OutSegs, ...perNs(c)].join(','),
  'snmp Tcp + sockstat': (c) => [...Object.values(c.snmp), ...perNs(c)].join(','),
  'snmp Tcp + sockstat + TcpExt TCPTimeouts': (c) => [...Object.values(c.snmp), ...perNs(c), c.netstat.TCPTimeouts ?? 0].join(','),
  'snmp Tcp + sockstat + all TcpExt': (c) => [...Object.values(c.snmp), ...perNs(c), ...Object.values(c.netstat)].join(','),
};

/** Watches one namespace through one of its processes, for every fingerprint. */
class Observer {
  constructor(name, pid) {
    this.name = name;
    this.pid = pid;
    this.samples = 0;
    this.changes = 0;
    this.prev = null;
    this.t0 = Date.now();
    this.fp = Object.fromEntries(Object.keys(FINGERPRINTS).map((k) => [k, { ref: null, walks: 0, checked: 0, racy: 0, longestQuietMs: 0, violations: 0, examples: [] }]));
  }

  /** One sample; false when the process is gone. */
  sample() {
    let ca;
    let cb;
    let states;
    try {
      ca = cheap(this.pid);
      states = walk(this.pid);
      cb = cheap(this.pid);
    } catch {
      return false;
    }
    const now = Date.now();
    this.samples++;
    if (process.env.QUIET_TIMELINE !== undefined && this.name.startsWith(process.env.QUIET_TIMELINE)) {
      const line = `InSegs=${ca.snmp.InSegs} OutSegs=${ca.snmp.OutSegs} Retrans=${ca.snmp.RetransSegs} inuse=${ca.sockstat.tcp_inuse} tw=${ca.sockstat.tcp_tw} TCPTimeouts=${ca.netstat.TCPTimeouts} | ${states}`;
      if (line !== this.lastLine) console.error(`${this.name} ${((now - this.t0) / 1000).toFixed(2)} ${line}`);
      this.lastLine = line;
    }
    if (this.prev !== null && states !== this.prev) this.changes++;
    this.prev = states;
    for (const [name, f] of Object.entries(FINGERPRINTS)) {
      const s = this.fp[name];
      const fa = f(ca);
      if (s.ref !== null && s.ref.f === fa) {
        // The agent would keep s.ref.states here. Only a walk nothing was counted during can
        // judge that: a transition counted after `fa` but already in this walk is a later change,
        // which the next sample's counters show (and the agent then walks).
        if (f(cb) !== fa) {
          s.racy++;
          continue;
        }
        s.checked++;
        s.longestQuietMs = Math.max(s.longestQuietMs, now - s.ref.ts);
        if (s.ref.states === states) continue;
        s.violations++;
        if (s.examples.length < 5) s.examples.push({ at_s: Math.round((now - this.t0) / 100) / 10, since_ms: now - s.ref.ts, before: s.ref.states, after: states });
      }
      // A walk, as the agent would do (or would have had to do, after a violation).
      s.ref = { f: fa, states, ts: now };
      s.walks++;
    }
    return true;
  }

  result() {
    return {
      samples: this.samples,
      samples_where_states_changed: this.changes,
      fingerprints: Object.fromEntries(
        Object.entries(this.fp).map(([k, s]) => [
          k,
          { walks_needed: s.walks, quiet_samples_checked: s.checked, quiet_samples_skipped_racy: s.racy, longest_quiet_ms: s.longestQuietMs, violations: s.violations, examples: s.examples },
        ]),
      ),
    };
  }
}

async function sampleLoop(observers, seconds, alive) {
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000 && alive()) {
    for (const o of observers) o.sample();
    await new Promise((r) => setTimeout(r, EVERY));
  }
}

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const ipt = (ns, ...a) => execFileSync('ip', ['netns', 'exec', ns, 'iptables', ...a]);

async function churnPart() {
  const ns = addNetns('quiet');
  nsSysctl(ns, 'net.ipv4.tcp_fin_timeout', 3);
  nsSysctl(ns, 'net.ipv4.tcp_syn_retries', 1);
  nsSysctl(ns, 'net.ipv4.tcp_synack_retries', 2);
  nsSysctl(ns, 'net.ipv4.tcp_retries2', 3);
  ipt(ns, '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '--syn', '-j', 'DROP');
  ipt(ns, '-A', 'OUTPUT', '-p', 'tcp', '--sport', '10', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'DROP');
  ipt(ns, '-A', 'INPUT', '-p', 'tcp', '--dport', '11', '-m', 'length', '--length', '100:65535', '-j', 'DROP');
  const churn = startTracked('ip', ['netns', 'exec', ns, process.execPath, here('./lib/quiet-churn.mjs'), '--seconds', String(SECONDS + 5), '--seed', String(SEED)]);
  const { pid } = await firstLine(churn, 'quiet-churn');
  const obs = new Observer('churn', pid);
  await sampleLoop([obs], SECONDS, () => churn.exitCode === null);
  await stopTracked(churn);
  return obs.result();
}

const KINDS = ['synsent', 'synack', 'rto', 'finwait2', 'timewait', 'keepalive'];

async function scenarioPart() {
  const observers = [];
  const procs = [];
  const later = [];
  const pairs = [];
  for (const [k, kind] of KINDS.entries()) {
    const a = addNetns(`${kind}-a`);
    const b = addNetns(`${kind}-b`);
    execFileSync('ip', ['-n', a, 'link', 'add', 'qa', 'type', 'veth', 'peer', 'name', 'qb', 'netns', b]);
    execFileSync('ip', ['-n', a, 'addr', 'add', `10.98.${k}.1/24`, 'dev', 'qa']);
    execFileSync('ip', ['-n', b, 'addr', 'add', `10.98.${k}.2/24`, 'dev', 'qb']);
    execFileSync('ip', ['-n', a, 'link', 'set', 'qa', 'up']);
    execFileSync('ip', ['-n', b, 'link', 'set', 'qb', 'up']);
    for (const ns of [a, b]) {
      nsSysctl(ns, 'net.ipv4.tcp_fin_timeout', 5);
      nsSysctl(ns, 'net.ipv4.tcp_syn_retries', 2);
      nsSysctl(ns, 'net.ipv4.tcp_synack_retries', 3);
      nsSysctl(ns, 'net.ipv4.tcp_retries2', 4);
    }
    // The request socket outlives the client: its expiry is the only event in B then.
    if (kind === 'synack') {
      nsSysctl(a, 'net.ipv4.tcp_syn_retries', 1);
      nsSysctl(b, 'net.ipv4.tcp_synack_retries', 4);
    }
    const peer = `10.98.${k}.2`;
    if (kind === 'synsent') ipt(b, '-A', 'INPUT', '-p', 'tcp', '--dport', '5000', '--syn', '-j', 'DROP');
    // Dropped where they arrive: a SYN-ACK that B fails to send (dropped in B's OUTPUT) ends the
    // request at once, with the send counted.
    if (kind === 'synack') ipt(a, '-A', 'INPUT', '-p', 'tcp', '--sport', '5000', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'DROP');
    if (kind === 'rto') ipt(b, '-A', 'INPUT', '-p', 'tcp', '--dport', '5000', '-m', 'length', '--length', '200:65535', '-j', 'DROP');
    if (kind === 'keepalive') later.push(() => ipt(b, '-A', 'INPUT', '-p', 'tcp', '--dport', '5000', '-j', 'DROP'));
    const srv = startTracked('ip', ['netns', 'exec', b, process.execPath, here('./lib/quiet-scenario.mjs'), '--role', 'server', '--kind', kind, '--hold', String(SCENARIO_SECONDS + 10)]);
    const { pid: spid } = await firstLine(srv, `${kind} server`);
    procs.push(srv);
    pairs.push({ kind, a, peer, spid });
  }
  // Every client connects at the same moment, once all are observed.
  const at = Date.now() + 4000;
  for (const { kind, a, peer, spid } of pairs) {
    const cli = startTracked('ip', [
      'netns',
      'exec',
      a,
      process.execPath,
      here('./lib/quiet-scenario.mjs'),
      '--role',
      'client',
      '--kind',
      kind,
      '--peer',
      peer,
      '--at',
      String(at),
      '--hold',
      String(SCENARIO_SECONDS + 10),
    ]);
    const { pid: cpid } = await firstLine(cli, `${kind} client`);
    procs.push(cli);
    observers.push(new Observer(`${kind}: client side`, cpid), new Observer(`${kind}: server side`, spid));
  }
  setTimeout(() => later.forEach((f) => f()), at + 1500 - Date.now());
  await sampleLoop(observers, SCENARIO_SECONDS, () => true);
  for (const p of procs) await stopTracked(p);
  return Object.fromEntries(observers.map((o) => [o.name, o.result()]));
}

async function main() {
  installCleanup();
  const result = {
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    every_ms: EVERY,
    seed: SEED,
  };
  if (PART !== 'scenarios') result.churn = { seconds: SECONDS, ...(await churnPart()) };
  if (PART !== 'churn') result.scenarios = { seconds: SCENARIO_SECONDS, ...(await scenarioPart()) };
  const text = JSON.stringify(result, null, 2);
  writeFileSync(here('./results/namespaces-quiet.json'), text + '\n');
  console.log(text);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
