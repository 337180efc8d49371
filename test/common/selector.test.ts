/**
 * The label selector parser (packages/common/src/model/selector.ts) against a golden file:
 * test/golden/selector/cases.jsonl holds, one JSON object a line, a selector and either its
 * canonical form and the hosts it matches out of six label sets (a..f below), or the one-line
 * error naming the position. Each case was checked by hand against the Kubernetes semantics
 * (k8s.io/apimachinery labels.Parse): `!=` and `notin` match hosts lacking the key, a value left
 * out is the empty value, whitespace between tokens is ignored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SELECTOR_MAX_LENGTH, SNAPSHOT_LIMITS, SelectorError, TcpfleetError, optionalSelector, parseGroupLabel, parseSelector, parseTopBy } from '../../packages/common/src/index.js';
import { REPO } from '../helpers/fixtures.js';

/** The label sets the golden `matches` column names by letter. */
const HOSTS: Record<string, Record<string, string>> = {
  a: { env: 'prod', role: 'web', zone: 'a' },
  b: { env: 'prod', role: 'db', zone: 'b' },
  c: { env: 'staging', role: 'web' },
  d: { role: 'web', zone: 'a' },
  e: {},
  f: { env: '', role: 'cache' },
};

interface Case {
  selector: string;
  canonical?: string;
  matches?: string;
  error?: string;
}
const GOLDEN = join(REPO, 'test/golden/selector/cases.jsonl');
const cases: Case[] = readFileSync(GOLDEN, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Case);

function outcome(text: string): Case {
  try {
    const sel = parseSelector(text);
    const matches = Object.entries(HOSTS)
      .filter(([, l]) => sel.matches(l))
      .map(([h]) => h)
      .join('');
    return { selector: text, canonical: sel.toString(), matches };
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    return { selector: text, error: err.message };
  }
}

describe('label selectors: the golden cases', () => {
  it('cover every operator, valid and invalid', () => {
    const valid = cases.filter((c) => c.error === undefined).map((c) => c.canonical ?? '');
    for (const op of ['=', '!=', ' in (', ' notin ('])
      expect(
        valid.some((c) => c.includes(op)),
        op,
      ).toBe(true);
    expect(valid.some((c) => c.startsWith('!'))).toBe(true);
    expect(valid.some((c) => /^[a-z]+$/.test(c))).toBe(true);
    expect(cases.filter((c) => c.error !== undefined).length).toBeGreaterThan(20);
  });

  it.each(cases.map((c) => [c.selector, c] as const))('%j', (text, want) => {
    expect(outcome(text)).toEqual(want);
  });

  it('the canonical form parses back to the same selector', () => {
    for (const c of cases) {
      if (c.canonical === undefined) continue;
      expect(outcome(c.canonical), c.selector).toEqual({ ...c, selector: c.canonical });
    }
  });
});

describe('label selectors: limits and errors', () => {
  const k = SNAPSHOT_LIMITS.labelKeyLength;
  const v = SNAPSHOT_LIMITS.labelValueLength;
  it('keys and values up to the label limits, not beyond', () => {
    expect(parseSelector(`${'k'.repeat(k)}=${'v'.repeat(v)}`).requirements).toHaveLength(1);
    expect(() => parseSelector(`${'k'.repeat(k + 1)}=v`)).toThrow(`selector: position 1: a label key has at most ${k} characters, this one ${k + 1}`);
    expect(() => parseSelector(`role in (a,${'v'.repeat(v + 1)})`)).toThrow(`selector: position 12: a label value has at most ${v} characters, this one ${v + 1}`);
  });

  it(`a selector of at most ${SELECTOR_MAX_LENGTH} characters`, () => {
    const at = `k in (${'x,'.repeat((SELECTOR_MAX_LENGTH - 8) / 2)}x)`;
    expect(at.length).toBe(SELECTOR_MAX_LENGTH);
    expect(parseSelector(at).requirements[0]?.values).toEqual(['x']);
    expect(() => parseSelector(`${at} `)).toThrow(`selector: position ${SELECTOR_MAX_LENGTH + 1}: a selector has at most ${SELECTOR_MAX_LENGTH} characters, this one ${SELECTOR_MAX_LENGTH + 1}`);
  });

  it('errors are usage errors on one line', () => {
    for (const c of cases.filter((x) => x.error !== undefined)) {
      try {
        parseSelector(c.selector);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(TcpfleetError);
        expect((err as TcpfleetError).code).toBe('TCPFLEET_ERR_USAGE');
        expect((err as Error).message).not.toContain('\n');
        expect((err as Error).message).toMatch(/^selector: position \d+: /);
      }
    }
  });

  it('optionalSelector: absent or empty is every host (null)', () => {
    expect(optionalSelector(null)).toBeNull();
    expect(optionalSelector(undefined)).toBeNull();
    expect(optionalSelector('  ')).toBeNull();
    expect(optionalSelector('env')?.toString()).toBe('env');
  });

  it('a key named like an Object prototype property is a label like any other', () => {
    const s = parseSelector('constructor,__proto__!=x');
    expect(s.matches({})).toBe(false);
    expect(s.matches(JSON.parse('{"constructor":"a","__proto__":"y"}') as Record<string, string>)).toBe(true);
  });
});

describe('--by values', () => {
  it('total --by LABEL', () => {
    expect(parseGroupLabel('role')).toBe('role');
    expect(() => parseGroupLabel('role-x')).toThrow('--by "role-x" is not a label name (an identifier of at most 64 characters)');
    expect(() => parseGroupLabel('')).toThrow('is not a label name');
  });
  it('top --by host|port|peer|container|label:LABEL', () => {
    expect(parseTopBy('host')).toEqual({ kind: 'host' });
    expect(parseTopBy('container')).toEqual({ kind: 'container' });
    expect(parseTopBy('peer')).toEqual({ kind: 'peer' });
    expect(parseTopBy('label:zone')).toEqual({ kind: 'label', label: 'zone' });
    expect(() => parseTopBy('label:')).toThrow('--by label: "" is not a label name');
    expect(() => parseTopBy('zone')).toThrow('--by must be host, port, peer, container or label:LABEL, got "zone"');
  });
});
