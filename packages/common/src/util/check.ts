/**
 * Hand-written value checks for the zod-free paths (the agent, "@tcpfleet/common/agent"): a few
 * combinators shaped like the zod schemas they stand in for, that report every problem with the
 * path and the wording zod 4 uses (so a user sees the same message whichever side checked), and
 * build the output the way zod does: defaults filled in, unknown keys of a plain object dropped.
 * test/common/check-parity.test.ts runs them side by side with the zod schemas.
 */

/** One problem: where (keys from the root) and what. `keys` marks unknown keys of a strict object. */
export interface Issue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly keys?: readonly string[];
}

/** Checks `value` at `path`, pushes its problems to `issues` and returns the output value. */
export type Check<T> = (value: unknown, path: readonly (string | number)[], issues: Issue[]) => T;

/** The type name zod puts after "received". */
export function receivedType(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? 'number' : String(v);
  if (typeof v !== 'object') return typeof v;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const proto: unknown = Object.getPrototypeOf(v);
  const ctor: unknown = (v as { constructor?: unknown }).constructor;
  if (proto !== Object.prototype && typeof ctor === 'function' && ctor.name !== '') return ctor.name;
  return 'object';
}

const typeMessage = (expected: string, v: unknown): string => `Invalid input: expected ${expected}, received ${receivedType(v)}`;

/** Length in code points, as zod measures strings. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

function lengthIssues(v: unknown, min: number | undefined, max: number | undefined, path: readonly (string | number)[], issues: Issue[]): void {
  // zod measures anything with a length, even a value of the wrong type (an array for a string).
  if (v === null || v === undefined || (v as { length?: unknown }).length === undefined) return;
  const units = (v as { length: number }).length;
  const origin = Array.isArray(v) ? 'array' : typeof v === 'string' ? 'string' : 'unknown';
  const unit = origin === 'array' ? ' items' : origin === 'string' ? ' characters' : '';
  const verb = unit === '' ? 'to be' : 'to have';
  const len = typeof v === 'string' ? codePoints(v) : units;
  if (min !== undefined && len < min) issues.push({ path, message: `Too small: expected ${origin} ${verb} >=${min}${unit}` });
  if (max !== undefined && len > max) issues.push({ path, message: `Too big: expected ${origin} ${verb} <=${max}${unit}` });
}

export interface StringRules {
  min?: number;
  max?: number;
  /** A pattern and the message when it does not match. */
  pattern?: readonly [RegExp, string];
}

/** z.string() with .min/.max/.regex in that order. */
export function str(rules: StringRules = {}): Check<string> {
  return (v, path, issues) => {
    if (typeof v !== 'string') {
      issues.push({ path, message: typeMessage('string', v) });
      lengthIssues(v, rules.min, rules.max, path, issues);
      return '';
    }
    lengthIssues(v, rules.min, rules.max, path, issues);
    if (rules.pattern !== undefined && !rules.pattern[0].test(v)) issues.push({ path, message: rules.pattern[1] });
    return v;
  };
}

export interface NumberRules {
  int?: boolean;
  /** Lowest allowed value, optionally with its own message. */
  min?: number | readonly [number, string];
  max?: number | readonly [number, string];
}

const bound = (b: number | readonly [number, string] | undefined): [number, string | undefined] | undefined => (b === undefined ? undefined : typeof b === 'number' ? [b, undefined] : [b[0], b[1]]);

/** z.number() with .int()/.min()/.max() in that order: NaN and ±Infinity are not numbers. */
export function num(rules: NumberRules = {}): Check<number> {
  const min = bound(rules.min);
  const max = bound(rules.max);
  return (v, path, issues) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issues.push({ path, message: typeMessage('number', v) });
      return 0;
    }
    if (rules.int === true) {
      if (!Number.isInteger(v)) {
        issues.push({ path, message: typeMessage('int', v) });
        return v;
      }
      if (v > Number.MAX_SAFE_INTEGER) issues.push({ path, message: `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}` });
      if (v < Number.MIN_SAFE_INTEGER) issues.push({ path, message: `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}` });
    }
    if (min !== undefined && v < min[0]) issues.push({ path, message: min[1] ?? `Too small: expected number to be >=${min[0]}` });
    if (max !== undefined && v > max[0]) issues.push({ path, message: max[1] ?? `Too big: expected number to be <=${max[0]}` });
    return v;
  };
}

