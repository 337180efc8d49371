/**
 * What of a snapshot goes to the collector. The per-namespace part (snapshot `namespaces` and
 * `collect.namespaces`) stays in the agent until the wire encodings carry it (issue 10, part 4):
 * today's collector would drop it from JSON batches (its schema strips unknown keys), bin1 has no
 * place for it, and at up to 512 entries of about 1.2 KB of JSON each (1.4 KB with a named container) it would push a batch past
 * the 1 MiB frame limit (the collector then closes the connection, and the same batch is sent
 * again) and fill the outbox and the disk spool. Removing this function is the switch.
 */
import type { Snapshot } from '@tcpfleet/common/agent';

/** The snapshot without its per-namespace part (the same object when it has none). */
export function withoutNamespaces(snap: Snapshot): Snapshot {
  if (snap.namespaces === undefined && snap.collect.namespaces === undefined) return snap;
  const { namespaces: _entries, ...rest } = snap;
  const { namespaces: _collect, ...collect } = snap.collect;
  return { ...rest, collect };
}
