/** docs/fields.md is the field table as rendered now: a field added to the table without the doc fails here. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderFieldsDoc } from '../../packages/common/src/model/fields-doc.js';
import { SECTIONS } from '@tcpfleet/common';
import { REPO } from '../helpers/fixtures.js';

it('docs/fields.md is up to date with the field table (else: npx tsc -b && node scripts/gen-fields-doc.mjs)', () => {
  expect(readFileSync(`${REPO}docs/fields.md`, 'utf8')).toBe(renderFieldsDoc());
});

it('docs/fields.md names every field of the table with its source and scope', () => {
  const doc = readFileSync(`${REPO}docs/fields.md`, 'utf8');
  for (const s of SECTIONS) {
    if (s.key !== null) expect(doc).toContain(`\`${s.key}\``);
    if ('states' in s) continue; // the twelve states share one table
    for (const f of s.fields) {
      const path = s.key === null ? f.name : `${s.key}.${f.name}`;
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
      expect(row, path).toBeDefined();
      expect(row).toContain(`\`${f.scope}\``);
      expect(row).toContain(f.source.replace(/\|/g, '\\|'));
    }
  }
});
