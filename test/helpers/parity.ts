/**
 * Running a hand-written check (packages/common/src/util/check.ts) and the zod schema it stands
 * in for on the same input, and a seeded generator of awkward inputs: the parity tests use these
 * to show both give the same problems (path and words) and the same output.
 */
import type * as z from 'zod';
import type { Check, Issue } from '../../packages/common/src/util/check.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; issues: { path: string; message: string }[] };

const flat = (issues: readonly { path: readonly PropertyKey[]; message: string }[]): { path: string; message: string }[] =>
  issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));

/** What zod makes of `value`; unknown keys come out as "unknown key(s) ..." as the config loaders word them. */
export function viaZod(schema: z.ZodType, value: unknown): Outcome {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, issues: flat(r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? { path: i.path, message: `unknown ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` } : i))) };
}

/** What the hand-written check makes of `value`, in the same form. */
export function viaCheck(check: Check<unknown>, value: unknown): Outcome {
  const issues: Issue[] = [];
  const out = check(value, [], issues);
  if (issues.length === 0) return { ok: true, value: out };
  return { ok: false, issues: flat(issues.map((i) => (i.keys !== undefined ? { path: i.path, message: `unknown ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` } : i))) };
}

/** A small deterministic PRNG (mulberry32), so a failing case can be reproduced. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'Z', '0', '9', '_', '-', '.', ':', '@', '/', ' ', '\n', '\t', '\u0000', '\u007f', '\u0085', 'é', '日', '\u200b', '😀', '\ud800', '"', '=', '$'];

/** A random string: mostly from characters that matter to the rules, with lengths near `limits`. */
export function randomString(r: () => number, limits: readonly number[] = [0, 1, 8]): string {
  const target = limits[Math.floor(r() * limits.length)] ?? 1;
  const len = Math.max(0, target + Math.floor(r() * 5) - 2);
  let s = '';
  const plain = r() < 0.5;
  for (let i = 0; i < len; i++) s += plain ? (CHARS[Math.floor(r() * 5)] ?? 'a') : (CHARS[Math.floor(r() * CHARS.length)] ?? 'a');
  return s;
}

/** A random value of any JSON type (and a few non-JSON numbers). */
export function randomValue(r: () => number, strings: readonly number[] = [0, 1, 8], depth = 0): unknown {
  const k = r();
  if (k < 0.3) return randomString(r, strings);
  if (k < 0.55) return [0, 1, -1, 0.05, 0.1, 0.5, 1.5, 10, 100, 101, 4096, 86400, 86401, 1e6, 1e20, -1e20, NaN, Infinity, 2 ** 53][Math.floor(r() * 19)];
  if (k < 0.65) return r() < 0.5;
  if (k < 0.72) return null;
  if (k < 0.85 || depth > 1) return depth > 1 ? 'deep' : [randomValue(r, strings, depth + 1)];
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 3); i > 0; i--) o[randomString(r, [1, 3])] = randomValue(r, strings, depth + 1);
  return o;
}
