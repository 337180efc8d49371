import { defineConfig } from 'vitest/config';
import { alias, reporters } from './vitest.shared.js';

/** npm test: unit, golden, live-kernel and end-to-end tests (the fault suite has its own config). */
export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', '**/node_modules/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters,
    outputFile: { json: 'test-results.json' },
  },
});
