#!/usr/bin/env node
// `npm start`: a collector with its embedded SQLite database and an agent for this host, plus a
// live view of the fleet (tcpfleet watch). Ctrl-C stops both. Files go to ./data (database, token, logs).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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

// The live view is `tcpfleet watch` itself (it waits for the collector and redraws in place).
setTimeout(() => {
  const watch = spawn(process.execPath, [`${root}packages/collector/bin/tcpfleet.js`, 'watch', '--url', url, '--interval', String(refreshMs / 1000)], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(watch);
  watch.on('exit', () => stop(0));
}, 1200);
