/**
 * Makes untrusted text (host ids, labels, addresses from agents) safe to print on a terminal:
 * control characters (ANSI escapes, newlines, bidi overrides) are shown as \u{..} escapes.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

export function printable(text: string): string {
  // The common case (nothing to escape) costs one native scan: a CLI table prints 100,000 cells.
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
