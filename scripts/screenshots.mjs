#!/usr/bin/env node
// Takes the README screenshots (docs/img/dashboard.png, docs/img/dashboard-empty.png,
// docs/img/watch.png): a collector on 127.0.0.1:PORT (default 21100) fed by real agents that
// read synthetic /proc trees (five made-up hosts whose connection counts move), the dashboard
// in headless Chromium, and `tcpfleet watch` in a tmux terminal, rendered to PNG by Chromium.
// Needs: npm run build, /usr/bin/chromium, tmux. Takes about two minutes.
//   node scripts/screenshots.mjs [PORT] [SECONDS]
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.argv[2] ?? 21100);
const seconds = Number(process.argv[3] ?? 100);
const url = `http://127.0.0.1:${port}`;
const out = join(root, 'docs/img');
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'tcpfleet-shots-'));
const token = 'screenshot-token-0123456789';
writeFileSync(join(dir, 'token'), token + '\n', { mode: 0o600 });
const children = [];
const tmuxSock = `tfshots${process.pid}`;
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  spawnSync('tmux', ['-L', tmuxSock, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const start = (args, name) => {
  const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  c.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${name} exited ${code}: ${err}\n`);
  });
  c.name = name;
  children.push(c);
  return c;
};

// Synthetic /proc trees: tcp lines for a listener on :443 and on :22, inbound connections to 443
// from clients, outbound ones to a database, and TIME_WAIT/CLOSE_WAIT that move over time.
const hex4 = (n) => n.toString(16).toUpperCase().padStart(4, '0');
const line = (i, local, remote, st) => `${String(i).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${10000 + i} 1 0000000000000000 20 4 30 10 -1`;
function tcpFile(c) {
  const rows = ['  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'];
  let i = 0;
  rows.push(line(i++, '00000000:01BB', '00000000:0000', '0A'), line(i++, '00000000:0016', '00000000:0000', '0A'));
  for (let k = 0; k < c.estIn; k++) rows.push(line(i++, '0A00000A:01BB', `${(0x0b00000a + (k % 200) * 0x1000000).toString(16).toUpperCase().padStart(8, '0')}:${hex4(30000 + k)}`, '01'));
  for (let k = 0; k < c.estOut; k++) rows.push(line(i++, `0A00000A:${hex4(40000 + k)}`, '0900000A:1538', '01'));
  for (let k = 0; k < c.tw; k++) rows.push(line(i++, `0A00000A:${hex4(45000 + k)}`, '0900000A:1538', '06'));
  for (let k = 0; k < c.cw; k++) rows.push(line(i++, '0A00000A:01BB', `0C00000A:${hex4(50000 + k)}`, '08'));
  return rows.join('\n') + '\n';
}
const hosts = [
  { id: 'web-1', labels: ['role=web', 'env=prod'], base: 180, amp: 60, period: 40 },
  { id: 'web-2', labels: ['role=web', 'env=prod'], base: 150, amp: 50, period: 55 },
  { id: 'api-1', labels: ['role=api', 'env=prod'], base: 90, amp: 30, period: 30, closeWait: true },
  { id: 'db-1', labels: ['role=db', 'env=prod'], base: 40, amp: 5, period: 70 },
  { id: 'batch-7', labels: ['role=batch', 'env=staging'], base: 20, amp: 15, period: 25, stale: true },
];
for (const h of hosts) {
  h.proc = join(dir, h.id);
  cpSync(join(root, 'test/fixtures/proc'), h.proc, { recursive: true });
  writeFileSync(join(h.proc, 'net/tcp6'), '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n');
}
let t = 0;
const snmp = readFileSync(join(root, 'test/fixtures/proc/net/snmp'), 'utf8');
function tick() {
  t++;
  for (const h of hosts) {
    const wave = Math.sin((2 * Math.PI * t) / h.period);
    const spike = h.id === 'web-1' && t > seconds * 0.6 && t < seconds * 0.75 ? 120 : 0;
    const estIn = Math.max(1, Math.round(h.base + h.amp * wave + spike + Math.random() * 8));
    const c = { estIn, estOut: Math.round(estIn / 6), tw: Math.round(h.base / 3 + h.amp * 0.5 * (1 - wave)), cw: h.closeWait ? Math.min(40, Math.round(t / 4)) : 0 };
    writeFileSync(join(h.proc, 'net/tcp.tmp'), tcpFile(c));
    renameSync(join(h.proc, 'net/tcp.tmp'), join(h.proc, 'net/tcp'));
    // sockstat and snmp to match, so the ss -s line agrees with the state counts.
    const inuse = 2 + c.estIn + c.estOut + c.cw;
    writeFileSync(
      join(h.proc, 'net/sockstat'),
      `sockets: used ${inuse + 10}\nTCP: inuse ${inuse} orphan 0 tw ${c.tw} alloc ${inuse + 1} mem ${Math.ceil(inuse / 20)}\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n`,
    );
    writeFileSync(join(h.proc, 'net/sockstat6'), 'TCP6: inuse 0\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n');
    writeFileSync(join(h.proc, 'net/snmp'), snmp.replace(/^(Tcp: (?:\S+ ){8})\d+/m, `$1${c.estIn + c.estOut + c.cw}`));
  }
}

const args = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const profile = join(dir, 'profile');
const ctx = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args, viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
try {
  start([join(root, 'packages/collector/bin/tcpfleet.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'tcpfleet.db'), '--token-file', join(dir, 'token')], 'collector');
  await sleep(1500);
  const page = await ctx.newPage();
  await page.goto(`${url}/`);
  await page.waitForSelector('#empty:not([hidden])');
  await page.screenshot({ path: join(out, 'dashboard-empty.png') });
  tick();
  const timer = setInterval(tick, 1000);
  for (const h of hosts) {
    h.agent = start(
      [
        join(root, 'dist/tcpfleet-agent.mjs'),
        '--collector',
        `ws://127.0.0.1:${port}`,
        '--token-file',
        join(dir, 'token'),
        '--host-id',
        h.id,
        ...h.labels.flatMap((l) => ['--label', l]),
        '--procfs',
        h.proc,
        '--interval',
        '1',
      ],
      h.id,
    );
  }
  process.stdout.write(`collecting for ${seconds} s ...\n`);
  await sleep((seconds - 8) * 1000);
  for (const h of hosts) if (h.stale) h.agent.kill('SIGTERM');
  await sleep(8000);
  clearInterval(timer);
  const window = Math.max(60_000, seconds * 1000 + 20_000);
  await page.goto(`${url}/?state=established&window=${window}`);
  await page.waitForSelector('tr.stale');
  await sleep(2500);
  await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });

  // tcpfleet watch on a real terminal (tmux), captured and rendered as a PNG.
  const tmux = (a) => spawnSync('tmux', ['-L', tmuxSock, ...a], { encoding: 'utf8' }).stdout;
  tmux([
    'new-session',
    '-d',
    '-x',
    '132',
    '-y',
    '16',
    `${process.execPath} ${join(root, 'packages/collector/bin/tcpfleet.js')} watch --url ${url} --window ${Math.ceil(window / 60000)}m --interval 1`,
  ]);
  await sleep(3000);
  const screen = tmux(['capture-pane', '-p']).replace(/\s+$/, '');
  writeFileSync(join(dir, 'watch.txt'), screen);
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  await page.setViewportSize({ width: 1140, height: 330 });
  await page.setContent(`<body style="margin:0;background:#101418"><pre style="margin:0;padding:14px 16px;color:#d8dee6;font:13px/1.3 'DejaVu Sans Mono',monospace">${esc(screen)}</pre></body>`);
  await page.screenshot({ path: join(out, 'watch.png') });
  process.stdout.write(`${screen}\n\nwrote docs/img/dashboard.png, dashboard-empty.png, watch.png\n`);
} finally {
  await ctx.close();
  cleanup();
}
