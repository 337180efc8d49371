/** The product's TypeScript sources (packages/NAME/src), with comments removed, for the meta tests. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './fixtures.js';

/** Every .ts file under packages/NAME/src: its path from the repository root and its text without comments. */
export function productSources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|\s)\/\/.*$/gm, '$1');
        out.push({ file: p.slice(REPO.length), text });
      }
    }
  };
  for (const pkg of readdirSync(join(REPO, 'packages'))) walk(join(REPO, 'packages', pkg, 'src'));
  return out;
}
