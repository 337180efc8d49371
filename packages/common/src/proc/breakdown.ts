/**
 * Inbound/outbound breakdown of a host's sockets, filled during the same pass over
 * /proc/net/tcp and tcp6 that counts states.
 *
 * A non-listening socket is inbound when its local port is one the host listens on (on any
 * address, IPv4 or IPv6), otherwise outbound and grouped by its remote address and port. The
 * kernel lists listening sockets before the others in each file (tcp_seq_start walks the listening
 * hash first), and tcpfleet reads tcp before tcp6, so the listening ports are known before the
 * sockets that use them; a listener opened between the two reads can misfile a few sockets of that
 * one snapshot.
 */
import { TCP_STATES, emptyStates, statesFromArray, totalOfStates } from '../model/tcp-state.js';
import type { StateCounts } from '../model/tcp-state.js';
import { formatIPv6, ipv4FromWord } from './hex.js';

/** Sockets accepted by one local listening port. */
export interface InboundEntry {
  port: number;
  states: StateCounts;
}

/** Sockets to one remote address and port. */
export interface OutboundEntry {
  addr: string;
  port: number;
  states: StateCounts;
}

/** The breakdown carried in a snapshot: the top K of each side plus the rest. */
export interface Breakdown {
  inbound: InboundEntry[];
  outbound: OutboundEntry[];
  other: { inbound: StateCounts; outbound: StateCounts };
}

/** Hard cap on K, so a snapshot's size never grows with the host's connection count. */
export const BREAKDOWN_MAX_TOP = 100;

const LISTEN = 10;
/** Counters per entry: index 0 unused, 1..12 the kernel's states (as NetTcpResult.counts). */
const SLOTS = 13;

/**
 * Open-addressing hash table from a key of five int32 words to 13 counters, all in typed arrays:
 * counting a socket allocates nothing (no key string, no boxed number, no per-entry object), so a
 * walk of 200,000 sockets leaves no garbage behind. IPv4 peers use (word, port, 0, 0, 0), IPv6
 * peers (w0, w1, w2, w3, port), local ports (port, 0, 0, 0, 0).
 */
class CountTable {
  #cap = 256;
  #size = 0;
  #keys = new Int32Array(this.#cap * 5);
  #used = new Uint8Array(this.#cap);
  #counts = new Int32Array(this.#cap * SLOTS);

  bump(a: number, b: number, c: number, d: number, e: number, state: number): void {
    const mask = this.#cap - 1;
    let i = hash5(a, b, c, d, e) & mask;
    const keys = this.#keys;
    const used = this.#used;
    for (;;) {
      if (used[i] === 0) break;
      const k = i * 5;
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d && keys[k + 4] === e) {
        this.#counts[i * SLOTS + state]! += 1;
        return;
      }
      i = (i + 1) & mask;
    }
    if ((this.#size + 1) * 2 > this.#cap) {
      this.#grow();
      return this.bump(a, b, c, d, e, state);
    }
    used[i] = 1;
    const k = i * 5;
    keys[k] = a;
    keys[k + 1] = b;
    keys[k + 2] = c;
    keys[k + 3] = d;
    keys[k + 4] = e;
    this.#counts[i * SLOTS + state] = 1;
    this.#size++;
  }

