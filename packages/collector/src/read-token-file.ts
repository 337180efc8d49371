/**
 * Read tokens as people write them: `serve --read-token-file` holds one token a line (blank lines
 * and lines starting with # are skipped), so each person or scraper has its own and can be removed
 * alone; the CLI's --read-token-file sends the first. Light (node:fs only): the CLI loads it.
 */
import { readFileSync } from 'node:fs';

/** Shortest read token accepted: a guessable word must not open the fleet's data. */
export const MIN_READ_TOKEN_CHARS = 16;

/** What is wrong with a read token, or null; `where` names its source (flag, variable, file:line). */
export function readTokenProblem(token: string, where: string): string | null {
  if (token.length < MIN_READ_TOKEN_CHARS) return `${where}: a read token needs at least ${MIN_READ_TOKEN_CHARS} characters (tcpfleet token create --read NAME makes one)`;
  if (token.length > 4096 || !/^[\x21-\x7e]+$/.test(token)) return `${where}: a read token is printable ASCII without spaces, at most 4096 characters`;
  return null;
}

/** The tokens of a read-token file and the problems found (file:line each). */
export function readTokenFile(path: string): { tokens: string[]; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { tokens: [], problems: [`read token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  const tokens: string[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const p = readTokenProblem(line, `read token file ${path}:${i + 1}`);
    if (p === null) tokens.push(line);
    else problems.push(p);
  });
  if (tokens.length === 0 && problems.length === 0) problems.push(`read token file ${path} holds no token`);
  return { tokens, problems };
}
