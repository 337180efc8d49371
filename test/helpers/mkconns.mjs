#!/usr/bin/env node
// Creates an exact mix of loopback TCP sockets in the current network namespace and holds them
// until killed (SIGTERM) or until --hold seconds pass. Prints one JSON line when ready:
//   {"ready":true,"pid":N,"listen":L,"established":E,"time_wait":W,"close_wait":C,"fin_wait2":C}
// Usage: node mkconns.mjs [--listen L] [--estab E] [--estab6 E6] [--timewait W] [--closewait C]
//                         [--timewait6 W6] [--port P] [--hold SECONDS]
// Sockets: L listeners (one of them IPv6 when --estab6 > 0); each established connection is two
// ESTABLISHED sockets; each time-wait connection leaves one TIME_WAIT socket (client side); each
// close-wait connection leaves one CLOSE_WAIT (server side) and one FIN_WAIT2 (client side);
// --timewait6 leaves W6 IPv6 TIME_WAIT sockets (client side, through a ::1 listener closed
// afterwards: no IPv6 socket stays in use, TCP6 inuse is back to what it was).
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const L = opt('listen', 1);
const E = opt('estab', 0);
const E6 = opt('estab6', 0);
const W = opt('timewait', 0);
const C = opt('closewait', 0);
const W6 = opt('timewait6', 0);
const basePort = opt('port', 0);
const hold = opt('hold', 600);
const keep = [];

const listen = (host, port, allowHalfOpen) =>
  new Promise((resolve, reject) => {
    const srv = net.createServer({ allowHalfOpen }, (s) => {
      keep.push(s);
      s.on('error', () => {});
    });
    srv.on('error', reject);
    srv.listen(port, host, () => resolve(srv));
    keep.push(srv);
  });
const connect = (host, port) =>
  new Promise((resolve, reject) => {
    const c = net.connect({ host, port, allowHalfOpen: true }, () => resolve(c));
    c.on('error', reject);
    keep.push(c);
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  // Listener 0 accepts established and time-wait connections; it closes its side when the client does.
  const main4 = await listen('127.0.0.1', basePort, false);
  const port = main4.address().port;
  // Close-wait connections need a server that never closes its side.
  const halfOpen = C > 0 ? await listen('127.0.0.1', 0, true) : null;
  const v6 = E6 > 0 ? await listen('::1', 0, false) : null;
  let extra = 1 + (halfOpen ? 1 : 0) + (v6 ? 1 : 0);
  while (extra < L) {
    await listen('127.0.0.1', 0, false);
    extra++;
  }
  for (let i = 0; i < E; i++) await connect('127.0.0.1', port);
  for (let i = 0; i < E6; i++) await connect('::1', v6.address().port);
  for (let i = 0; i < W; i++) {
    const c = await connect('127.0.0.1', port);
    await new Promise((r) => {
      c.on('close', r);
      c.on('end', () => c.destroy());
      c.end();
    });
  }
  for (let i = 0; i < C; i++) {
    const c = await connect('127.0.0.1', halfOpen.address().port);
    c.end();
  }
  if (W6 > 0) {
    const tmp = await listen('::1', 0, false);
    for (let i = 0; i < W6; i++) {
      const c = await connect('::1', tmp.address().port);
      await new Promise((r) => {
        c.on('close', r);
        c.on('end', () => c.destroy());
        c.end();
      });
    }
    await new Promise((r) => tmp.close(r));
  }
  await sleep(200);
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, port, listen: extra, established: 2 * (E + E6), time_wait: W, time_wait6: W6, close_wait: C, fin_wait2: C }) + '\n');
  setTimeout(() => process.exit(0), hold * 1000);
}
process.on('SIGTERM', () => process.exit(0));
main().catch((err) => {
  process.stderr.write(`mkconns: ${err.message}\n`);
  process.exit(1);
});
