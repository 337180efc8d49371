// Tables on stdout and sections of bench/RESULTS.md. Each benchmark writes its section to
// bench/results/<name>.md; run.mjs assembles RESULTS.md from every section present, so one
// benchmark can be re-run alone (node bench/run.mjs agent) without losing the others.
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BENCH = fileURLToPath(new URL('../', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS_DIR = `${BENCH}results/`;

export function table(head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => String(c)));
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => c.padEnd(w[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function mdTable(head, rows) {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n';
}

export function verdict(met, ratioText) {
  return met ? `**met** (${ratioText})` : `**short** (${ratioText})`;
}

export function machine() {
  const c = cpus();
  let kernel = release();
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {}
  let sqlite = '';
  try {
    sqlite = execFileSync(process.execPath, ['-e', "const D=require('better-sqlite3');console.log(new D(':memory:').prepare('select sqlite_version() v').get().v)"], {
      cwd: `${REPO}packages/collector`,
      encoding: 'utf8',
    }).trim();
  } catch {}
  return { cpu: `${c.length} x ${c[0]?.model ?? '?'}`, memGiB: (totalmem() / 2 ** 30).toFixed(1), kernel, node: process.version, sqlite, load };
}

export function writeSection(name, markdown, ran = new Date()) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // The run time goes into the section itself: file times do not survive a git checkout.
  const when = ran.toISOString().replace(/:\d\d\.\d+Z$/, 'Z');
  writeFileSync(`${RESULTS_DIR}${name}.md`, markdown.replace(/^(## [^\n]*)\n/, `$1\n\nRun ${when}.\n`));
}

export function writeJson(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}${name}.json`, JSON.stringify(data, null, 2) + '\n');
}

const ORDER = ['agent', 'ingest', 'fleet', 'queries', 'selectors', 'storage', 'cli', 'namespaces'];

export function assemble() {
  const m = machine();
  const parts = [];
  parts.push('# tcpfleet benchmark results\n');
  parts.push(
    'Written by `npm run bench` (bench/run.mjs); every figure below comes from a real run on the machine described. Targets are reported as met or short, never as a build failure. Re-run one part with `node bench/run.mjs agent|ingest|fleet|queries|selectors|storage|cli|namespaces`.\n',
  );
  parts.push(
    `Assembled ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Machine: ${m.cpu}, ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, SQLite ${m.sqlite}; load average when assembled ${m.load}. The box is shared with other engineers' builds and tests, so expect noise of tens of percent between runs.\n`,
  );
  const files = existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.md')) : [];
  const names = files.map((f) => f.slice(0, -3)).sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  for (const n of names) {
    // Each section says when it was run (sections can be re-run one at a time); writeSection
    // records it, older sections fall back to the file's time.
    const text = readFileSync(`${RESULTS_DIR}${n}.md`, 'utf8');
    const when = statSync(`${RESULTS_DIR}${n}.md`)
      .mtime.toISOString()
      .replace(/:\d\d\.\d+Z$/, 'Z');
    parts.push(/^## [^\n]*\n\nRun \d{4}-/.test(text) ? text : text.replace(/^(## [^\n]*)\n/, `$1\n\nRun ${when}.\n`));
  }
  if (existsSync(`${BENCH}NOTES.md`)) parts.push(readFileSync(`${BENCH}NOTES.md`, 'utf8'));
  writeFileSync(`${BENCH}RESULTS.md`, parts.join('\n'));
}

export function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return pct(s, 50);
}

export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
