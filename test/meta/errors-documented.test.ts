import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@tcpfleet/common';
import { REPO } from '../helpers/fixtures.js';
import { productSources } from '../helpers/product-sources.js';

// fastify's rule: the catalogue in the code and the page in docs/ say the same, both ways; and
// every code in the catalogue is raised somewhere (or it goes).
describe('docs/errors.md', () => {
  const doc = readFileSync(`${REPO}docs/errors.md`, 'utf8');
  const documented = [...doc.matchAll(/^\| `(TCPFLEET_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  it('documents every error code', () => {
    for (const code of ERROR_CODES) expect(documented).toContain(code);
  });
  it('documents no code that does not exist', () => {
    for (const code of documented) expect(ERROR_CODES as readonly (string | undefined)[]).toContain(code);
  });

  it('lists only codes the product raises', () => {
    const sources = productSources();
    const errorsFile = sources.find((s) => s.file === 'packages/common/src/errors.ts');
    expect(errorsFile, 'packages/common/src/errors.ts').toBeDefined();
    // The subclasses that carry a code of their own: `class ConfigError extends TcpfleetError { ... super('TCPFLEET_ERR_CONFIG'`.
    const subclasses = new Map<string, string>();
    for (const m of errorsFile!.text.matchAll(/class (\w+) extends TcpfleetError \{[\s\S]*?super\('(TCPFLEET_ERR_[A-Z_]+)'/g)) subclasses.set(m[2]!, m[1]!);
    const others = sources.filter((s) => s !== errorsFile);
    const raised = (code: string): string | null => {
      const sub = subclasses.get(code);
      for (const { file, text } of others) {
        // A code compared against (`err.code === '...'`) is not raised there.
        const uses = text.replace(new RegExp(`[!=]==\\s*'${code}'`, 'g'), '');
        if (uses.includes(`'${code}'`) || (sub !== undefined && uses.includes(`new ${sub}(`))) return file;
      }
      return null;
    };
    const never = ERROR_CODES.filter((code) => raised(code) === null);
    expect(never, `codes never raised in packages/*/src (raise them where they happen, or remove them from errors.ts and docs/errors.md): ${never.join(', ')}`).toEqual([]);
  });
});
