/**
 * Functions compiled once at load from the field table's names, for the per-snapshot paths that
 * build objects with those names: an object literal is about ten times as fast as setting the
 * same keys one by one from a list (V8 builds a literal's shape once). Only code-held names go
 * in, and every key is written through key(), a JSON string, so no name can be anything but a
 * property name.
 */

/** A property name as source text: "name". */
export const key = (name: string): string => JSON.stringify(name);

/** A function of `params` with the given body lines. */
export function compile<F>(params: readonly string[], body: readonly string[]): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiled once from the field table, keys quoted by key()
  return new Function(...params, body.join('\n')) as F;
}
