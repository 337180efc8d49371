/**
 * What `--by` (and the API's `by=`) may name, parsed in one small place so other groupings can be
 * added beside these: `total --by LABEL` groups by a label; `top --by` ranks hosts, listening
 * ports, peers or the values of a label (`label:LABEL`).
 */
import { TcpfleetError } from '../errors.js';
import { SNAPSHOT_LIMITS as L } from './limits.js';
import { LABEL_KEY_PATTERN } from './identity.js';

/** A `top --by` value. */
export type TopBy = { kind: 'host' } | { kind: 'port' } | { kind: 'peer' } | { kind: 'container' } | { kind: 'label'; label: string };

const usage = (m: string): TcpfleetError => new TcpfleetError('TCPFLEET_ERR_USAGE', m);

/** A label name to group by (`total --by LABEL`); throws a usage error naming the flag. */
export function parseGroupLabel(text: string, flag = '--by'): string {
  if (text.length === 0 || text.length > L.labelKeyLength || !LABEL_KEY_PATTERN.test(text))
    throw usage(`${flag} ${JSON.stringify(text.slice(0, 80))} is not a label name (an identifier of at most ${L.labelKeyLength} characters)`);
  return text;
}

/** The words `top --by` takes besides label:LABEL. */
export const TOP_BY_WORDS = ['host', 'port', 'peer', 'container'] as const;

/** A `top --by` value: host, port, peer, container (network namespaces, issue 10) or label:LABEL. */
export function parseTopBy(text: string, flag = '--by'): TopBy {
  if (text.startsWith('label:')) return { kind: 'label', label: parseGroupLabel(text.slice(6), `${flag} label:`) };
  if ((TOP_BY_WORDS as readonly string[]).includes(text)) return { kind: text as (typeof TOP_BY_WORDS)[number] };
  throw usage(`${flag} must be ${TOP_BY_WORDS.join(', ')} or label:LABEL, got ${JSON.stringify(text.slice(0, 80))}`);
}
