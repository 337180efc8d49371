import { fileURLToPath } from 'node:url';

const src = (p: string): string => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

/** Tests import the packages' TypeScript sources directly: no build needed for unit tests. */
export const alias = [
  { find: /^@tcpfleet\/common\/light$/, replacement: src('common/src/light.ts') },
  { find: /^@tcpfleet\/common\/agent$/, replacement: src('common/src/agent.ts') },
  { find: /^@tcpfleet\/common$/, replacement: src('common/src/index.ts') },
];

/** The JSON results .ci/run sums into its closing line, written when CI=true. */
export const reporters = process.env['CI'] === 'true' ? ['default', 'json'] : ['default'];
