/**
 * Docker container names from `<docker-dir>/containers/<id>/config.v2.json`: its `Name`, without
 * the leading slash, as `docker ps` shows it. Pure: the file's text in, the name out; text that
 * is not JSON, has no usable Name, or a name that fails the checks gives null.
 */
import { NAMESPACE_LIMITS as L, checkedName } from '@tcpfleet/common/agent';

/** Largest config.v2.json read (they are a few KiB; environment and labels make them grow). */
export const DOCKER_CONFIG_MAX_BYTES = 1024 * 1024;

/** The container name in a config.v2.json text, or null. */
export function parseDockerConfigName(text: string): string | null {
  if (text.length > DOCKER_CONFIG_MAX_BYTES) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const raw = (doc as Record<string, unknown>)['Name'];
  if (typeof raw !== 'string') return null;
  return checkedName(raw.startsWith('/') ? raw.slice(1) : raw, L.nameLength) ?? null;
}