  #grow(): void {
    const { keys, used, counts } = { keys: this.#keys, used: this.#used, counts: this.#counts };
    const old = this.#cap;
    this.#cap = old * 2;
    this.#keys = new Int32Array(this.#cap * 5);
    this.#used = new Uint8Array(this.#cap);
    this.#counts = new Int32Array(this.#cap * SLOTS);
    const mask = this.#cap - 1;
    for (let j = 0; j < old; j++) {
      if (used[j] === 0) continue;
      const k = j * 5;
      let i = hash5(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!, keys[k + 4]!) & mask;
      while (this.#used[i] !== 0) i = (i + 1) & mask;
      this.#used[i] = 1;
      this.#keys.set(keys.subarray(k, k + 5), i * 5);
      this.#counts.set(counts.subarray(j * SLOTS, (j + 1) * SLOTS), i * SLOTS);
    }
  }

  /** Every entry: its five key words and a copy of its counters. */
  *entries(): Generator<{ key: Int32Array; c: Int32Array }> {
    for (let i = 0; i < this.#cap; i++) {
      if (this.#used[i] === 0) continue;
      yield { key: this.#keys.slice(i * 5, i * 5 + 5), c: this.#counts.slice(i * SLOTS, (i + 1) * SLOTS) };
    }
  }
}

function hash5(a: number, b: number, c: number, d: number, e: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ d ^ (h >>> 16), 0xc2b2ae35);
  h = Math.imul(h ^ e ^ (h >>> 13), 0x27d4eb2f);
  return h ^ (h >>> 16);
}

/** Accumulates per-port and per-peer counts; one instance per snapshot. */
export class BreakdownCollector {
  /** One byte per local port: 1 when some socket listens on it (IPv4 or IPv6). */
  readonly #listenPorts = new Uint8Array(65536);
  readonly #inbound = new CountTable();
  readonly #outbound4 = new CountTable();
  readonly #outbound6 = new CountTable();

  /** Records one IPv4 socket; `remoteWord` is the kernel's u32 word of the remote address. */
  add4(state: number, localPort: number, remoteWord: number, remotePort: number): void {
    if (state === LISTEN) {
      this.#listenPorts[localPort] = 1;
      return;
    }
    if (this.#listenPorts[localPort] === 1) return this.#inbound.bump(localPort, 0, 0, 0, 0, state);
    this.#outbound4.bump(remoteWord | 0, remotePort, 0, 0, 0, state);
  }

  /** Records one IPv6 socket; `w0`..`w3` are the kernel's four u32 words of the remote address. */
  add6(state: number, localPort: number, w0: number, w1: number, w2: number, w3: number, remotePort: number): void {
    if (state === LISTEN) {
      this.#listenPorts[localPort] = 1;
      return;
    }
    if (this.#listenPorts[localPort] === 1) return this.#inbound.bump(localPort, 0, 0, 0, 0, state);
    this.#outbound6.bump(w0 | 0, w1 | 0, w2 | 0, w3 | 0, remotePort, state);
  }

  /** The top `k` entries of each side (ranked by total, ties by port/address) and the rest. */
  result(k: number): Breakdown {
    const top = Math.max(0, Math.min(BREAKDOWN_MAX_TOP, Math.floor(k)));
    const inbound = [...this.#inbound.entries()].map(({ key, c }) => ({ port: key[0]!, c, n: sum(c) }));
    inbound.sort((a, b) => b.n - a.n || a.port - b.port);
    const outbound: { addr: string; port: number; c: Int32Array; n: number }[] = [];
    for (const { key, c } of this.#outbound4.entries()) {
      outbound.push({ addr: ipv4FromWord(key[0]! >>> 0), port: key[1]!, c, n: sum(c) });
    }
    for (const { key, c } of this.#outbound6.entries()) {
      outbound.push({ addr: ipv6FromWords(key), port: key[4]!, c, n: sum(c) });
    }
    outbound.sort((a, b) => b.n - a.n || (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.port - b.port));
    const other = { inbound: emptyStates(), outbound: emptyStates() };
    for (const e of inbound.slice(top)) addArray(other.inbound, e.c);
    for (const e of outbound.slice(top)) addArray(other.outbound, e.c);
    return {
      inbound: inbound.slice(0, top).map((e) => ({ port: e.port, states: statesFromArray(e.c) })),
      outbound: outbound.slice(0, top).map((e) => ({ addr: e.addr, port: e.port, states: statesFromArray(e.c) })),
      other,
    };
  }
}

function sum(c: Int32Array): number {
  let n = 0;
  for (let i = 1; i < c.length; i++) n += c[i]!;
  return n;
}

function addArray(into: StateCounts, c: Int32Array): void {
  for (let i = 0; i < TCP_STATES.length; i++) into[TCP_STATES[i]!] += c[i + 1] ?? 0;
}

function ipv6FromWords(words: Int32Array): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++)
    bytes.push(
      ...ipv4FromWord(words[w]! >>> 0)
        .split('.')
        .map(Number),
    );
  return formatIPv6(bytes);
}

/** Total of every state of every part of a breakdown (listeners excluded). */
export function breakdownTotal(b: Breakdown): number {
  let n = totalOfStates(b.other.inbound) + totalOfStates(b.other.outbound);
  for (const e of b.inbound) n += totalOfStates(e.states);
  for (const e of b.outbound) n += totalOfStates(e.states);
  return n;
}
