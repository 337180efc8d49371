#!/usr/bin/env node
// One timer-driven TCP transition, alone, for bench/namespaces-quiet.mjs. Run with
// `ip netns exec A node quiet-scenario.mjs --role client|server --kind K --peer ADDR`; the
// experiment's iptables rules in A or B drop the packets that make the timer fire.
//   synsent    client connects to a port whose SYNs B drops: SYN_SENT until tcp_syn_retries
//   synack     client connects, B's SYN-ACKs are dropped: B holds a request socket (SYN_RECV)
//              that expires after tcp_synack_retries, after the client gave up
//   rto        client sends data B drops: ESTABLISHED until tcp_retries2 kills it
//   finwait2   client closes, server never does and the client's socket is orphaned:
//              FIN_WAIT2 until tcp_fin_timeout
//   timewait   client closes first: TIME_WAIT for 60 s
//   keepalive  client with keepalive, then B drops everything: probes, then death
// Prints {"ready":true,"pid":N} once set up; the client connects at --at (epoch ms).
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const role = opt('role', 'client');
const kind = opt('kind', 'synsent');
const peer = opt('peer', '127.0.0.1');
const port = Number(opt('port', 5000));
const hold = Number(opt('hold', 120));
const at = Number(opt('at', 0));
const keep = [];
const ready = () => process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');

if (role === 'server') {
  const srv = net.createServer({ allowHalfOpen: kind === 'finwait2' }, (s) => {
    keep.push(s);
    s.on('error', () => {});
    s.on('data', () => {});
    if (kind === 'timewait') s.on('end', () => s.end());
  });
  srv.listen(port, '0.0.0.0', ready);
  keep.push(srv);
} else {
  ready();
  setTimeout(client, Math.max(0, at - Date.now()));
}

function client() {
  const c = net.connect({ host: peer, port, allowHalfOpen: true });
  keep.push(c);
  c.on('error', () => {});
  c.on('connect', () => {
    if (kind === 'rto') c.write(Buffer.alloc(1000));
    if (kind === 'finwait2') {
      c.end();
      setTimeout(() => c.destroy(), 200);
    }
    if (kind === 'timewait') c.end();
    if (kind === 'keepalive') c.setKeepAlive(true, 1000);
  });
}
setTimeout(() => process.exit(0), hold * 1000);
process.on('SIGTERM', () => process.exit(0));
