/** Paths to fixtures and golden files. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const GOLDEN = fileURLToPath(new URL('../golden/', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The case files of one parser, sorted. */
export function listCases(parser: string): string[] {
  return readdirSync(`${FIXTURES}proc-cases/${parser}`).sort();
}

/** A case file's bytes. */
export function readCase(parser: string, file: string): Buffer {
  return readFileSync(`${FIXTURES}proc-cases/${parser}/${file}`);
}

/** Path of the golden JSON for a case. */
export function goldenPath(parser: string, file: string): string {
  return `${GOLDEN}proc/${parser}/${file.replace(/\.txt$/, '.json')}`;
}

/** JSON with stable key order (as produced) and a final newline. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
