/**
 * What an invalid protocol message is refused for, and the check that the refusal names it. The
 * decoder's one line reads "schema violation at <path>: <why>"; an unknown key is reported at its
 * parent's path with the key's name quoted.
 */
import { expect } from 'vitest';

export interface Offending {
  /** Path of the offending field as the decoder prints it: "snapshots.0.host", "(message)" for the whole message. */
  at: string;
  /** For an unknown key: its name, reported in quotes after the parent's path. */
  key?: string;
}

/** Asserts that `message` names the offending field (not only that decoding failed). */
export function expectNamesField(message: string, f: Offending): void {
  expect(message, 'the refusal names the offending field').toContain(`at ${f.at}: `);
  if (f.key !== undefined) expect(message, 'the refusal names the unknown key').toContain(`"${f.key}"`);
}
