/** Wire clients for tests of several collectors (test/cluster): JSON snapshots at interval 500 ms with a chosen established count. */
import WebSocket from 'ws';
import { hello, snapshot } from './wire.js';

/** A wire client for one host: sends one snapshot per send(), resolves on its ack; records what was acknowledged. */
export class Feeder {
  readonly acked: number[] = [];
  #ws: WebSocket | null = null;
  #seq = 0;
  #id = 0;
  readonly #waiting = new Map<number, { seq: number; done: (ok: boolean) => void }>();
  readonly host: string;
  readonly boot: string;
  readonly #token: string;
  constructor(host: string, boot: string, token: string) {
    this.host = host;
    this.boot = boot;
    this.#token = token;
  }

  async open(url: string): Promise<void> {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${this.#token}` }, perMessageDeflate: false });
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.host}: no welcome`)), 10_000);
      ws.on('error', () => undefined);
      ws.on('open', () => ws.send(JSON.stringify({ ...(JSON.parse(hello(this.host, this.boot)) as object), interval_ms: 500 })));
      ws.on('message', (m) => {
        const msg = JSON.parse(m.toString()) as { type: string; id?: number };
        if (msg.type === 'welcome') {
          clearTimeout(t);
          resolve();
        } else if (msg.type === 'ack' || msg.type === 'nack') {
          const w = this.#waiting.get(msg.id ?? -1);
          if (w === undefined) return;
          this.#waiting.delete(msg.id ?? -1);
          if (msg.type === 'ack') this.acked.push(w.seq);
          w.done(msg.type === 'ack');
        }
      });
      ws.on('close', () => {
        for (const w of this.#waiting.values()) w.done(false);
        this.#waiting.clear();
      });
    });
  }

  /** Sends the next snapshot with `established` connections; true once acknowledged (the seq is resent on a nack). */
  async send(established: number): Promise<boolean> {
    const seq = this.#seq + 1;
    const id = ++this.#id;
    const snap = snapshot(this.host, seq, this.boot, { interval_ms: 500 });
    // The collector keeps the per-family counts (states are their sum): set IPv4's.
    snap['states'] = { ...(snap['states'] as Record<string, number>), established };
    snap['ipv4'] = { ...(snap['ipv4'] as Record<string, number>), established };
    const ok = await new Promise<boolean>((done) => {
      const t = setTimeout(() => done(false), 10_000);
      this.#waiting.set(id, {
        seq,
        done: (v) => {
          clearTimeout(t);
          done(v);
        },
      });
      this.#ws?.send(JSON.stringify({ type: 'batch', id, snapshots: [snap] }));
    });
    if (ok) this.#seq = seq;
    return ok;
  }

  close(): void {
    this.#ws?.close(1000);
  }
}
