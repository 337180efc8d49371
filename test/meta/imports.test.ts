/**
 * The product's import graph (packages/{common,agent,collector}/src, type-only imports included,
 * as madge counts them): no cycles, nothing imported from test/, and no test hook read from the
 * environment (fault injection is an option the fault suite passes, test/helpers/fault-collector.mjs).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO } from '../helpers/fixtures.js';

const ROOTS = ['packages/common/src', 'packages/agent/src', 'packages/collector/src'].map((r) => join(REPO, r));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file, resolved to .ts files. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s+'([^']+)'/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const all = ROOTS.flatMap(files);
const graph = new Map(all.map((f) => [f, imports(f)]));

describe('product imports', () => {
  it('resolve to product files only (nothing from test/)', () => {
    expect(all.length).toBeGreaterThan(50);
    for (const [f, deps] of graph) {
      for (const d of deps) {
        expect(existsSync(d), `${relative(REPO, f)} imports ${relative(REPO, d)}`).toBe(true);
        expect(relative(REPO, d).startsWith('packages/'), `${relative(REPO, f)} imports ${relative(REPO, d)}`).toBe(true);
      }
    }
  });

  it('have no cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(REPO, x)).join(' > '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of all) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('read no test hook from the environment', () => {
    for (const f of all) expect(readFileSync(f, 'utf8'), relative(REPO, f)).not.toMatch(/TCPFLEET_TEST_|test-hooks/);
  });
});