/** z.array(item).max(max), as zod does it: an array over the cap is refused before any item is looked at. */
export function array<T>(item: Check<T>, max: number): Check<T[]> {
  return (v, path, issues) => {
    if (!Array.isArray(v)) {
      issues.push({ path, message: typeMessage('array', v) });
      lengthIssues(v, undefined, max, path, issues);
      return [];
    }
    if (v.length > max) {
      issues.push({ path, message: `Too big: expected array to have <=${max} items` });
      return [];
    }
    return v.map((x, i) => item(x, [...path, i], issues));
  };
}

/** z.boolean(). */
export function bool(): Check<boolean> {
  return (v, path, issues) => {
    if (typeof v === 'boolean') return v;
    issues.push({ path, message: typeMessage('boolean', v) });
    return false;
  };
}

/** z.enum([...]). */
export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  const message = `Invalid option: expected one of ${values.map((x) => JSON.stringify(x)).join('|')}`;
  return (v, path, issues) => {
    if ((values as readonly unknown[]).includes(v)) return v as T;
    issues.push({ path, message });
    return values[0] as T;
  };
}

/** A plain object, as zod's record accepts it. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/**
 * z.record(key, value) with an optional whole-record rule (zod's .refine), which runs only when
 * every entry passed. A bad key is reported once ("Invalid key in record"); its value is not checked.
 */
export function record<V>(key: Check<string>, value: Check<V>, refine?: readonly [(r: Record<string, V>) => boolean, string]): Check<Record<string, V>> {
  return (v, path, issues) => {
    const out: Record<string, V> = {};
    if (!isPlainObject(v)) {
      issues.push({ path, message: typeMessage('record', v) });
      return out;
    }
    const before = issues.length;
    for (const k of Object.keys(v)) {
      const keyIssues: Issue[] = [];
      key(k, [...path, k], keyIssues);
      if (keyIssues.length > 0) {
        issues.push({ path: [...path, k], message: 'Invalid key in record' });
        continue;
      }
      out[k] = value(v[k], [...path, k], issues);
    }
    if (issues.length === before && refine !== undefined && !refine[0](out)) issues.push({ path, message: refine[1] });
    return out;
  };
}

/** One key of an object: its check, and whether it may be left out (with a default or not). */
export interface Field<T> {
  check: Check<T>;
  optional?: boolean;
  default?: () => T;
}

type FieldsOf<S> = { [K in keyof S]: Field<S[K]> };

/**
 * z.object(shape) (unknown keys dropped) or z.strictObject(shape) (unknown keys are one problem,
 * listed after the others). Keys are checked and output in the order of `shape`; `keys` lists them
 * (for "did you mean" in messages).
 */
export function object<S extends object>(shape: FieldsOf<S>, strict = false): Check<S> & { readonly keys: readonly string[] } {
  const known = new Set(Object.keys(shape));
  const check: Check<S> = (v, path, issues) => {
    const out: Record<string, unknown> = {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: typeMessage('object', v) });
      return out as S;
    }
    const input = v as Record<string, unknown>;
    for (const [k, f] of Object.entries<Field<unknown>>(shape)) {
      const x = input[k];
      if (x === undefined) {
        if (f.default !== undefined) out[k] = f.default();
        else if (f.optional !== true) f.check(x, [...path, k], issues);
        continue;
      }
      out[k] = f.check(x, [...path, k], issues);
    }
    if (strict) {
      const extra = Object.keys(input).filter((k) => !known.has(k));
      if (extra.length > 0) issues.push({ path, message: `Unrecognized key${extra.length > 1 ? 's' : ''}: ${extra.map((k) => JSON.stringify(k)).join(', ')}`, keys: extra });
    }
    return out as S;
  };
  return Object.assign(check, { keys: [...known] });
}
