// Realistic synthetic snapshots for storage and query benchmarks: a real `tcpfleet-agent --once
// --json` of this machine as the template, then per host and step the states wander and the
// kernel counters grow as they do on a live host.
import { spawnSync } from 'node:child_process';
import { REPO } from './report.mjs';

export function agentTemplate() {
  const r = spawnSync(process.execPath, [`${REPO}packages/agent/bin/tcpfleet-agent.js`, '--once', '--json'], { encoding: 'utf8' });
  const t = JSON.parse(r.stdout);
  delete t.breakdown;
  return t;
}

/** A generator of one host's snapshots. */
export function hostSeries(template, host, seed, intervalMs) {
  let x = (seed * 2654435761) % 4294967296;
  const rnd = () => {
    x = (x * 1664525 + 1013904223) % 4294967296;
    return x / 4294967296;
  };
  const base = { established: 200 + Math.floor(rnd() * 2000), time_wait: 50 + Math.floor(rnd() * 500), close_wait: Math.floor(rnd() * 5), listen: 5 + Math.floor(rnd() * 20) };
  const snmp = { ...template.snmp };
  const netstat = { ...template.netstat };
  let seq = 0;
  const stateKeys = Object.keys(template.ipv4);
  const zero = () => {
    const o = {};
    for (const k of stateKeys) o[k] = 0;
    return o;
  };
  const growing = Object.keys(snmp).filter((k) => k.endsWith('Segs') || k === 'ActiveOpens' || k === 'PassiveOpens');
  const netKeys = Object.keys(netstat);
  return (ts) => {
    seq++;
    const s = {
      host,
      ts,
      seq,
      boot: '00000000-0000-4000-8000-' + String(seed).padStart(12, '0'),
      interval_ms: intervalMs,
      labels: { env: 'bench', role: `r${seed % 7}` },
      states: zero(),
      ipv4: zero(),
      ipv6: zero(),
      summary: null,
      sockstat: { ...template.sockstat },
    };
    const wobble = (v) => Math.max(0, Math.round(v * (0.9 + 0.2 * rnd())));
    s.ipv4.established = wobble(base.established * 0.8);
    s.ipv6.established = wobble(base.established * 0.2);
    s.ipv4.time_wait = wobble(base.time_wait);
    s.ipv4.close_wait = Math.round(base.close_wait * rnd());
    s.ipv4.listen = base.listen;
    s.ipv6.listen = Math.ceil(base.listen / 3);
    s.ipv4.syn_recv = rnd() < 0.1 ? 1 : 0;
    for (const k of stateKeys) s.states[k] = s.ipv4[k] + s.ipv6[k];
    s.summary = { total: s.states.established + s.states.time_wait + 40, estab: s.states.established + s.states.close_wait, closed: 12, orphaned: 0, timewait: s.states.time_wait };
    s.sockstat = { ...s.sockstat, tcp_inuse: s.states.established + s.states.listen, tcp_tw: s.states.time_wait, tcp_alloc: s.summary.total - s.states.time_wait, sockets_used: s.summary.total + 30 };
    // Counters grow; a few by a lot, most by little or nothing.
    for (const k of growing) snmp[k] += Math.floor(rnd() * (k.endsWith('Segs') ? 5000 : 50));
    snmp.CurrEstab = s.summary.estab;
    for (let j = 0; j < 8; j++) netstat[netKeys[Math.floor(rnd() * netKeys.length)]] += Math.floor(rnd() * 20);
    s.snmp = { ...snmp };
    s.netstat = { ...netstat };
    s.collect = { ms: Math.round(rnd() * 3000) / 1000, bytes: 150 * (s.summary.total + 10), skipped: 0, errors: [], states_age_ms: 0 };
    return s;
  };
}
