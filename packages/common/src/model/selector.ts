/**
 * Label selectors, in the Kubernetes syntax operators already know (docs/selectors.md):
 *
 *   k=v  k==v  k!=v  k in (a,b)  k notin (a,b)  k  !k      requirements joined by ',' (and)
 *
 * with the Kubernetes meaning: `k!=v` and `k notin (...)` also match hosts without k; `k=` (nothing
 * after =) selects the empty value, and so does a value left out of a set (`k in ()`, `(a,)`); the empty selector matches every host. Whitespace between tokens is ignored. A value is
 * a run of characters other than whitespace and , ( ) = ! < >, so values holding those cannot be
 * selected on. Keys follow the label key rule (identity.ts), values the label value rule, both
 * within the label limits (limits.ts); the whole selector within SELECTOR_MAX_LENGTH.
 *
 * A bad selector is one SelectorError (code TCPFLEET_ERR_USAGE) whose message names the
 * position, counted in characters from 1: `selector: position 7: expected ')' or ',', found "b"`.
 * Hand-written and zod-free: the CLI checks a selector before it asks the collector.
 */
import { TcpfleetError } from '../errors.js';
import { SNAPSHOT_LIMITS as L } from './limits.js';
import { LABEL_KEY_PATTERN, LABEL_VALUE_MESSAGE, LABEL_VALUE_PATTERN } from './identity.js';

/** Characters a selector may have at most. */
export const SELECTOR_MAX_LENGTH = 4096;

export type SelectorOp = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

/** One requirement; `values` is empty for exists and !. */
export interface Requirement {
  key: string;
  op: SelectorOp;
  values: readonly string[];
}

/** A bad selector; the message names the position (1-based). */
export class SelectorError extends TcpfleetError {
  override name = 'SelectorError';
  readonly position: number;
  constructor(position: number, detail: string) {
    super('TCPFLEET_ERR_USAGE', `selector: position ${position}: ${detail}`);
    this.position = position;
  }
}

/** A parsed selector: its requirements and the test of a host's labels. */
export class Selector {
  readonly requirements: readonly Requirement[];
  readonly #tests: readonly ((labels: Readonly<Record<string, string>>) => boolean)[];

  constructor(requirements: readonly Requirement[]) {
    this.requirements = requirements;
    this.#tests = requirements.map(compile);
  }

  /** True when the labels meet every requirement (always, for the empty selector). */
  matches(labels: Readonly<Record<string, string>>): boolean {
    for (const t of this.#tests) if (!t(labels)) return false;
    return true;
  }

  /** True for the empty selector. */
  get empty(): boolean {
    return this.requirements.length === 0;
  }

  /** The selector written back in canonical form (k=v, k!=v, k in (a,b), k, !k). */
  toString(): string {
    return this.requirements.map(requirementText).join(',');
  }
}

function requirementText(r: Requirement): string {
  switch (r.op) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case '=':
    case '!=':
      return `${r.key}${r.op}${r.values[0] ?? ''}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${r.values.join(',')})`;
  }
}

function compile(r: Requirement): (labels: Readonly<Record<string, string>>) => boolean {
  const k = r.key;
  const v = r.values[0] ?? '';
  const set = new Set(r.values);
  switch (r.op) {
    case 'exists':
      return (l) => Object.hasOwn(l, k);
    case '!':
      return (l) => !Object.hasOwn(l, k);
    case '=':
      return (l) => Object.hasOwn(l, k) && l[k] === v;
    case '!=':
      return (l) => !Object.hasOwn(l, k) || l[k] !== v;
    case 'in':
      return (l) => Object.hasOwn(l, k) && set.has(l[k]!);
    case 'notin':
      return (l) => !Object.hasOwn(l, k) || !set.has(l[k]!);
  }
}

type TokenKind = 'word' | '=' | '==' | '!=' | '!' | '(' | ')' | ',' | '<' | '>' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based position of its first character. */
  pos: number;
}

const SPACE = new Set([' ', '\t', '\r', '\n']);
const SPECIAL = new Set(['=', '!', '(', ')', ',', '<', '>']);

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (SPACE.has(c)) {
      i++;
      continue;
    }
    const pos = i + 1;
    if (c === '=' || c === '!') {
      if (s[i + 1] === '=') {
        out.push({ kind: c === '=' ? '==' : '!=', text: `${c}=`, pos });
        i += 2;
      } else {
        out.push({ kind: c, text: c, pos });
        i++;
      }
      continue;
    }
    if (SPECIAL.has(c)) {
      out.push({ kind: c as TokenKind, text: c, pos });
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !SPACE.has(s[j]!) && !SPECIAL.has(s[j]!)) j++;
    out.push({ kind: 'word', text: s.slice(i, j), pos });
    i = j;
  }
  out.push({ kind: 'end', text: '', pos: s.length + 1 });
  return out;
}

