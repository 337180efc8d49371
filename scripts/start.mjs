#!/usr/bin/env node
// `npm start`: a collector with its embedded SQLite database and an agent for this host, plus a
// one-screen live view of the fleet. Ctrl-C stops both. Files go to ./data (database, token, logs).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const data = `${root}data`;
const listen = process.env.TCPFLEET_LISTEN ?? '127.0.0.1:7070';
const url = `http://${listen}`;
const refreshMs = 2000;
mkdirSync(data, { recursive: true, mode: 0o700 });
const tokenFile = `${data}/fleet.token`;
if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });

const children = [];
function start(name, args) {
  const log = openSync(`${data}/${name}.log`, 'a');
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`\n${name} exited (${signal ?? code}); see data/${name}.log\n`);
      const tail = readFileSync(`${data}/${name}.log`, 'utf8').trim().split('\n').slice(-3).join('\n');
      process.stderr.write(tail + '\n');
      stop(1);
    }
  });
  return child;
}
let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

start('collector', [`${root}packages/collector/bin/tcpfleet.js`, 'serve', '--listen', listen, '--db', `${data}/tcpfleet.db`, '--token-file', tokenFile]);
setTimeout(() => start('agent', [`${root}packages/agent/bin/tcpfleet-agent.js`, '--collector', `ws://${listen}`, '--token-file', tokenFile, '--interval', '2']), 500);

const get = (path) =>
  new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });

const STATES = ['established', 'syn_sent', 'syn_recv', 'fin_wait1', 'fin_wait2', 'time_wait', 'close', 'close_wait', 'last_ack', 'listen', 'closing', 'new_syn_recv'];
const tty = process.stdout.isTTY === true;
async function render() {
  let text;
  try {
    const [hosts, total] = await Promise.all([get('/api/v1/hosts'), get('/api/v1/total')]);
    const s = total.summary;
    const lines = [
      `tcpfleet  collector ${url}  ${new Date().toISOString().slice(11, 19)}  (Ctrl-C to stop; logs in data/)`,
      '',
      `fleet: ${total.hosts} live host(s), ${total.stale} stale    ss -s: TCP ${s.total} (estab ${s.estab}, closed ${s.closed}, orphaned ${s.orphaned}, timewait ${s.timewait})`,
      '',
      `${'STATE'.padEnd(14)} ${'FLEET'.padStart(6)}`,
      ...STATES.map((x) => `${x.padEnd(14)} ${String(total.states[x]).padStart(6)}`),
      '',
      `${'HOST'.padEnd(24)} ${'ESTAB'.padStart(7)} ${'TIME_WAIT'.padStart(9)} ${'CLOSE_WAIT'.padStart(10)} ${'LISTEN'.padStart(7)}  STATUS`,
      ...hosts.map((h) => `${h.host.slice(0, 24).padEnd(24)} ${String(h.states.established).padStart(7)} ${String(h.states.time_wait).padStart(9)} ${String(h.states.close_wait).padStart(10)} ${String(h.states.listen).padStart(7)}  ${h.stale ? 'stale' : 'live'}`),
      hosts.length === 0 ? '(waiting for the agent\'s first snapshot)' : '',
      'Try: npx tcpfleet hosts | npx tcpfleet total --json | npx tcpfleet host <id>',
    ];
    text = lines.join('\n');
  } catch {
    text = `tcpfleet: waiting for the collector at ${url} ...`;
  }
  process.stdout.write(tty ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
}
const timer = setInterval(() => void render(), refreshMs);
setTimeout(() => void render(), 1200);
process.on('exit', () => clearInterval(timer));
