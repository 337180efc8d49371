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

/** Accumulates per-port and per-peer counts; one instance per snapshot. */
export class BreakdownCollector {
  readonly #listenPorts = new Set<number>();
  readonly #inbound = new Map<number, Int32Array>();
  readonly #outbound4 = new Map<number, Int32Array>();
  readonly #outbound6 = new Map<string, Int32Array>();

  /** Records one IPv4 socket; `remoteWord` is the kernel's u32 word of the remote address. */
  add4(state: number, localPort: number, remoteWord: number, remotePort: number): void {
    if (state === LISTEN) {
      this.#listenPorts.add(localPort);
      return;
    }
    if (this.#listenPorts.has(localPort)) return bump(this.#inbound, localPort, state);
    bump(this.#outbound4, remoteWord * 65536 + remotePort, state);
  }

  /** Records one IPv6 socket; `remoteHex` is the 32 hex digits of the remote address. */
  add6(state: number, localPort: number, remoteHex: string, remotePort: number): void {
    if (state === LISTEN) {
      this.#listenPorts.add(localPort);
      return;
    }
    if (this.#listenPorts.has(localPort)) return bump(this.#inbound, localPort, state);
    bump(this.#outbound6, `${remoteHex}:${remotePort}`, state);
  }

  /** The top `k` entries of each side (ranked by total, ties by port/address) and the rest. */
  result(k: number): Breakdown {
    const top = Math.max(0, Math.min(BREAKDOWN_MAX_TOP, Math.floor(k)));
    const inbound = [...this.#inbound].map(([port, c]) => ({ port, c, n: sum(c) }));
    inbound.sort((a, b) => b.n - a.n || a.port - b.port);
    const outbound: { addr: string; port: number; c: Int32Array; n: number }[] = [];
    for (const [key, c] of this.#outbound4) {
      const port = key % 65536;
      outbound.push({ addr: ipv4FromWord((key - port) / 65536), port, c, n: sum(c) });
    }
    for (const [key, c] of this.#outbound6) {
      const [hex = '', port = '0'] = key.split(':');
      outbound.push({ addr: ipv6FromKernelHex(hex), port: Number(port), c, n: sum(c) });
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

function bump<K>(map: Map<K, Int32Array>, key: K, state: number): void {
  let c = map.get(key);
  if (c === undefined) {
    c = new Int32Array(13);
    map.set(key, c);
  }
  c[state]! += 1;
}

function sum(c: Int32Array): number {
  let n = 0;
  for (let i = 1; i < c.length; i++) n += c[i]!;
  return n;
}

function addArray(into: StateCounts, c: Int32Array): void {
  for (let i = 0; i < TCP_STATES.length; i++) into[TCP_STATES[i]!] += c[i + 1] ?? 0;
}

function ipv6FromKernelHex(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const a = ipv4FromWord(parseInt(hex.slice(w * 8, w * 8 + 8), 16));
    bytes.push(...a.split('.').map(Number));
  }
  return formatIPv6(bytes);
}

/** Total of every state of every part of a breakdown (listeners excluded). */
export function breakdownTotal(b: Breakdown): number {
  let n = totalOfStates(b.other.inbound) + totalOfStates(b.other.outbound);
  for (const e of b.inbound) n += totalOfStates(e.states);
  for (const e of b.outbound) n += totalOfStates(e.states);
  return n;
}
