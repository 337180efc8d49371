/**
 * The part of common the agent needs, without zod (which alone adds about 13 MB to the agent's
 * resident memory): the /proc parsers, the zod-free checks of host ids, labels and collector
 * messages, the protocol limits, config-file helpers and types. Import it as
 * "@tcpfleet/common/agent". test/deploy/agent-no-zod.test.ts checks the agent never opens zod.
 */
export * from './errors.js';
export * from './model/tcp-state.js';
export * from './model/summary.js';
export * from './model/fields.js';
export * from './model/limits.js';
export * from './model/identity.js';
export type { CollectInfo, Snapshot } from './model/snapshot.js';
export * from './model/namespace-entry.js';
export * from './proc/hex.js';
export * from './proc/breakdown.js';
export * from './proc/net-tcp.js';
export * from './proc/net-sockstat.js';
export * from './proc/net-snmp.js';
export * from './proc/net-netstat.js';
export * from './proc/header-value-pairs.js';
export * from './proc/read.js';
export * from './protocol/close-codes.js';
export * from './protocol/limits.js';
export { BIN1, BIN1_BATCH, BIN1_LIMITS, Bin1Encoder } from './protocol/bin1.js';
export type { AckMessage, AgentMessage, BatchMessage, CollectorMessage, GapMessage, HelloMessage, NackMessage, WelcomeMessage } from './protocol/messages.js';
export { decodeCollectorMessage, checkCollectorMessage } from './protocol/collector-decode.js';
export { encodeJsonFrame as encodeMessage } from './protocol/json-frame.js';
export * from './util/check.js';
export * from './util/duration.js';
export * from './util/deep-freeze.js';
export * from './util/sanitize.js';
export { configProblems, defined, parseLabels, readConfigFile } from './util/config-file.js';
export * from './util/setting-sources.js';
export * from './util/option-help.js';
export * from './util/log-stream.js';
