/**
 * Kernel TCP states (include/net/tcp_states.h) and the names tcpfleet uses for them.
 *
 * The names are the lowercase `ss` state names with underscores; they are JSON keys of every
 * state object, so they never change.
 */
export const TCP_STATES = [
  'established', // 1  TCP_ESTABLISHED
  'syn_sent', //    2  TCP_SYN_SENT
  'syn_recv', //    3  TCP_SYN_RECV
  'fin_wait1', //   4  TCP_FIN_WAIT1
  'fin_wait2', //   5  TCP_FIN_WAIT2
  'time_wait', //   6  TCP_TIME_WAIT
  'close', //       7  TCP_CLOSE
  'close_wait', //  8  TCP_CLOSE_WAIT
  'last_ack', //    9  TCP_LAST_ACK
  'listen', //      10 TCP_LISTEN
  'closing', //     11 TCP_CLOSING
  'new_syn_recv', // 12 TCP_NEW_SYN_RECV
] as const;

/** One of the twelve state names. */
export type TcpStateName = (typeof TCP_STATES)[number];

/** Counts of sockets by state: every key present, zeros included. */
export type StateCounts = Record<TcpStateName, number>;

/** The kernel's number for a state name (1..12). */
export function stateNumber(name: TcpStateName): number {
  return TCP_STATES.indexOf(name) + 1;
}

/** True when `name` is one of the twelve state names. */
export function isStateName(name: string): name is TcpStateName {
  return (TCP_STATES as readonly string[]).includes(name);
}

/** A state object with every count zero. */
export function emptyStates(): StateCounts {
  const out = {} as StateCounts;
  for (const s of TCP_STATES) out[s] = 0;
  return out;
}

/**
 * Turns a counts array indexed by kernel state number (index 0 unused) into a state object.
 */
export function statesFromArray(counts: ArrayLike<number>): StateCounts {
  const out = {} as StateCounts;
  for (let i = 0; i < TCP_STATES.length; i++) out[TCP_STATES[i] as TcpStateName] = counts[i + 1] ?? 0;
  return out;
}

/** Adds `b` into `a` in place and returns `a`. */
export function addStates(a: StateCounts, b: Readonly<StateCounts>): StateCounts {
  for (const s of TCP_STATES) a[s] += b[s];
  return a;
}

/** Sum of every state. */
export function totalOfStates(s: Readonly<StateCounts>): number {
  let n = 0;
  for (const k of TCP_STATES) n += s[k];
  return n;
}
