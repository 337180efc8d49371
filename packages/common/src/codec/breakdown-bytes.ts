/**
 * The binary form of a snapshot's breakdown (top listening ports and remote peers by state), as
 * the binary batch frame carries it and the collector keeps it in the `latest` table:
 *
 *   u(inbound count)  then per entry: u(port), 12 x u(count) in TCP_STATES order
 *   u(outbound count) then per entry: text(addr), u(port), 12 x u(count)
 *   12 x u(count) other.inbound, 12 x u(count) other.outbound
 *
 * u = unsigned varint, text = u(byte length) + ASCII bytes.
 */
import { TCP_STATES } from '../model/tcp-state.js';
import type { StateCounts } from '../model/tcp-state.js';
import { SNAPSHOT_LIMITS } from '../model/limits.js';
import type { Breakdown, InboundEntry, OutboundEntry } from '../proc/breakdown.js';
import type { VarintWriter } from './varint.js';
import { WireReader } from './wire-reader.js';

const N_STATES = TCP_STATES.length;

function putStates(w: VarintWriter, s: StateCounts): void {
  for (const st of TCP_STATES) w.putU(s[st]);
}

/** Appends the breakdown's bytes. */
export function encodeBreakdown(w: VarintWriter, b: Breakdown): void {
  w.putU(b.inbound.length);
  for (const e of b.inbound) {
    w.putU(e.port);
    putStates(w, e.states);
  }
  w.putU(b.outbound.length);
  for (const e of b.outbound) {
    w.putText(e.addr);
    w.putU(e.port);
    putStates(w, e.states);
  }
  putStates(w, b.other.inbound);
  putStates(w, b.other.outbound);
}

/** An address of the breakdown: hex digits, ':' and '.'. */
const addrByte = (c: number): boolean => (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46;

/** Checks the breakdown bytes from r.pos to r.end without building objects or strings; fails naming the field. */
export function checkBreakdown(r: WireReader): void {
  const max = SNAPSHOT_LIMITS.breakdownEntries;
  const nIn = r.u('breakdown.inbound count', max);
  for (let i = 0; i < nIn; i++) {
    r.u('breakdown.inbound port', 65535);
    for (let k = 0; k < N_STATES; k++) r.u('breakdown.inbound states');
  }
  const nOut = r.u('breakdown.outbound count', max);
  for (let i = 0; i < nOut; i++) {
    r.checkAscii('breakdown.outbound addr', 1, 45, addrByte, 'hex digits, ":" and "." only');
    r.u('breakdown.outbound port', 65535);
    for (let k = 0; k < N_STATES; k++) r.u('breakdown.outbound states');
  }
  for (let k = 0; k < 2 * N_STATES; k++) r.u('breakdown.other states');
  r.expectEnd('breakdown');
}

function readStates(r: WireReader): StateCounts {
  const s = {} as StateCounts;
  for (const st of TCP_STATES) s[st] = r.u('breakdown states');
  return s;
}

/** Builds the breakdown object from its bytes (checked as checkBreakdown does). */
export function decodeBreakdown(bytes: Uint8Array): Breakdown {
  const r = new WireReader(bytes);
  const max = SNAPSHOT_LIMITS.breakdownEntries;
  const inbound: InboundEntry[] = [];
  const nIn = r.u('breakdown.inbound count', max);
  for (let i = 0; i < nIn; i++) {
    const port = r.u('breakdown.inbound port', 65535);
    inbound.push({ port, states: readStates(r) });
  }
  const outbound: OutboundEntry[] = [];
  const nOut = r.u('breakdown.outbound count', max);
  for (let i = 0; i < nOut; i++) {
    const addr = r.ascii('breakdown.outbound addr', 1, 45, addrByte, 'hex digits, ":" and "." only');
    const port = r.u('breakdown.outbound port', 65535);
    outbound.push({ addr, port, states: readStates(r) });
  }
  const other = { inbound: readStates(r), outbound: readStates(r) };
  r.expectEnd('breakdown');
  return { inbound, outbound, other };
}
