import { describe, expect, it } from 'vitest';
import { fastAgentArgs } from '../../packages/agent/src/fast-argv.js';
import { agentOnce } from '../helpers/procs.js';

describe('agent command line without yargs (fastAgentArgs)', () => {
  it('parses a plain daemon command line into the same flags main.ts builds from yargs', () => {
    const r = fastAgentArgs([
      '--collector',
      'ws://10.0.0.5:7070',
      '--token-file=/etc/t',
      '--label',
      'env=prod',
      '--label',
      'dc=x',
      '--interval',
      '2.5',
      '--top',
      '0',
      '--walk-budget',
      '0.01',
      '--log-level',
      'warn',
    ]);
    expect(r).toEqual({
      once: false,
      json: false,
      flags: { collector: 'ws://10.0.0.5:7070', tokenFile: '/etc/t', label: ['env=prod', 'dc=x'], interval: 2.5, top: 0, walkBudget: 0.01, logLevel: 'warn' },
    });
    expect(fastAgentArgs(['--once', '--json', '--procfs', '/proc/1'])).toEqual({ once: true, json: true, flags: { procfs: '/proc/1' } });
    expect(fastAgentArgs([])).toEqual({ once: false, json: false, flags: {} });
    expect(fastAgentArgs(['--once', '--namespaces', '--max-namespaces', '64', '--kube-log-dir', '/k', '--docker-dir=/d'])).toEqual({
      once: true,
      json: false,
      flags: { namespaces: true, maxNamespaces: 64, kubeLogDir: '/k', dockerDir: '/d' },
    });
  });

  it.each([
    ['--help'],
    ['--version'],
    ['--once', '--bogus'],
    ['--interval', '1', '--interval', '2'],
    ['--once', '--once'],
    ['--once=true'],
    ['--namespaces=true'],
    ['--namespaces', '--namespaces'],
    ['--interval', 'abc'],
    ['--interval', '1e3'],
    ['--interval', '010'],
    ['--interval', '-1'],
    ['--collector'],
    ['--collector', ''],
    ['--label', 'a=b', 'c=d'],
    ['positional'],
    ['-h'],
  ])('leaves %j to yargs', (...args) => {
    expect(fastAgentArgs(args)).toBeNull();
  });

  it('the real agent still answers --help, a bad number and an unknown flag through yargs', () => {
    const help = agentOnce(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--walk-budget/);
    expect(help.stdout).toMatch(/--namespaces/);
    expect(help.stdout).toMatch(/--max-namespaces/);
    const bad = agentOnce(['--once', '--interval', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const unknown = agentOnce(['--once', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/bogus/);
  });
});
