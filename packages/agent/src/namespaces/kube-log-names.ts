/**
 * Kubernetes names from the file names of the kubelet's container log links
 * (/var/log/containers): `<pod>_<namespace>_<container>-<64 hex container id>.log`, the
 * convention log shippers rely on. Pod, namespace and container names cannot hold '_', so the
 * name splits unambiguously. Pure: a file name in, names out; any other shape gives null.
 */
import { NAMESPACE_LIMITS as L, checkedName } from '@tcpfleet/common/agent';

/** The names one log file stands for. */
export interface KubeLogName {
  id: string;
  pod: string;
  namespace: string;
  container: string;
}

const SHAPE = /^([^_]+)_([^_]+)_([^_]+)-([0-9a-f]{64})\.log$/;

/** Parses one file name of the kube log directory. */
export function parseKubeLogName(file: string): KubeLogName | null {
  if (file.length > L.podLength + L.namespaceLength + L.nameLength + 80) return null;
  const m = SHAPE.exec(file);
  if (m === null) return null;
  const pod = checkedName(m[1], L.podLength);
  const namespace = checkedName(m[2], L.namespaceLength);
  const container = checkedName(m[3], L.nameLength);
  if (pod === undefined || namespace === undefined || container === undefined) return null;
  return { id: m[4] ?? '', pod, namespace, container };
}
