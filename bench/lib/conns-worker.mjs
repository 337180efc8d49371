#!/usr/bin/env node
// Holds a mix of loopback TCP sockets in the current network namespace until SIGTERM (or --hold
// seconds). One line of JSON on stdout when ready. At most ~9,500 connections per process: each
// loopback connection is two file descriptors here (client and accepted side).
//   --estab N (IPv4, two ESTABLISHED sockets each)  --estab6 N (IPv6)
//   --closewait N (one CLOSE_WAIT + one FIN_WAIT2)   --timewait N (one TIME_WAIT, client side)
//   --addr 127.0.0.X (IPv4 address to listen on, so ports never run out across workers)
//   --churn N (after ready, every second: open N IPv4 connections and close the N oldest of
//              them, client side first: a namespace with ongoing churn, each close a TIME_WAIT)
//   --commands (read lines from stdin: `spike N` opens N more IPv4 connections and answers
//              {"spiked":N} on stdout once they are established)
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const E = Number(opt('estab', 0));
const E6 = Number(opt('estab6', 0));
const C = Number(opt('closewait', 0));
const W = Number(opt('timewait', 0));
const addr4 = opt('addr', '127.0.0.1');
const hold = Number(opt('hold', 900));
const churn = Number(opt('churn', 0));
const keep = [];

const listen = (host, allowHalfOpen) =>
  new Promise((resolve, reject) => {
    const srv = net.createServer({ allowHalfOpen }, (s) => {
      keep.push(s);
      s.on('error', () => {});
    });
    srv.on('error', reject);
    srv.listen({ port: 0, host, backlog: 4096 }, () => resolve(srv));
    keep.push(srv);
  });

const connectMany = async (host, port, n, after) => {
  let next = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const c = net.connect({ host, port, allowHalfOpen: true }, () => {
        if (after) after(c, resolve);
        else resolve();
      });
      c.on('error', reject);
      keep.push(c);
    });
  const lane = async () => {
    while (next < n) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(256, n) }, lane));
};

async function main() {
  const srv4 = await listen(addr4, false);
  const srv6 = E6 > 0 ? await listen('::1', false) : null;
  const half = C > 0 ? await listen(addr4, true) : null;
  await connectMany(addr4, srv4.address().port, E);
  if (srv6) await connectMany('::1', srv6.address().port, E6);
  if (half)
    await connectMany(addr4, half.address().port, C, (c, done) => {
      c.end();
      done();
    });
  // TIME_WAIT: the client closes first and both sides finish; the client side lingers 60 s.
  await connectMany(addr4, srv4.address().port, W, (c, done) => {
    c.on('close', done);
    c.on('end', () => c.destroy());
    c.end();
  });
  await new Promise((r) => setTimeout(r, 300));
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
  setTimeout(() => process.exit(0), hold * 1000);
  if (churn > 0) startChurn(srv4.address().port);
  if (args.includes('--commands')) readCommands(srv4.address().port);
}

/** Every second: N new connections, and the N oldest churned ones closed (client first). */
function startChurn(port) {
  const open = [];
  setInterval(() => {
    for (let i = 0; i < churn; i++) {
      const c = net.connect({ host: addr4, port });
      c.on('error', () => {});
      c.on('end', () => c.destroy());
      open.push(c);
    }
    for (const c of open.splice(0, Math.max(0, open.length - churn))) c.end();
  }, 1000);
}

function readCommands(port) {
  let buf = '';
  process.stdin.on('data', (d) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const [cmd, n] = buf.slice(0, nl).trim().split(/\s+/);
      buf = buf.slice(nl + 1);
      if (cmd === 'spike') {
        connectMany(addr4, port, Number(n)).then(
          () => process.stdout.write(JSON.stringify({ spiked: Number(n) }) + '\n'),
          (err) => process.stdout.write(JSON.stringify({ error: err.message }) + '\n'),
        );
      }
    }
  });
}
process.on('SIGTERM', () => process.exit(0));
main().catch((err) => {
  process.stderr.write(`conns-worker: ${err.message}\n`);
  process.exit(1);
});
