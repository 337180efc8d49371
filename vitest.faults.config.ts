import { defineConfig } from 'vitest/config';
import { alias, reporters } from './vitest.shared.js';

/** The fault suite (npm run test:faults): real processes, namespaces and kills; one file at a time. */
export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters,
    outputFile: { json: 'test-results-faults.json' },
  },
});
