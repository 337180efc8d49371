/**
 * What every query command shares: its base options and the check of a --state value (used by
 * cli/query.ts and cli/containers.ts).
 */
import { TCP_STATES, TcpfleetError, isStateName, printable } from '@tcpfleet/common/light';
import type { TcpStateName } from '@tcpfleet/common/light';

/** Options every query command takes. */
export interface QueryOpts {
  url: string;
  json: boolean;
  /** Sent as the bearer token (cli/read-token.ts); null: none. */
  readToken: string | null;
}

/** Checks a --state value. */
export function checkState(state: string | undefined): TcpStateName | null {
  if (state === undefined) return null;
  if (!isStateName(state)) {
    throw new TcpfleetError('TCPFLEET_ERR_USAGE', `--state ${JSON.stringify(printable(state))} is not a state; use one of ${TCP_STATES.join(', ')}`);
  }
  return state;
}
