/**
 * Who a snapshot is about: the host id and the labels, with their rules in one place. The zod
 * schemas (HostIdSchema, LabelsSchema in snapshot.ts) are built from these same patterns, limits
 * and messages; checkHostId and checkLabels are the zod-free checks the agent uses.
 * test/common/identity.test.ts keeps the two in step.
 */
import { SNAPSHOT_LIMITS as L } from './limits.js';
import { record, str } from '../util/check.js';
import type { Check } from '../util/check.js';

/** Host ids: printable, no spaces or control characters; also safe in URLs and file names. */
export const HOST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;
export const HOST_ID_MESSAGE = 'host id: letters, digits and . _ : @ - only';
/** Label keys are identifiers; values are printable text. */
export const LABEL_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const LABEL_KEY_MESSAGE = 'label key: an identifier';
/**
 * Text from the network that people read (label values, the hello's agent string): no control
 * characters (C0, DEL and C1, U+0080-U+009F) and no bidirectional overrides, embeddings,
 * isolates or marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F), which would reorder what a
 * terminal, a log viewer or the dashboard shows.
 */
export const DISPLAY_TEXT_PATTERN = /^[^\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]*$/u;
export const LABEL_VALUE_PATTERN = DISPLAY_TEXT_PATTERN;
export const LABEL_VALUE_MESSAGE = 'label value: no control characters or bidi overrides';
/** The hello's `agent` (name and version of the agent software), checked like a label value. */
export const AGENT_NAME_MAX = 64;
export const AGENT_NAME_MESSAGE = 'agent: no control characters or bidi overrides';
export const LABELS_COUNT_MESSAGE = `at most ${L.labels} labels`;
/** Boot ids: the agent's random id per start (a UUID; any 8..64 of hex digits and -). */
export const BOOT_ID_PATTERN = /^[0-9a-f-]{8,64}$/;
export const BOOT_ID_MESSAGE = 'boot: a hex id';
/** Kernel counter names (snmp, netstat): letters, digits and _. */
export const COUNTER_NAME_PATTERN = /^[A-Za-z0-9_]+$/;
/** Peer addresses of the breakdown: hex digits, ':' and '.'. */
export const PEER_ADDR_PATTERN = /^[0-9a-fA-F:.]+$/;

/** The host id check (HostIdSchema without zod). */
export const checkHostId: Check<string> = str({ min: 1, max: L.hostLength, pattern: [HOST_ID_PATTERN, HOST_ID_MESSAGE] });

/** The hello's agent string check (the zod schema in protocol/messages.ts without zod). */
export const checkAgentName: Check<string> = str({ max: AGENT_NAME_MAX, pattern: [DISPLAY_TEXT_PATTERN, AGENT_NAME_MESSAGE] });

/** The labels check (LabelsSchema without zod). */
export const checkLabels: Check<Record<string, string>> = record(
  str({ pattern: [LABEL_KEY_PATTERN, LABEL_KEY_MESSAGE], max: L.labelKeyLength }),
  str({ max: L.labelValueLength, pattern: [LABEL_VALUE_PATTERN, LABEL_VALUE_MESSAGE] }),
  [(r) => Object.keys(r).length <= L.labels, LABELS_COUNT_MESSAGE],
);