const found = (t: Token): string => (t.kind === 'end' ? 'found the end of the selector' : `found ${JSON.stringify(t.text.length > 40 ? `${t.text.slice(0, 40)}...` : t.text)}`);

/** Parses a selector; throws SelectorError naming the position of the first problem. */
export function parseSelector(text: string): Selector {
  if (text.length > SELECTOR_MAX_LENGTH) throw new SelectorError(SELECTOR_MAX_LENGTH + 1, `a selector has at most ${SELECTOR_MAX_LENGTH} characters, this one ${text.length}`);
  const toks = tokenize(text);
  let p = 0;
  const peek = (): Token => toks[p]!;
  const next = (): Token => toks[p++]!;
  const reqs: Requirement[] = [];
  if (peek().kind === 'end') return new Selector(reqs);

  const key = (t: Token): string => {
    if (t.kind !== 'word') throw new SelectorError(t.pos, `expected a label key, ${found(t)}`);
    if (t.text.length > L.labelKeyLength) throw new SelectorError(t.pos, `a label key has at most ${L.labelKeyLength} characters, this one ${t.text.length}`);
    if (!LABEL_KEY_PATTERN.test(t.text)) throw new SelectorError(t.pos, `label key ${JSON.stringify(t.text)} is not an identifier (letters, digits and _, not starting with a digit)`);
    return t.text;
  };
  const value = (t: Token): string => {
    if (t.text.length > L.labelValueLength) throw new SelectorError(t.pos, `a label value has at most ${L.labelValueLength} characters, this one ${t.text.length}`);
    if (!LABEL_VALUE_PATTERN.test(t.text)) throw new SelectorError(t.pos, LABEL_VALUE_MESSAGE);
    return t.text;
  };
  /** After = == !=: one value, or none (the empty value) before ',' or the end. */
  const exactValue = (): string => {
    const t = peek();
    if (t.kind === ',' || t.kind === 'end') return '';
    if (t.kind !== 'word') throw new SelectorError(t.pos, `expected a value, ${found(t)}`);
    return value(next());
  };
  /** After in / notin: ( value, value, ... ); a value left out (`()`, `(a,)`, `(,a)`) is the empty value. */
  const valueSet = (op: string): string[] => {
    const open = next();
    if (open.kind !== '(') throw new SelectorError(open.pos, `expected '(' after ${op}, ${found(open)}`);
    const values: string[] = [];
    for (;;) {
      const t = peek();
      if (t.kind === 'word') values.push(value(next()));
      else if (t.kind === ',' || t.kind === ')') values.push('');
      else throw new SelectorError(t.pos, `expected a value, ${found(t)}`);
      const sep = next();
      if (sep.kind === ')') return [...new Set(values)].sort();
      if (sep.kind !== ',') throw new SelectorError(sep.pos, `expected ',' or ')', ${found(sep)}`);
    }
  };

  for (;;) {
    const first = next();
    if (first.kind === '!') {
      reqs.push({ key: key(next()), op: '!', values: [] });
    } else {
      const k = key(first);
      const op = peek();
      if (op.kind === ',' || op.kind === 'end') reqs.push({ key: k, op: 'exists', values: [] });
      else if (op.kind === '=' || op.kind === '==' || op.kind === '!=') {
        next();
        reqs.push({ key: k, op: op.kind === '!=' ? '!=' : '=', values: [exactValue()] });
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        next();
        reqs.push({ key: k, op: op.text, values: valueSet(op.text) });
      } else if (op.kind === '<' || op.kind === '>') {
        throw new SelectorError(op.pos, `the ${op.text} operator is not supported; use =, ==, !=, in or notin`);
      } else throw new SelectorError(op.pos, `expected =, ==, !=, in, notin, ',' or the end after key ${JSON.stringify(k)}, ${found(op)}`);
    }
    const sep = next();
    if (sep.kind === 'end') return new Selector(reqs);
    if (sep.kind !== ',') throw new SelectorError(sep.pos, `expected ',' or the end of the selector, ${found(sep)}`);
    if (peek().kind === 'end') throw new SelectorError(peek().pos, "expected a requirement after ','");
  }
}

/** The selector of an optional text: null when absent or empty (every host). */
export function optionalSelector(text: string | null | undefined): Selector | null {
  if (text === null || text === undefined) return null;
  const s = parseSelector(text);
  return s.empty ? null : s;
}
