/** Reading the Prometheus text format in tests: samples by series, and `promtool check metrics`. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Samples of the exposition as "name{labels}" -> value. */
export function promSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Runs `promtool check metrics` on the text (written into `dir`); returns its exit status and output. */
export function promtoolCheck(text: string, dir: string): { status: number | null; output: string } {
  const file = join(dir, `metrics-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const r = spawnSync('sh', ['-c', `promtool check metrics < '${file}'`], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: (r.stdout + r.stderr).trim() };
}
