/**
 * The batch encoding is negotiated: a real agent process sends bin1 binary frames only to a
 * collector whose welcome offers "bin1", and JSON text frames to one that does not (an older
 * collector). The collector side here is a bare WebSocket server on loopback that records what
 * arrives and acknowledges it, so the agent's own choice is what is tested.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { Bin1Decoder, decodeAgentMessage } from '@tcpfleet/common';
import { startAgent, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { FIXTURE_PROC } from '../helpers/snapshots.js';

const tmp = tempDir('encoding');
const running: { agent: Proc; wss: WebSocketServer }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await stopProc(r.agent);
    await new Promise<void>((resolve) => r.wss.close(() => resolve()));
  }
});

/** A minimal collector: welcome (with `encodings` when given), then an ack for every batch. */
async function fakeCollector(encodings: string[] | undefined): Promise<{ url: string; wss: WebSocketServer; frames: { binary: boolean; seqs: number[] }[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const frames: { binary: boolean; seqs: number[] }[] = [];
  wss.on('connection', (ws) => {
    const bin = new Bin1Decoder();
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const b = bin.decode(data as Buffer, 'agent-under-test', {});
        frames.push({ binary: true, seqs: b.snapshots.map((s) => s.seq) });
        ws.send(JSON.stringify({ type: 'ack', id: b.id, stored: b.snapshots.length, duplicates: 0 }));
        return;
      }
      const m = decodeAgentMessage(data);
      if (m.type === 'hello') ws.send(JSON.stringify({ type: 'welcome', v: 1, host: m.host, heartbeat_ms: 15_000, max_batch: 64, ...(encodings === undefined ? {} : { encodings }) }));
      else if (m.type === 'batch') {
        frames.push({ binary: false, seqs: m.snapshots.map((s) => s.seq) });
        ws.send(JSON.stringify({ type: 'ack', id: m.id, stored: m.snapshots.length, duplicates: 0 }));
      }
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss, frames };
}

describe('batch encoding negotiation (real agent process)', () => {
  it.each([
    ['a collector offering bin1', ['json', 'bin1'], true],
    ['an older collector (no encodings in its welcome)', undefined, false],
    ['a collector offering only encodings the agent does not know', ['json', 'bin9'], false],
  ] as const)('%s', async (_what, encodings, binary) => {
    const c = await fakeCollector(encodings === undefined ? undefined : [...encodings]);
    const agent = startAgent({ wsUrl: c.url, token: 'any-token' }, tmp.dir, ['--procfs', FIXTURE_PROC, '--host-id', 'agent-under-test']);
    running.push({ agent, wss: c.wss });
    await waitFor(() => c.frames.length >= 3, 'three batches');
    expect(c.frames.every((f) => f.binary === binary)).toBe(true);
    // Snapshots keep coming in order, whatever the encoding.
    const seqs = c.frames.flatMap((f) => f.seqs);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});
