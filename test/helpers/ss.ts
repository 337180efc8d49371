/** What iproute2's ss says, the reference every count is checked against. */
import { TCP_STATES } from '@tcpfleet/common';
import type { StateCounts, SsSummary } from '@tcpfleet/common';
import { nsExec } from './netns.js';

/** ss's filter name of each state (new_syn_recv has none: ss shows request sockets as syn-recv). */
export const SS_STATE: Record<string, string | null> = {
  established: 'established',
  syn_sent: 'syn-sent',
  syn_recv: 'syn-recv',
  fin_wait1: 'fin-wait-1',
  fin_wait2: 'fin-wait-2',
  time_wait: 'time-wait',
  close: 'closed',
  close_wait: 'close-wait',
  last_ack: 'last-ack',
  listen: 'listening',
  closing: 'closing',
  new_syn_recv: null,
};

/** Counts of `ss -tan [-4|-6] state X` per state, in a namespace. */
export function ssStates(ns: string, family: '' | '-4' | '-6' = ''): StateCounts {
  const out = {} as StateCounts;
  for (const s of TCP_STATES) {
    const name = SS_STATE[s];
    if (name === null || name === undefined) {
      out[s] = 0;
      continue;
    }
    const args = ['-tanH', ...(family === '' ? [] : [family]), 'state', name];
    out[s] = nsExec(ns, 'ss', args)
      .split('\n')
      .filter((l) => l.trim() !== '').length;
  }
  return out;
}

/** Parses the TCP line of `ss -s` (iproute2 6.x). */
export function parseSsSummary(text: string): SsSummary {
  const m = /^TCP:\s+(\d+) \(estab (\d+), closed (-?\d+), orphaned (\d+), (?:synrecv \d+, )?timewait (\d+)(?:\/\d+)?\)/m.exec(text);
  if (m === null) throw new Error(`no TCP line in ss -s output: ${text}`);
  return { total: Number(m[1]), estab: Number(m[2]), closed: Number(m[3]), orphaned: Number(m[4]), timewait: Number(m[5]) };
}

/** `ss -s`'s TCP line in a namespace. */
export function ssSummary(ns: string): SsSummary {
  return parseSsSummary(nsExec(ns, 'ss', ['-s']));
}

/** ss's name of each state in the State column of `ss -tan` (ss.c sstate_name). */
const SS_COLUMN: Record<string, string> = {
  ESTAB: 'established',
  'SYN-SENT': 'syn_sent',
  'SYN-RECV': 'syn_recv',
  'FIN-WAIT-1': 'fin_wait1',
  'FIN-WAIT-2': 'fin_wait2',
  'TIME-WAIT': 'time_wait',
  UNCONN: 'close',
  'CLOSE-WAIT': 'close_wait',
  'LAST-ACK': 'last_ack',
  LISTEN: 'listen',
  CLOSING: 'closing',
};

/**
 * The same counts as ssStates from one `ss -tanH [-4|-6]` call, by its State column: one process
 * instead of twelve, for tests that compare many namespaces (ssStates stays the reference; a
 * test checks the two agree).
 */
export function ssCounts(ns: string, family: '' | '-4' | '-6' = ''): StateCounts {
  const out = {} as StateCounts;
  for (const s of TCP_STATES) out[s] = 0;
  for (const line of nsExec(ns, 'ss', ['-tanH', ...(family === '' ? [] : [family])]).split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    if (name === '') continue;
    const s = SS_COLUMN[name];
    if (s === undefined) throw new Error(`ss state column: unknown "${name}"`);
    out[s as keyof StateCounts]++;
  }
  return out;
}
