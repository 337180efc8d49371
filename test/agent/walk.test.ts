/** The walk's one-line errors name the file that could not be read. */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { walkTcp } from '../../packages/agent/src/sampler.js';
import { FIXTURE_PROC } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const tmp = tempDir('walk');
afterAll(() => tmp.cleanup());

describe('walk errors', () => {
  it('a directory where net/tcp should be: the walk fails, naming the path and the reason', () => {
    const root = join(tmp.dir, 'dir4');
    cpSync(FIXTURE_PROC, root, { recursive: true });
    rmSync(join(root, 'net/tcp'));
    mkdirSync(join(root, 'net/tcp'));
    const w = walkTcp(root, 10);
    expect(w.failed).toBe(true);
    expect(w.errors).toEqual([`cannot read ${join(root, 'net/tcp')}: EISDIR: illegal operation on a directory, read`]);
    // tcp6 is still read.
    expect(w.ipv6).toEqual(walkTcp(FIXTURE_PROC, 10).ipv6);
  });
});
