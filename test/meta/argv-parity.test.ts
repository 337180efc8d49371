/**
 * Each binary's two command-line parsers (the fast path and yargs, both derived from one option
 * table) give the same parsed settings for the same command line.
 */
import { describe, expect, it } from 'vitest';
import { fastAgentArgs } from '../../packages/agent/src/fast-argv.js';
import { yargsAgentArgs } from '../../packages/agent/src/yargs-argv.js';

const usageError = (m: string): never => {
  throw new Error(`usage error: ${m}`);
};

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
