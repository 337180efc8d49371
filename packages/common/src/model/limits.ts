/** Limits on everything a snapshot may carry, so one message is bounded in size and work. */
export const SNAPSHOT_LIMITS = {
  hostLength: 253,
  labels: 32,
  labelKeyLength: 64,
  labelValueLength: 256,
  counters: 512,
  counterNameLength: 64,
  errors: 16,
  errorLength: 512,
  breakdownEntries: 100,
} as const;
