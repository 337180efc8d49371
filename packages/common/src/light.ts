/**
 * The part of common that loads in a few milliseconds (no zod, no file access): what the CLI's
 * query commands need. Import it as "@tcpfleet/common/light".
 */
export * from './model/tcp-state.js';
export * from './model/summary.js';
export * from './model/fields.js';
export * from './util/duration.js';
export * from './util/sanitize.js';
export * from './util/option-help.js';
export * from './errors.js';
export * from './model/selector.js';
export * from './model/group-by.js';
