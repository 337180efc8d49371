/**
 * The query commands' fast start (cli/fast-path.ts): plain invocations are dispatched without
 * yargs, anything else is left to yargs; and the real CLI answers the same either way.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fastQuery } from '../../packages/collector/src/cli/fast-path.js';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';

const t = tempDir('fastpath');
afterAll(() => {
  killAll();
  t.cleanup();
});

const D = 'http://127.0.0.1:7070';

describe('fastQuery', () => {
  it.each([
    [['total']],
    [['total', '--json']],
    [['total', '--state', 'time_wait', '--url', 'http://x:1']],
    [['top', '--limit=5', '--by', 'port']],
    [['history', 'web-7', '--since', '6h', '--json']],
    [['host', 'web-7']],
    [['hosts', '--url=http://127.0.0.1:9']],
  ])('takes %j', (argv) => {
    expect(fastQuery(argv, {}, D)).toBeTypeOf('function');
  });

  it.each([
    [[]],
    [['serve']],
    [['token', 'list']],
    [['db', 'stats']],
    [['total', '--help']],
    [['total', '-h']],
    [['--version']],
    [['total', '--bogus']],
    [['total', '--json', '--json']],
    [['total', '--state']],
    [['total', '--state', '--json']],
    [['total', '--json=false']],
    [['history']],
    [['history', 'a', 'b']],
    [['host', '--json']],
    [['top', '--limit', '-1']],
    [['hosts', 'extra']],
  ])('leaves %j to yargs', (argv) => {
    expect(fastQuery(argv, {}, D)).toBeNull();
  });
});

describe('the CLI with and without the fast path', () => {
  it('answers a query the same through both paths, and errors stay one line', async () => {
    const c = await startCollector(t.dir);
    const a = startAgent(c, t.dir, ['--host-id', 'fp-host']);
    await waitFor(() => cli(['hosts', '--json', '--url', c.url]).stdout.includes('fp-host'), 'agent stored');
    await stopProc(a);
    // Compare once the host is stale for good: a live host turning stale between the two calls
    // (three 0.5 s intervals; a yargs start takes over a second on a loaded machine) would differ.
    await waitFor(() => (JSON.parse(cli(['total', '--json', '--url', c.url]).stdout) as { stale: number }).stale === 1, 'the stopped host to be stale');
    // `--url=X` and `--json` take the fast path; `--json true` is yargs-only syntax.
    const fast = cli(['total', '--json', `--url=${c.url}`]);
    const slow = cli(['total', '--json', 'true', '--url', c.url]);
    expect(fast.code).toBe(0);
    expect(slow.code).toBe(0);
    const strip = (s: string): unknown => JSON.parse(s) as unknown;
    expect(strip(fast.stdout)).toEqual(strip(slow.stdout));
    const bad = cli(['top', '--limit', 'abc', '--url', c.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const unknown = cli(['total', '--bogus', '--url', c.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown argument: bogus/);
    await stopProc(c);
  });
});
