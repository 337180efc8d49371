/**
 * Array parameters written as PostgreSQL array literals here, for the ingest statements' unnest
 * arrays (thousands of elements per commit): pg's generic encoder checks every element's type
 * and runs two regular expressions over each one's text; numbers need neither and a text
 * element needs escaping only when it holds a quote or a backslash. The server parses the literal
 * as the parameter's declared type (`$1::bigint[]`, `$2::text[]`).
 */

/** `{1,2,3}`: integers (or any finite numbers); null and undefined become NULL. */
export function numArray(values: readonly (number | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return out + '}';
}

/** `{t,f}`: booleans. */
export function boolArray(values: readonly boolean[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += (i > 0 ? ',' : '') + (values[i] === true ? 't' : 'f');
  return out + '}';
}

const NEEDS_ESCAPE = /["\\]/;

/** `{"a","b"}`: text elements quoted (quote and backslash escaped); null and undefined become NULL. */
export function textArray(values: readonly (string | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else out += '"' + (NEEDS_ESCAPE.test(v) ? v.replace(/[\\"]/g, '\\$&') : v) + '"';
  }
  return out + '}';
}
