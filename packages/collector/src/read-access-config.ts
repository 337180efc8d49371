/**
 * The read-access part of `tcpfleet serve`'s configuration: the read tokens given to serve
 * (--read-token, or --read-token-file with one a line), --public-read and --public-url, checked
 * once. Only the SHA-256 of each read token is kept.
 */
import { statSync } from 'node:fs';
import { ConfigError } from '@tcpfleet/common';
import { hashToken } from './ingest/auth.js';
import { hostPart } from './http/read-access.js';
import { readTokenFile, readTokenProblem } from './read-token-file.js';

/** What ServeConfig keeps of read access. */
export interface ReadAccessConfig {
  readTokenHashes: readonly string[];
  publicHosts: readonly string[];
}

type ReadKey = 'readToken' | 'readTokenFile' | 'publicRead' | 'publicUrl';

const FLAG_NAMES: Record<ReadKey, string> = {
  readToken: '--read-token (TCPFLEET_READ_TOKEN)',
  readTokenFile: '--read-token-file (TCPFLEET_READ_TOKEN_FILE)',
  publicRead: '--public-read',
  publicUrl: '--public-url',
};

/**
 * Checks the read settings; throws ConfigError listing every problem, each naming its setting by
 * `name` (the flag by default; a caller that knows where a value came from can say so).
 */
export function readAccessConfig(
  cfg: { readToken?: string | undefined; readTokenFile?: string | undefined; publicRead: boolean; publicUrl?: string | undefined },
  fleetToken: string | null,
  warn: (m: string) => void,
  name: (key: ReadKey) => string = (k) => FLAG_NAMES[k],
): ReadAccessConfig {
  const problems: string[] = [];
  let tokens: string[] = [];
  if (cfg.readToken !== undefined && cfg.readTokenFile !== undefined) problems.push(`${name('readToken')} and ${name('readTokenFile')}: give a read token or a read token file, not both`);
  else if (cfg.readToken !== undefined) {
    const p = readTokenProblem(cfg.readToken, name('readToken'));
    if (p === null) tokens = [cfg.readToken];
    else problems.push(p);
  } else if (cfg.readTokenFile !== undefined) {
    const f = readTokenFile(cfg.readTokenFile);
    tokens = f.tokens;
    problems.push(...f.problems);
    if (f.problems.length === 0) {
      const mode = statSync(cfg.readTokenFile).mode & 0o777;
      if ((mode & 0o077) !== 0) warn(`read token file ${cfg.readTokenFile} has mode ${mode.toString(8)}: others can read it; chmod 600 it`);
    }
  }
  if (cfg.publicRead && (cfg.readToken !== undefined || cfg.readTokenFile !== undefined)) problems.push(`${name('publicRead')} lets anyone read; give it or read tokens, not both`);
  if (fleetToken !== null && tokens.includes(fleetToken)) problems.push('a read token must differ from the fleet token: write tokens never read');
  const publicHosts: string[] = [];
  for (const u of (cfg.publicUrl ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    let url: URL | null = null;
    try {
      url = new URL(u);
    } catch {
      // reported below
    }
    const host = url !== null && (url.protocol === 'http:' || url.protocol === 'https:') ? hostPart(url.host) : null;
    if (host === null) problems.push(`${name('publicUrl')}: ${JSON.stringify(u.slice(0, 80))} is not a URL such as https://tcpfleet.example.com`);
    else publicHosts.push(host);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { readTokenHashes: [...new Set(tokens.map(hashToken))], publicHosts };
}
