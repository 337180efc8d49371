import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string): string => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

/** The fault suite (npm run test:faults): real processes, namespaces and kills; one file at a time. */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tcpfleet\/common\/light$/, replacement: src('common/src/light.ts') },
      { find: /^@tcpfleet\/common$/, replacement: src('common/src/index.ts') },
    ],
  },
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: process.env['CI'] === 'true' ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results-faults.json' },
  },
});
