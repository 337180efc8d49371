/**
 * Each binary's two command-line parsers (the fast path and yargs, both derived from one option
 * table) give the same parsed settings for the same command line.
 */
import { describe, expect, it } from 'vitest';
import { fastAgentArgs } from '../../packages/agent/src/fast-argv.js';
import { yargsAgentArgs } from '../../packages/agent/src/yargs-argv.js';
import { AGENT_OPTIONS } from '../../packages/agent/src/options.js';
import { configFromEnv } from '../../packages/agent/src/config.js';
import { fastQueryArgs } from '../../packages/collector/src/cli/fast-path.js';
import { QUERY_OPTIONS, queryArgsFrom, queryYargsOptions } from '../../packages/collector/src/cli/query-options.js';
import type { QueryArgs, QueryCommand } from '../../packages/collector/src/cli/query-options.js';

const usageError = (m: string): never => {
  throw new Error(`usage error: ${m}`);
};

/** A query command line through yargs with the options main.ts gives it (the table's), as main.ts reads the result. */
async function yargsQueryArgs(argv: readonly string[]): Promise<QueryArgs> {
  const { default: yargs } = await import('yargs');
  const cmd = argv[0] as QueryCommand;
  const a = await yargs(argv.slice(1))
    .options(queryYargsOptions(cmd))
    .positional('id', { type: 'string' })
    .strict(false)
    .fail((m) => usageError(m))
    .parseAsync();
  const positional = a._.map(String);
  return queryArgsFrom(cmd, QUERY_OPTIONS[cmd].positional ? positional[0] : undefined, (n) => a[n]);
}

describe('tcpfleet query commands: fast path and yargs agree', () => {
  it.each([
    [['hosts']],
    [['hosts', '--json', '--url=http://127.0.0.1:9']],
    [['total']],
    [['total', '--state', 'time_wait', '--url', 'http://x:1', '--read-token', 't']],
    [['host', 'web-7', '--read-token-file', '/r']],
    [['history', 'web-7']],
    [['history', 'web-7', '--since', '6h', '--json', '--limit', '50', '--state', 'listen']],
    [['top']],
    [['top', '--limit=5', '--by', 'port', '--state', 'close_wait']],
    [['hosts', '-l', 'env=prod,role in (web,db)', '--limit', '50', '--offset=100', '--compact', '--json']],
    [['total', '--selector', '!canary', '--by', 'zone', '--state', 'listen']],
    [['top', '--by', 'label:role', '-l', 'zone notin (a)']],
  ])('%j', async (argv: string[]) => {
    const fast = fastQueryArgs(argv);
    expect(fast, 'the fast path takes it').not.toBeNull();
    expect(fast?.cmd).toBe(argv[0]);
    expect(await yargsQueryArgs(argv)).toEqual(fast?.args);
  });

  it('defaults come from the table (top: established, 10, host; history: 1h)', () => {
    expect(fastQueryArgs(['top'])?.args.values).toMatchObject({ state: 'established', limit: 10, by: 'host', json: false });
    expect(fastQueryArgs(['history', 'h'])?.args.values).toMatchObject({ since: '1h', limit: 100_000, state: undefined });
    expect(fastQueryArgs(['hosts'])?.args.values).toMatchObject({ selector: undefined, limit: undefined, offset: 0, compact: false });
  });

  it('-l is --selector; an unknown short flag is left to yargs', () => {
    expect(fastQueryArgs(['hosts', '-l', 'env=prod'])?.args.values['selector']).toBe('env=prod');
    expect(fastQueryArgs(['hosts', '-x', 'env=prod'])).toBeNull();
    expect(fastQueryArgs(['host', 'h', '-l', 'env=prod'])).toBeNull();
  });
});

describe('tcpfleet-agent: fast path and yargs agree', () => {
  it.each([
    [[]],
    [['--once']],
    [['--once', '--json', '--procfs', '/proc/1']],
    [['--collector', 'ws://10.0.0.5:7070', '--token-file=/etc/t', '--label', 'env=prod', '--label', 'dc=x', '--interval', '2.5', '--top', '0', '--walk-budget', '0.01', '--log-level', 'warn']],
    [['--once', '--namespaces', '--max-namespaces', '64', '--kube-log-dir', '/k', '--docker-dir=/d']],
    [['--token', 'abc', '--host-id', 'web-7', '--queue', '50', '--spool-dir', '/s', '--spool-bytes', '8192', '--ca', '/ca.pem']],
    [['--reconnect-min', '0.1', '--reconnect-max', '1', '--config', '/etc/a.json']],
  ])('%j', async (args: string[]) => {
    const fast = fastAgentArgs(args);
    expect(fast, 'the fast path takes it').not.toBeNull();
    expect(await yargsAgentArgs(args, 'test', usageError)).toEqual(fast);
  });
});

describe('tcpfleet-agent: the environment variable the option table names', () => {
  const sample = { string: '/x', number: '5', boolean: '1', strings: 'a=b' } as const;
  it.each(AGENT_OPTIONS.filter((o) => o.env !== undefined).map((o) => [o.name, o] as const))('--%s: is the one the config reads for the same setting', (_name, o) => {
    const variable = (o.env ?? '').split('=')[0] ?? '';
    const key = o.to === 'label' ? 'labels' : o.to;
    expect(Object.keys(configFromEnv({ [variable]: sample[o.type] }))).toEqual([key]);
  });
});
