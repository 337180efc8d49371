/**
 * Container attribution from /proc/PID/cgroup text: every runtime shape the issue lists, nested
 * anywhere, the v1 fallbacks, and shapes it must not claim (conmon, pod-level cgroups, short or
 * non-hex ids, junk) giving null, never an exception.
 */
import { describe, expect, it } from 'vitest';
import { containerFromCgroup, containerFromCgroupPath } from '../../../packages/agent/src/namespaces/cgroup-path.js';

const ID = 'a'.repeat(40) + '0123456789abcdef01234567';
const ID2 = 'b'.repeat(64);
const UID = '1f2e3d4c-5b6a-4789-8abc-def012345678';
const UID_ = UID.replaceAll('-', '_');

describe('containerFromCgroupPath', () => {
  it.each([
    ['docker, systemd driver', `/system.slice/docker-${ID}.scope`, { runtime: 'docker', id: ID }],
    ['docker, cgroupfs driver', `/docker/${ID}`, { runtime: 'docker', id: ID }],
    ['docker with systemd inside the container', `/system.slice/docker-${ID}.scope/init.scope`, { runtime: 'docker', id: ID }],
    [
      'containerd, kubernetes systemd driver',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', id: ID, pod_uid: UID },
    ],
    ['containerd, guaranteed pod', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', id: ID, pod_uid: UID }],
    ['kubernetes cgroupfs driver', `/kubepods/burstable/pod${UID}/${ID}`, { runtime: 'unknown', id: ID, pod_uid: UID }],
    ['kubernetes cgroupfs driver, guaranteed', `/kubepods/pod${UID}/${ID}`, { runtime: 'unknown', id: ID, pod_uid: UID }],
    ['cri-o, systemd driver', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`, { runtime: 'cri-o', id: ID, pod_uid: UID }],
    ['cri-o alone', `/machine.slice/crio-${ID}.scope`, { runtime: 'cri-o', id: ID }],
    ['cri-o, cgroupfs driver', `/kubepods/besteffort/pod${UID}/crio-${ID}`, { runtime: 'cri-o', id: ID, pod_uid: UID }],
    ['podman, systemd', `/machine.slice/libpod-${ID}.scope`, { runtime: 'podman', id: ID }],
    ['podman rootless', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, { runtime: 'podman', id: ID }],
    ['podman, cgroupfs', `/libpod_parent/libpod-${ID}`, { runtime: 'podman', id: ID }],
    ['kubernetes in docker (kind): the inner container wins', `/docker/${ID2}/kubepods/burstable/pod${UID}/${ID}`, { runtime: 'unknown', id: ID, pod_uid: UID }],
    ['nested in a test-owned parent', `/tcpfleet-test-1.slice/system.slice/docker-${ID}.scope`, { runtime: 'docker', id: ID }],
    [
      'static pod uid (32 hex)',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${'c'.repeat(32)}.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', id: ID, pod_uid: 'c'.repeat(32) },
    ],
  ])('%s', (_name, path, want) => {
    expect(containerFromCgroupPath(path)).toEqual(want);
  });

  it.each([
    ['root', '/'],
    ['empty', ''],
    ['a user session', '/user.slice/user-0.slice/session-1.scope'],
    ['a system service', '/system.slice/ssh.service'],
    ['podman conmon (not the container)', `/machine.slice/libpod-conmon-${ID}.scope`],
    ['cri-o conmon', `/machine.slice/crio-conmon-${ID}.scope`],
    ['pod-level cgroup, no container', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`],
    ['id too short', '/system.slice/docker-abc123.scope'],
    ['id not hex', `/system.slice/docker-${'z'.repeat(64)}.scope`],
    ['id uppercase', `/system.slice/docker-${ID.toUpperCase()}.scope`],
    ['id too long', `/docker/${'a'.repeat(129)}`],
    ['bare hex id under an unknown parent', `/something/${ID}`],
    ['bare hex id under a pod dir outside kubepods', `/other/pod${UID}/${ID}`],
    ['control characters', `/system.slice/docker-${ID}\u001b[31m.scope`],
    ['very deep path', '/a'.repeat(100) + `/docker/${ID}`],
    ['very long path', '/' + 'x'.repeat(5000)],
  ])('%s -> null', (_name, path) => {
    expect(containerFromCgroupPath(path)).toBeNull();
  });

  it('drops a pod uid of another shape but keeps the container', () => {
    expect(containerFromCgroupPath(`/kubepods/burstable/podNOTAUID/${ID}`)).toBeNull();
    expect(containerFromCgroupPath(`/kubepods.slice/kubepods-podXYZ.slice/cri-containerd-${ID}.scope`)).toEqual({ runtime: 'containerd', id: ID });
  });
});

describe('containerFromCgroup (the whole file)', () => {
  it('reads the cgroup v2 line', () => {
    expect(containerFromCgroup(`0::/system.slice/docker-${ID}.scope\n`)).toEqual({ runtime: 'docker', id: ID });
  });

  it('on a hybrid host, falls back to name=systemd, then cpu, when the v2 line names no container', () => {
    const hybrid = ['12:pids:/', `9:name=systemd:/docker/${ID}`, '4:memory:/x', '1:cpu,cpuacct:/', '0::/', ''].join('\n');
    expect(containerFromCgroup(hybrid)).toEqual({ runtime: 'docker', id: ID });
    const cpuOnly = ['12:pids:/', '9:name=systemd:/', `2:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`, '0::/'].join('\n');
    expect(containerFromCgroup(cpuOnly)).toEqual({ runtime: 'unknown', id: ID, pod_uid: UID });
  });

  it('prefers the v2 line when it names a container', () => {
    const text = [`9:name=systemd:/docker/${ID2}`, `0::/machine.slice/libpod-${ID}.scope`].join('\n');
    expect(containerFromCgroup(text)).toEqual({ runtime: 'podman', id: ID });
  });

  it('keeps a colon inside the path', () => {
    expect(containerFromCgroup(`0::/weird:dir/docker/${ID}\n`)).toEqual({ runtime: 'docker', id: ID });
  });

  it.each([
    ['empty', ''],
    ['no container', '0::/\n'],
    ['garbage', 'not a cgroup file\n\u0000\u0001'],
    ['lines without colons', 'abc\ndef\n'],
    ['too large', `0::/docker/${ID}\n`.repeat(4000)],
    ['binary', Buffer.from([0xff, 0xfe, 0x3a, 0x3a, 0x2f]).toString('latin1')],
  ])('%s -> null, never an exception', (_name, text) => {
    expect(containerFromCgroup(text)).toBeNull();
  });
});
