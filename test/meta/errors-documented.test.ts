import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@tcpfleet/common';
import { REPO } from '../helpers/fixtures.js';

// fastify's rule: the catalogue in the code and the page in docs/ say the same, both ways.
describe('docs/errors.md', () => {
  const doc = readFileSync(`${REPO}docs/errors.md`, 'utf8');
  const documented = [...doc.matchAll(/^\| `(TCPFLEET_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  it('documents every error code', () => {
    for (const code of ERROR_CODES) expect(documented).toContain(code);
  });
  it('documents no code that does not exist', () => {
    for (const code of documented) expect(ERROR_CODES as readonly (string | undefined)[]).toContain(code);
  });
});
