#!/usr/bin/env node
// Workload for the "no movement means no change" experiment (bench/namespaces-quiet.mjs): in the
// current network namespace, makes every kind of TCP state transition at random moments, with
// quiet gaps between bursts, for --seconds. Prints one JSON line when its listeners are up, then
// one JSON line of action counts when done.
//
// Transitions it makes: connect (v4/v6) -> ESTABLISHED; graceful close -> FIN_WAIT1/2, TIME_WAIT
// on the closer, CLOSE_WAIT/LAST_ACK on the peer; half-close held (CLOSE_WAIT + FIN_WAIT2);
// orphaned FIN_WAIT2 that times out (tcp_fin_timeout); RST close; listener open/close; refused
// connect; SYN_SENT that times out (SYNs dropped, port 9); request sockets that time out
// (SYN-ACKs dropped, port 10: the client gives up, the server's NEW_SYN_RECV expires later);
// established connections that die of retransmission timeouts (port 11: data dropped after
// the handshake); TIME_WAIT expiry (60 s, not tunable) happens by itself.
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = opt('seconds', 60);
const seed0 = opt('seed', 1);

let seed = seed0 >>> 0 || 1;
const rnd = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const counts = {};
const did = (k) => (counts[k] = (counts[k] ?? 0) + 1);
const live = []; // [client, serverSide]
const held = []; // half-closed, held
const listeners = [];

function listen(host, port, allowHalfOpen, onConn) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer({ allowHalfOpen }, (s) => {
      s.on('error', () => {});
      onConn?.(s);
    });
    srv.on('error', reject);
    srv.listen({ host, port, backlog: 128 }, () => resolve(srv));
  });
}

const pendingServer = [];
function connect(host, port) {
  return new Promise((resolve) => {
    const c = net.connect({ host, port, allowHalfOpen: true });
    c.on('error', () => resolve(null));
    c.on('connect', () => resolve(c));
    c.setTimeout(30_000, () => c.destroy());
  });
}

async function main() {
  const srv4 = await listen('127.0.0.1', 0, true, (s) => pendingServer.push(s));
  const srv6 = await listen('::1', 0, true, (s) => pendingServer.push(s));
  // Port 10: the SYN-ACKs are dropped by the experiment's iptables rule; port 11: data dropped.
  const synack = await listen('127.0.0.1', 10, false);
  const rto = await listen('127.0.0.1', 11, false, (s) => s.on('data', () => {}));
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
  const until = Date.now() + seconds * 1000;
  const actions = {
    async open() {
      const v6 = rnd() < 0.3;
      const c = await connect(v6 ? '::1' : '127.0.0.1', (v6 ? srv6 : srv4).address().port);
      await sleep(5);
      const s = pendingServer.shift();
      if (c && s) live.push([c, s]);
      did(v6 ? 'open6' : 'open4');
    },
    async closeGraceful() {
      const p = live.splice(Math.floor(rnd() * live.length), 1)[0];
      if (!p) return;
      const [c, s] = p;
      // The closer (random side) ends TIME_WAIT; the other passes CLOSE_WAIT and LAST_ACK.
      const [a, b] = rnd() < 0.5 ? [c, s] : [s, c];
      a.end();
      b.once('end', () => setTimeout(() => b.end(), Math.floor(rnd() * 300)));
      did('close');
    },
    halfClose() {
      const p = live.splice(Math.floor(rnd() * live.length), 1)[0];
      if (!p) return;
      p[0].end();
      held.push(p);
      did('halfclose');
    },
    finishHalf() {
      const p = held.splice(Math.floor(rnd() * held.length), 1)[0];
      if (!p) return;
      p[1].end();
      did('finishhalf');
    },
    orphanFinWait2() {
      // The client closes fully and goes away; the server never answers with its FIN: an
      // orphaned FIN_WAIT2 that tcp_fin_timeout ends.
      const p = live.splice(Math.floor(rnd() * live.length), 1)[0];
      if (!p) return;
      p[0].end();
      setTimeout(() => p[0].destroy(), 50);
      held.push([p[1], p[1]]);
      did('orphan');
    },
    reset() {
      const p = live.splice(Math.floor(rnd() * live.length), 1)[0];
      if (!p) return;
      (rnd() < 0.5 ? p[0] : p[1]).resetAndDestroy();
      did('rst');
    },
    async listener() {
      if (listeners.length > 0 && rnd() < 0.5) {
        listeners.pop().close();
        did('unlisten');
      } else {
        listeners.push(await listen(rnd() < 0.5 ? '127.0.0.1' : '::1', 0, false));
        did('listen');
      }
    },
    async refused() {
      await connect('127.0.0.1', 1);
      did('refused');
    },
    blackhole() {
      void connect('127.0.0.1', 9);
      did('synsent');
    },
    synackDropped() {
      void connect('127.0.0.1', 10);
      did('synack_dropped');
    },
    async rtoDeath() {
      const c = await connect('127.0.0.1', 11);
      if (c) {
        c.write(Buffer.alloc(100));
        did('rto');
      }
    },
  };
  const weights = [
    ['open', 8],
    ['closeGraceful', 4],
    ['halfClose', 1],
    ['finishHalf', 1],
    ['orphanFinWait2', 1],
    ['reset', 1],
    ['listener', 1],
    ['refused', 1],
    ['blackhole', 0.5],
    ['synackDropped', 0.5],
    ['rtoDeath', 0.5],
  ];
  const bag = weights.flatMap(([k, w]) => Array(Math.round(w * 2)).fill(k));
  while (Date.now() < until) {
    // A burst of actions, then a quiet gap (timers still fire in the gaps).
    const n = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) await actions[pick(bag)]();
    await sleep(rnd() < 0.5 ? Math.floor(rnd() * 200) : 500 + Math.floor(rnd() * 3000));
  }
  process.stdout.write(JSON.stringify({ done: true, counts }) + '\n');
  void synack;
  void rto;
  process.exit(0);
}
process.on('SIGTERM', () => process.exit(0));
main().catch((err) => {
  process.stderr.write(`quiet-churn: ${err.stack}\n`);
  process.exit(1);
});
