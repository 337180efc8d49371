#!/usr/bin/env node
/**
 * Writes docs/fields.md from the field table (packages/common/src/model/fields.ts).
 *
 *   npx tsc -b && node scripts/gen-fields-doc.mjs
 *
 * test/common/fields-doc.test.ts fails when docs/fields.md and the table differ.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));
const { renderFieldsDoc } = await import(`${repo}packages/common/dist/model/fields-doc.js`);
writeFileSync(`${repo}docs/fields.md`, renderFieldsDoc());
console.log('wrote docs/fields.md');
