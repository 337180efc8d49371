/** iptables inside a test's own namespace, for faults that drop packets (half-open, loss). */
import { execFileSync } from 'node:child_process';

/** True when the iptables command exists. */
export function hasIptables(): boolean {
  try {
    execFileSync('iptables', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs iptables with `args` inside namespace `ns`. */
export function ipt(ns: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, 'iptables', ...args], { stdio: 'ignore', timeout: 10_000 });
}
