#!/usr/bin/env node
// A collector with fault injection, for the fault suite only: the product's app (built dist/)
// started with a `faults` option, which no product entry point can set.
//
//   node fault-collector.mjs [--drop-ack-every N] [--commit-delay-ms N] -- SERVE-FLAGS...
//
// SERVE-FLAGS are `tcpfleet serve`'s (--listen, --db, --token-file, --heartbeat, --public-read,
// ...), read with the product's own config loader (flags > TCPFLEET_* env > config file); it
// stops on SIGTERM/SIGINT like `tcpfleet serve`.
import { loadServeConfig } from '../../packages/collector/dist/config.js';
import { startCollector } from '../../packages/collector/dist/app.js';
import { createLogger } from '../../packages/collector/dist/log.js';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const own = sep < 0 ? argv : argv.slice(0, sep);
const serve = sep < 0 ? [] : argv.slice(sep + 1);

const faults = {};
for (let i = 0; i < own.length; i += 2) {
  const n = Number(own[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`fault-collector: ${own[i]} needs a positive integer`);
  if (own[i] === '--drop-ack-every') faults.dropAckEvery = n;
  else if (own[i] === '--commit-delay-ms') faults.commitDelayMs = n;
  else throw new Error(`fault-collector: unknown option ${own[i]}`);
}

// --kebab-name VALUE (or a lone --flag, true) -> { kebabName: VALUE }, as main.ts hands them over.
const flags = {};
for (let i = 0; i < serve.length; i++) {
  const a = serve[i];
  if (!a.startsWith('--')) throw new Error(`fault-collector: unexpected argument ${a}`);
  const name = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const next = serve[i + 1];
  if (next === undefined || next.startsWith('--')) flags[name] = 'true';
  else {
    flags[name] = next;
    i++;
  }
}

const warnings = [];
const cfg = loadServeConfig(flags, process.env, (w) => warnings.push(w));
const log = createLogger(cfg.logLevel);
const running = await startCollector(cfg, { log, warnings, faults });
let stopping = false;
const stop = (signal) => {
  if (stopping) process.exit(1);
  stopping = true;
  log.info({ signal }, 'stopping');
  void running.stop().then((ok) => process.exit(ok ? 0 : 1));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
