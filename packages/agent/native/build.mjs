#!/usr/bin/env node
// The agent package's `install` script: builds the sock_diag addon (native/sock_diag.c ->
// build/Release/sock_diag.node) with node-gyp. The addon is optional: without it the agent walks
// namespaces through /proc (src/namespaces/sock-diag.ts), so a failed build warns and exits 0 and
// never fails `npm install`, unless TCPFLEET_NATIVE_REQUIRED=1 (the Docker build stage sets it).
// Node's headers: npm's nodedir when set, else the running Node's own include/node when present
// (distribution packages and the official images ship them), else node-gyp downloads them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const required = process.env.TCPFLEET_NATIVE_REQUIRED === '1';

function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const bundled = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

const args = ['rebuild'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h')) && existsSync(join(prefix, 'include/node/common.gypi'))) args.push(`--nodedir=${prefix}`);
const [cmd, ...pre] = nodeGyp();
const r = spawnSync(cmd, [...pre, ...args], { cwd: pkg, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
if (r.status === 0 && existsSync(join(pkg, 'build/Release/sock_diag.node'))) {
  process.stdout.write('tcpfleet agent: built the sock_diag addon (netlink namespace walks)\n');
  process.exit(0);
}
const why = r.error ? r.error.message : `node-gyp exited with ${r.status ?? r.signal}`;
process.stderr.write(`tcpfleet agent: WARNING: the sock_diag addon was not built (${why}); --namespaces walks /proc/PID/net/tcp and tcp6 instead (docs/namespaces.md)\n`);
process.exit(required ? 1 : 0);
