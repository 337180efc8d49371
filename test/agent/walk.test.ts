/**
 * The two ways the agent reads net/tcp and net/tcp6: synchronously into one buffer (--once) and
 * double-buffered on the thread pool (the daemon). Both must give the same walk for the fixture
 * tree, for a large generated file read in small chunks, for a missing tcp6, a missing tcp and a
 * directory where a file should be; and the async reader must not leak descriptors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { streamProcFile, streamProcFileAsync } from '@tcpfleet/common';
import { walkTcp, walkTcpAsync } from '../../packages/agent/src/sampler.js';
import { FIXTURE_PROC } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const tmp = tempDir('walk');
afterAll(() => tmp.cleanup());

function tree(name: string, files: Record<string, string | null>): string {
  const root = join(tmp.dir, name);
  cpSync(FIXTURE_PROC, root, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    rmSync(join(root, rel), { recursive: true, force: true });
    if (text === 'DIR') mkdirSync(join(root, rel));
    else if (text !== null) writeFileSync(join(root, rel), text);
  }
  return root;
}

/** A net/tcp with n sockets in a mix of states and ports (about 150 bytes a line). */
function bigTcp(n: number): string {
  const head = readFileSync(join(FIXTURE_PROC, 'net/tcp'), 'latin1').split('\n')[0]!;
  const lines = [head];
  for (let i = 0; i < n; i++) {
    const st = ['01', '06', '0A', '08'][i % 4]!;
    const lport = (1000 + (i % 50)).toString(16).toUpperCase().padStart(4, '0');
    const rport = (40000 + (i % 9000)).toString(16).toUpperCase().padStart(4, '0');
    lines.push(`${String(i).padStart(4)}: 0100007F:${lport} 0200007F:${rport} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${100000 + i} 1 0000000000000000 20 4 30 10 -1`);
  }
  return lines.join('\n') + '\n';
}

const fds = (): number => readdirSync('/proc/self/fd').length;

describe('walk: sync and double-buffered async give the same result', () => {
  it.each([
    ['the fixture tree', (): string => FIXTURE_PROC],
    ['20,000 sockets', (): string => tree('big', { 'net/tcp': bigTcp(20_000) })],
    ['no tcp6 (IPv6 off)', (): string => tree('no6', { 'net/tcp6': null })],
    ['no tcp', (): string => tree('no4', { 'net/tcp': null })],
    ['a directory where net/tcp should be', (): string => tree('dir4', { 'net/tcp': 'DIR' })],
  ])('%s', async (_what, root) => {
    const r = root();
    const before = fds();
    const sync = walkTcp(r, 10);
    const async = await walkTcpAsync(r, 10);
    expect(async).toEqual(sync);
    expect(fds()).toBe(before);
  });

  it('reads every byte once, in order, whatever the chunk size, and closes the file', async () => {
    const root = tree('chunks', { 'net/tcp': bigTcp(5_000) });
    const want = readFileSync(join(root, 'net/tcp'));
    const before = fds();
    for (const size of [1, 7, 150, 4096, 1 << 20]) {
      const got: Buffer[] = [];
      const n = await streamProcFileAsync(root, 'net/tcp', (c) => got.push(Buffer.from(c)), [Buffer.alloc(size), Buffer.alloc(size)]);
      expect(n).toBe(want.length);
      expect(Buffer.concat(got).equals(want)).toBe(true);
      const sync: Buffer[] = [];
      streamProcFile(root, 'net/tcp', (c) => sync.push(Buffer.from(c)), Buffer.alloc(size));
      expect(Buffer.concat(sync).equals(want)).toBe(true);
    }
    expect(await streamProcFileAsync(root, 'net/nothing-here', () => {})).toBeNull();
    // A callback that throws: the error reaches the caller and the descriptor is still closed.
    await expect(streamProcFileAsync(root, 'net/tcp', () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    await new Promise((r) => setTimeout(r, 50));
    expect(fds()).toBe(before);
  });
});
