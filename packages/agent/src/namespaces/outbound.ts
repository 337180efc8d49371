/**
 * What of a snapshot's per-namespace part (snapshot `namespaces` and `collect.namespaces`) goes
 * to the collector. Both encodings carry it (docs/protocol.md), but only to a collector whose
 * welcome lists the feature "ns1": an older collector would drop it from JSON batches (its schema
 * strips unknown keys) after paying for up to 512 entries of about 1.2 KB each, and would refuse
 * a bin1 frame that carries it. The uplink strips it for such a collector, and from a snapshot
 * that would not fit in one frame even alone.
 */
import type { Snapshot } from '@tcpfleet/common/agent';
import { NAMESPACE_LIMITS } from '@tcpfleet/common/agent';

/** The snapshot without its per-namespace part (the same object when it has none). */
export function withoutNamespaces(snap: Snapshot): Snapshot {
  if (snap.namespaces === undefined && snap.collect.namespaces === undefined) return snap;
  const { namespaces: _entries, ...rest } = snap;
  const { namespaces: _collect, ...collect } = snap.collect;
  return { ...rest, collect };
}

/**
 * The snapshot without its entries, keeping collect.namespaces with one error saying why: what is
 * sent when the snapshot with its entries would be larger than one frame.
 */
export function withoutEntries(snap: Snapshot, why: string): Snapshot {
  if (snap.namespaces === undefined) return snap;
  const { namespaces: _entries, ...rest } = snap;
  const k = snap.collect.namespaces;
  if (k === undefined) return rest;
  return { ...rest, collect: { ...snap.collect, namespaces: { ...k, errors: [...k.errors, why].slice(-NAMESPACE_LIMITS.errors) } } };
}
