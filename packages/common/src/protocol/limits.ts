/**
 * The protocol's version and size limits, apart from the zod schemas in messages.ts so the agent
 * can use them without loading zod. messages.ts re-exports them.
 */

/** The protocol major version; a collector accepts only agents of the same major version. */
export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts (ws maxPayload), in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Most snapshots in one batch. */
export const MAX_BATCH = 64;
/** Most frame encodings (and features) a welcome may list, and the longest name of one. */
export const MAX_ENCODINGS = 8;
export const MAX_ENCODING_NAME = 32;
