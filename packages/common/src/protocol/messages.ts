/**
 * The wire protocol: JSON text frames over one WebSocket per agent. See docs/protocol.md.
 *
 * agent -> collector: hello (first, once), batch (snapshots), gap (snapshots the agent had to drop)
 * collector -> agent: welcome (after hello), ack (batch or gap stored), nack (refused: retryable or not)
 */
import * as z from 'zod';
import { HostIdSchema, LabelsSchema, SnapshotSchema } from '../model/snapshot.js';
import { AGENT_NAME_MAX, AGENT_NAME_MESSAGE, DISPLAY_TEXT_PATTERN } from '../model/identity.js';
import type { Snapshot } from '../model/snapshot.js';
import { BOOT_ID_PATTERN } from '../model/identity.js';

// PROTOCOL_VERSION, MAX_FRAME_BYTES, MAX_BATCH live in limits.ts (zod-free, for the agent).
import { MAX_BATCH, MAX_ENCODINGS, MAX_ENCODING_NAME } from './limits.js';
export { MAX_BATCH, MAX_FRAME_BYTES, PROTOCOL_VERSION } from './limits.js';

const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Runtime schema of every message an agent may send. */
export const AgentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    v: z.number().int(),
    host: HostIdSchema,
    boot: z.string().regex(BOOT_ID_PATTERN),
    agent: z.string().max(AGENT_NAME_MAX).regex(DISPLAY_TEXT_PATTERN, AGENT_NAME_MESSAGE),
    interval_ms: z.number().int().min(100).max(86_400_000),
    labels: LabelsSchema,
  }),
  z.object({ type: z.literal('batch'), id, snapshots: z.array(SnapshotSchema).min(1).max(MAX_BATCH) }),
  z.object({
    type: z.literal('gap'),
    id,
    boot: z.string().regex(BOOT_ID_PATTERN),
    from_seq: z.number().int().min(1),
    to_seq: z.number().int().min(1),
    count: z.number().int().min(1),
    ts: z.number().int().min(0),
  }),
]);

/** Messages from the agent. */
export type HelloMessage = {
  type: 'hello';
  v: number;
  host: string;
  boot: string;
  agent: string;
  interval_ms: number;
  labels: Record<string, string>;
};
export type BatchMessage = { type: 'batch'; id: number; snapshots: Snapshot[] };
export type GapMessage = { type: 'gap'; id: number; boot: string; from_seq: number; to_seq: number; count: number; ts: number };
export type AgentMessage = HelloMessage | BatchMessage | GapMessage;

/** Messages from the collector. */
/**
 * `encodings`: the batch frame encodings the collector accepts besides JSON (["json","bin1"]); absent from older collectors.
 * `features`: additive parts of a snapshot the collector accepts (["ns1"]: `namespaces`, model/namespace-entry.ts NAMESPACES_FEATURE); absent from older collectors.
 */
export type WelcomeMessage = { type: 'welcome'; v: number; host: string; heartbeat_ms: number; max_batch: number; encodings?: string[]; features?: string[] };
export type AckMessage = { type: 'ack'; id: number; stored: number; duplicates: number };
export type NackMessage = { type: 'nack'; id: number; code: string; retryable: boolean; message: string };
export type CollectorMessage = WelcomeMessage | AckMessage | NackMessage;

/** Runtime schema of every message a collector may send (the agent checks them too). */
export const CollectorMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    v: z.number().int(),
    host: z.string(),
    heartbeat_ms: z.number().int().min(0),
    max_batch: z.number().int().min(1),
    encodings: z.array(z.string().max(MAX_ENCODING_NAME)).max(MAX_ENCODINGS).optional(),
    features: z.array(z.string().max(MAX_ENCODING_NAME)).max(MAX_ENCODINGS).optional(),
  }),
  z.object({ type: z.literal('ack'), id, stored: z.number().int().min(0), duplicates: z.number().int().min(0) }),
  z.object({ type: z.literal('nack'), id, code: z.string().max(64), retryable: z.boolean(), message: z.string().max(1024) }),
]);
