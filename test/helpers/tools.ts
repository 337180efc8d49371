/**
 * External tools some tests drive (systemd-analyze, docker-compose, promtool, prometheus,
 * chromium). CI installs them (.ci/run), so there a missing tool is a failure; elsewhere the
 * test is skipped and says which package to install.
 */
import { spawnSync } from 'node:child_process';

/** Absolute path of `cmd` on PATH, or null. */
export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : null;
}

/** True when every command is installed; throws in CI when one is missing. */
export function haveTools(cmds: readonly string[], pkg: string): boolean {
  const missing = cmds.filter((c) => which(c) === null);
  if (missing.length === 0) return true;
  const msg = `${missing.join(', ')} not installed (Debian package ${pkg}; .ci/run installs it)`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  process.stderr.write(`skipping: ${msg}\n`);
  return false;
}
