/** The single-file agent written by `npm run build` (scripts/build-agent.mjs). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './fixtures.js';

export const AGENT_BUNDLE = join(REPO, 'dist/tcpfleet-agent.mjs');

/** The bundle's path; throws a clear error when it was not built (npm test builds it first). */
export function agentBundle(): string {
  if (!existsSync(AGENT_BUNDLE)) throw new Error(`${AGENT_BUNDLE} is missing: run npm run build (npm test does it in pretest)`);
  return AGENT_BUNDLE;
}
