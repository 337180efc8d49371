/**
 * The read token the query commands send: --read-token TOKEN, --read-token-file FILE (its first
 * token), else TCPFLEET_READ_TOKEN, else TCPFLEET_READ_TOKEN_FILE; none: null (a collector whose
 * reads are open needs none). Light: loaded by the fast path.
 */
import { TcpfleetError } from '@tcpfleet/common/light';
import { readTokenFile, readTokenProblem } from '../read-token-file.js';

/** The read token flags as the command line gives them. */
export interface ReadTokenFlags {
  readToken?: string | undefined;
  readTokenFile?: string | undefined;
}

function fromFile(path: string, where: string): string {
  const f = readTokenFile(path);
  const first = f.tokens[0];
  if (first === undefined) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `${where}: ${f.problems[0] ?? 'no token'}`);
  return first;
}

function checked(token: string, where: string): string {
  const p = readTokenProblem(token, where);
  if (p !== null) throw new TcpfleetError('TCPFLEET_ERR_USAGE', p);
  return token;
}

/** Resolves the read token to send; throws a usage error naming the source of a bad one. */
export function cliReadToken(flags: ReadTokenFlags, env: NodeJS.ProcessEnv): string | null {
  if (flags.readToken !== undefined && flags.readTokenFile !== undefined) throw new TcpfleetError('TCPFLEET_ERR_USAGE', 'give either --read-token or --read-token-file, not both');
  if (flags.readToken !== undefined) return checked(flags.readToken, '--read-token');
  if (flags.readTokenFile !== undefined) return fromFile(flags.readTokenFile, '--read-token-file');
  const envToken = env['TCPFLEET_READ_TOKEN'];
  if (envToken !== undefined && envToken !== '') return checked(envToken, 'TCPFLEET_READ_TOKEN');
  const envFile = env['TCPFLEET_READ_TOKEN_FILE'];
  if (envFile !== undefined && envFile !== '') return fromFile(envFile, 'TCPFLEET_READ_TOKEN_FILE');
  return null;
}
