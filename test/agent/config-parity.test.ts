/**
 * The agent checks its configuration by hand (packages/agent/src/config.ts; the agent loads no
 * zod). REFERENCE below is the zod schema it replaced, kept here as the specification: for every
 * input, listed or generated, both must give the same problems in the same order and words
 * (worded here "<where>: <key>: <problem>", unknown keys last; the user reads each after the
 * setting's source, docs/cli.md "Bad settings") or the same settings, defaults filled in.
 */
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import * as z from 'zod';
import { BREAKDOWN_MAX_TOP, ConfigError, HostIdSchema, LabelsSchema, configProblems, validateConfig } from '@tcpfleet/common';
import type { Issue } from '@tcpfleet/common/agent';
import { checkAgentSettings } from '../../packages/agent/src/config.js';
import { randomString, randomValue, rng } from '../helpers/parity.js';

const REFERENCE = z.strictObject({
  collector: z
    .union([z.string(), z.array(z.string())], { error: 'Invalid input: expected a ws:// URL, several separated by commas, or an array of them' })
    .transform((v, ctx) => {
      const urls = typeof v === 'string' ? v.split(',').map((u) => u.trim()) : v;
      if (urls.length > 16) {
        ctx.addIssue({ code: 'custom', message: `at most 16 collectors (got ${urls.length})` });
        return urls;
      }
      const seen = new Set<string>();
      urls.forEach((u, i) => {
        const path = typeof v === 'string' ? [] : [i];
        const which = typeof v !== 'string' ? `${JSON.stringify(u)}: ` : urls.length > 1 ? `collector ${i + 1} of ${urls.length}, ${JSON.stringify(u)}: ` : '';
        const url = 'a ws:// or wss:// URL such as ws://collector:7070';
        if (!/^wss?:\/\/[^\s/]+(\/\S*)?$/.test(u)) ctx.addIssue({ code: 'custom', path, message: which === '' ? url : `${which}not ${url}` });
        else if (seen.has(u)) ctx.addIssue({ code: 'custom', path, message: `${which === '' ? `${JSON.stringify(u)}: ` : which}listed twice` });
        seen.add(u);
      });
      return urls;
    })
    .optional(),
  token: z.string().min(1).max(4096).optional(),
  tokenFile: z.string().min(1).optional(),
  hostId: HostIdSchema.default(hostname()),
  labels: LabelsSchema.default({}),
  interval: z.number().min(0.1, 'at least 0.1 seconds').max(86400).default(10),
  procfs: z.string().min(1).default('/proc'),
  top: z.number().int().min(0).max(BREAKDOWN_MAX_TOP, `at most ${BREAKDOWN_MAX_TOP}`).default(10),
  queue: z.number().int().min(1).max(1_000_000).default(1000),
  spoolDir: z.string().min(1).optional(),
  spoolBytes: z
    .number()
    .int()
    .min(4096)
    .default(64 * 1024 * 1024),
  ca: z.string().min(1).optional(),
  walkBudget: z.number().min(0).max(1).default(0.01),
  namespaces: z.boolean().default(false),
  maxNamespaces: z.number().int().min(1).max(4096).default(512),
  walkSource: z.enum(['auto', 'netlink', 'proc']).default('auto'),
  kubeLogDir: z.string().min(1).default('/var/log/containers'),
  dockerDir: z.string().min(1).default('/var/lib/docker'),
  reconnectMin: z.number().min(0.01).default(0.5),
  reconnectMax: z.number().min(0.05).default(30),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Result = { ok: true; value: unknown } | { ok: false; problems: readonly string[] };
function outcome(fn: () => unknown): Result {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.problems };
    throw err;
  }
}
/** The hand-written checks with their problems worded as validateConfig words zod's. */
function validateAgentSettings(value: unknown, where: string): unknown {
  const issues: Issue[] = [];
  const cfg = checkAgentSettings(value, [], issues);
  if (issues.length > 0) throw new ConfigError(configProblems(issues, where));
  return cfg;
}
const both = (v: unknown): [Result, Result] => [outcome(() => validateAgentSettings(v, 'c.json')), outcome(() => validateConfig(REFERENCE, v, 'c.json'))];

