/**
 * Which container a process belongs to, from the text of /proc/PID/cgroup: the cgroup v2 line
 * (`0::/path`), else the v1 name=systemd line, else the v1 cpu line. The path's last components
 * name the container wherever it is nested (a systemd init.scope inside it, Kubernetes in
 * Docker):
 *
 *   docker      .../docker-<id>.scope                       (systemd driver)
 *               .../docker/<id>                              (cgroupfs driver)
 *   containerd  .../cri-containerd-<id>.scope
 *   cri-o       .../crio-<id>.scope, .../crio-<id>
 *   podman      .../libpod-<id>.scope, .../libpod-<id>
 *   Kubernetes  .../kubepods[-<qos>]-pod<uid with _>.slice/<one of the above>   (systemd driver)
 *               .../kubepods[/<qos>]/pod<uid>/<id>      runtime not named: `unknown` (cgroupfs)
 *
 * Pure: text in, identity out. Anything of another shape gives null, never an exception.
 */
import { NAMESPACE_LIMITS } from '@tcpfleet/common/agent';
import type { ContainerRuntime } from '@tcpfleet/common/agent';

/** What a cgroup path says about its container. */
export interface CgroupContainer {
  runtime: ContainerRuntime;
  id: string;
  pod_uid?: string;
}

const MAX_TEXT = 64 * 1024;
const MAX_COMPONENTS = 64;
const ID = `[0-9a-f]{12,${NAMESPACE_LIMITS.idLength}}`;
const SCOPES: readonly [RegExp, ContainerRuntime][] = [
  [new RegExp(`^docker-(${ID})\\.scope$`), 'docker'],
  [new RegExp(`^cri-containerd-(${ID})\\.scope$`), 'containerd'],
  [new RegExp(`^crio-(${ID})(?:\\.scope)?$`), 'cri-o'],
  [new RegExp(`^libpod-(${ID})(?:\\.scope)?$`), 'podman'],
];
const BARE_ID = new RegExp(`^${ID}$`);
const SYSTEMD_POD = /^kubepods(?:-[a-z]+)*-pod([0-9a-f_]{8,64})\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f-]{8,64})$/;
const POD_UID = /^[0-9a-f][0-9a-f-]{7,63}$/;

/** The container of one cgroup path, or null. */
export function containerFromCgroupPath(path: string): CgroupContainer | null {
  if (path.length > 4096) return null;
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length > MAX_COMPONENTS) return null;
  // The deepest component that names a container wins.
  for (let i = parts.length - 1; i >= 0; i--) {
    const c = parts[i] ?? '';
    for (const [re, runtime] of SCOPES) {
      const m = re.exec(c);
      if (m !== null) return withPod({ runtime, id: m[1] ?? '' }, parts, i);
    }
    if (!BARE_ID.test(c) || i === 0) continue;
    const parent = parts[i - 1] ?? '';
    if (parent === 'docker') return { runtime: 'docker', id: c };
    if (CGROUPFS_POD.test(parent) && parts.slice(0, i - 1).includes('kubepods')) return withPod({ runtime: 'unknown', id: c }, parts, i);
  }
  return null;
}

/** Adds the pod uid from the nearest pod cgroup above component `at`, when there is one. */
function withPod(c: CgroupContainer, parts: readonly string[], at: number): CgroupContainer {
  for (let i = at - 1; i >= 0; i--) {
    const p = parts[i] ?? '';
    const m = SYSTEMD_POD.exec(p) ?? CGROUPFS_POD.exec(p);
    if (m === null) continue;
    const uid = (m[1] ?? '').replaceAll('_', '-');
    if (POD_UID.test(uid)) c.pod_uid = uid;
    break;
  }
  return c;
}

/** The container of a process, from the whole text of /proc/PID/cgroup, or null. */
export function containerFromCgroup(text: string): CgroupContainer | null {
  if (text.length > MAX_TEXT) return null;
  let v2: string | null = null;
  let systemd: string | null = null;
  let cpu: string | null = null;
  for (const line of text.split('\n')) {
    // hierarchy-ID:controller-list:path; the path itself may hold ':'.
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const id = line.slice(0, a);
    const controllers = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (id === '0' && controllers === '') v2 = path;
    else if (controllers === 'name=systemd') systemd = path;
    else if (controllers.split(',').includes('cpu')) cpu = path;
  }
  for (const p of [v2, systemd, cpu]) {
    if (p === null) continue;
    const c = containerFromCgroupPath(p);
    if (c !== null) return c;
  }
  return null;
}
