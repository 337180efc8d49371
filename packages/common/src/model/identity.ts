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
export const LABEL_VALUE_PATTERN = /^[^\p{Cc}]*$/u;
export const LABEL_VALUE_MESSAGE = 'label value: no control characters';
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

/** The labels check (LabelsSchema without zod). */
export const checkLabels: Check<Record<string, string>> = record(
  str({ pattern: [LABEL_KEY_PATTERN, LABEL_KEY_MESSAGE], max: L.labelKeyLength }),
  str({ max: L.labelValueLength, pattern: [LABEL_VALUE_PATTERN, LABEL_VALUE_MESSAGE] }),
  [(r) => Object.keys(r).length <= L.labels, LABELS_COUNT_MESSAGE],
);
