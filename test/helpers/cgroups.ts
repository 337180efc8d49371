/**
 * cgroup v2 directories made by a test, shaped like container runtimes' cgroups, under one
 * parent the test owns (`tcpfleet-test-<pid>.slice`), and removed by it, also when the test
 * fails: removeAllCgroups() (call it in afterAll, after ending the processes moved in) moves any
 * process left over back to the root cgroup and removes the directories, deepest first. The
 * mount is found from /proc/self/mountinfo, never assumed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where cgroup v2 is mounted, or null. */
export function cgroup2Mount(): string | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    // ID parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const fstype = line.slice(dash + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mountpoint = line.slice(0, dash).split(' ')[4];
    if (mountpoint !== undefined) return mountpoint.replace(/\\040/g, ' ');
  }
  return null;
}

const parents = new Set<string>();

/** The test's own parent directory under the cgroup v2 mount (created on first use). */
export function testCgroupParent(mount: string): string {
  const dir = join(mount, `tcpfleet-test-${process.pid}.slice`);
  if (!existsSync(dir)) mkdirSync(dir);
  parents.add(dir);
  return dir;
}

/** Creates `rel` (nested directories) under the parent and moves `pid` into it; returns the cgroup path as /proc/PID/cgroup shows it. */
export function moveIntoCgroup(mount: string, rel: string, pid: number): string {
  const parent = testCgroupParent(mount);
  const dir = join(parent, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
  return dir.slice(mount.length);
}

/** Every directory below `dir`, deepest first. */
function below(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const sub = join(dir, e.name);
    out.push(...below(sub), sub);
  }
  return out;
}

/** Removes every cgroup directory this test made; processes still in them go to the root cgroup. */
export function removeAllCgroups(): void {
  for (const parent of [...parents]) {
    const mount = parent.slice(0, parent.lastIndexOf('/'));
    if (!existsSync(parent)) {
      parents.delete(parent);
      continue;
    }
    for (const dir of [...below(parent), parent]) {
      try {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter((s) => s !== '')) {
          try {
            writeFileSync(join(mount, 'cgroup.procs'), `${pid}\n`);
          } catch {
            // exited meanwhile
          }
        }
        rmdirSync(dir);
      } catch {
        // gone already, or still busy: left for the CI sweep (names start with tcpfleet-test-)
      }
    }
    parents.delete(parent);
  }
}
