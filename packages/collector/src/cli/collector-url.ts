/**
 * The collector URL of the query commands: `--url`, else `TCPFLEET_URL`, else the default. A bad
 * one is refused before any request, naming where it came from and what would be valid.
 */
import { TcpfleetError, printable } from '@tcpfleet/common/light';

/** The collector URL to query. */
export function collectorUrl(flag: string | undefined, env: NodeJS.ProcessEnv, defaultUrl: string): string {
  const fromEnv = env['TCPFLEET_URL'];
  const [value, source] = flag !== undefined ? [flag, 'flag --url'] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, 'environment variable TCPFLEET_URL'] : [defaultUrl, 'the default --url'];
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TcpfleetError('TCPFLEET_ERR_USAGE', `${source}: an http:// or https:// URL such as ${defaultUrl} (got ${JSON.stringify(printable(value).slice(0, 80))})`);
  }
  return value;
}
