/**
 * Makes untrusted text (host ids, labels, addresses from agents) safe to print on a terminal:
 * control characters (ANSI escapes, newlines, bidi overrides) are shown as \u{..} escapes.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