const KEYS = Object.keys(REFERENCE.shape);
const CASES: unknown[] = [
  {},
  { interval: 'fast' },
  { interval: 0 },
  { interval: 0.1 },
  { interval: 86400 },
  { interval: 86400.5 },
  { interval: NaN },
  { interval: Infinity },
  { interval: null },
  { interval: true },
  { interval: [] },
  { interval: {} },
  { top: 1.5 },
  { top: -1 },
  { top: -1.5 },
  { top: 500 },
  { top: 0 },
  { top: 100 },
  { top: 1e20 },
  { top: -1e20 },
  { top: -Infinity },
  { queue: 0 },
  { queue: 2e6 },
  { queue: 1e20 },
  { spoolBytes: 10 },
  { spoolBytes: 4096 },
  { walkBudget: 2 },
  { walkBudget: -1 },
  { walkBudget: 0 },
  { reconnectMin: 0 },
  { reconnectMax: 0.01 },
  { reconnectMin: 5, reconnectMax: 1 },
  { namespaces: true },
  { namespaces: 1 },
  { namespaces: 'yes' },
  { namespaces: null },
  { maxNamespaces: 0 },
  { maxNamespaces: 1 },
  { maxNamespaces: 65_537 },
  { maxNamespaces: 2.5 },
  { walkSource: 'netlink' },
  { walkSource: 'proc' },
  { walkSource: 'NETLINK' },
  { walkSource: 1 },
  { kubeLogDir: '' },
  { kubeLogDir: 3 },
  { dockerDir: '' },
  { dockerDir: '/d' },
  { logLevel: 'loud' },
  { logLevel: 3 },
  { logLevel: null },
  { logLevel: 'debug' },
  { logLevel: 'INFO' },
  { collector: 'http://x' },
  { collector: 5 },
  { collector: 'ws://x' },
  { collector: 'wss://c:7070/path?q=1' },
  { collector: 'ws:///x' },
  { collector: 'ws://x y' },
  { collector: 'ws://x\n' },
  { collector: '' },
  { collector: 'ws://a:1,ws://b:2' },
  { collector: 'ws://a:1, ws://b:2 ' },
  { collector: 'ws://a:1,http://b:2' },
  { collector: 'ws://a:1,ws://a:1' },
  { collector: 'ws://a:1,' },
  { collector: ',' },
  { collector: ['ws://a:1', 'wss://b:2/p'] },
  { collector: ['ws://a:1', 'http://b:2'] },
  { collector: ['ws://a:1', 'ws://a:1'] },
  { collector: ['ws://a:1', 5] },
  { collector: [] },
  { collector: {} },
  { collector: Array.from({ length: 17 }, (_, i) => `ws://c${i}:1`) },
  { collector: Array.from({ length: 16 }, (_, i) => `ws://c${i}:1`).join(',') },
  { token: '' },
  { token: 'x'.repeat(4096) },
  { token: 'x'.repeat(4097) },
  { token: '😀'.repeat(4000) },
  { tokenFile: '' },
  { procfs: '' },
  { ca: '' },
  { spoolDir: 3 },
  { spoolDir: [] },
  { token: ['a'] },
  { hostId: '' },
  { hostId: 'a b' },
  { hostId: 'x'.repeat(300) },
  { hostId: ' '.repeat(300) },
  { hostId: 7 },
  { hostId: null },
  { hostId: [] },
  { hostId: {} },
  { hostId: 'db-1' },
  { labels: { env: 7 } },
  { labels: { '1a': 'x' } },
  { labels: { a: 'v\n' } },
  { labels: { a: 'v'.repeat(300) } },
  { labels: [] },
  { labels: 'a=b' },
  { labels: null },
  { labels: { env: 'prod' } },
  { a: 1 },
  { a: 1, b: 2, interval: 0 },
  { interval: 0, zz: 1, top: 500 },
  { top: 3.5, interval: 'x', hostId: 'a b', labels: { x: 1 }, y: 2 },
  { hostId: 'a b', collector: 5 },
  [],
  null,
  'str',
  5,
  undefined,
  {
    interval: 5,
    top: 3,
    queue: 10,
    logLevel: 'debug',
    walkBudget: 0.5,
    reconnectMin: 1,
    reconnectMax: 2,
    collector: 'ws://c:1',
    token: 't',
    spoolDir: '/x',
    ca: '/c',
    procfs: '/p',
    spoolBytes: 4096,
    tokenFile: '/t',
  },
];

describe('agent config: hand-written check and the zod schema it replaced agree', () => {
  it.each(CASES.map((v, i) => [`${i}: ${JSON.stringify(v)?.slice(0, 60) ?? String(v)}`, v]))('%s', (_name, v) => {
    const [hand, zod] = both(v);
    expect(hand).toEqual(zod);
  });

  it('on 3,000 generated configs (known keys with values of every type, and unknown keys)', () => {
    const r = rng(3);
    for (let i = 0; i < 3000; i++) {
      const o: Record<string, unknown> = {};
      for (let k = Math.floor(r() * 5); k > 0; k--) {
        const key = r() < 0.9 ? (KEYS[Math.floor(r() * KEYS.length)] ?? 'top') : randomString(r, [2, 4]);
        o[key] = r() < 0.5 ? randomValue(r, [0, 1, 8, 253, 4096]) : randomString(r, [0, 1, 8]);
      }
      const [hand, zod] = both(o);
      expect(hand, JSON.stringify(o)).toEqual(zod);
    }
  });

  it('fills in every default and keeps the key order of the schema', () => {
    const s = checkAgentSettings({ top: 3 }, [], []);
    expect(Object.keys(s)).toEqual([
      'hostId',
      'labels',
      'interval',
      'procfs',
      'top',
      'queue',
      'spoolBytes',
      'walkBudget',
      'namespaces',
      'maxNamespaces',
      'walkSource',
      'kubeLogDir',
      'dockerDir',
      'reconnectMin',
      'reconnectMax',
      'logLevel',
    ]);
    expect(s).toMatchObject({
      hostId: hostname(),
      labels: {},
      interval: 10,
      procfs: '/proc',
      top: 3,
      queue: 1000,
      spoolBytes: 64 * 1024 * 1024,
      walkBudget: 0.01,
      namespaces: false,
      maxNamespaces: 512,
      walkSource: 'auto',
      kubeLogDir: '/var/log/containers',
      dockerDir: '/var/lib/docker',
      reconnectMin: 0.5,
      reconnectMax: 30,
      logLevel: 'info',
    });
  });
});
