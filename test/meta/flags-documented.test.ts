/**
 * docs/cli.md and the code say the same, both ways, for both binaries:
 * - every flag each command's `--help` lists (the yargs definitions in packages/collector/src/main.ts
 *   and packages/agent/src/main.ts, run as built) has a row in that command's table in docs/cli.md,
 *   and every row there is a flag of that command;
 * - the fast paths (collector cli/fast-path.ts, agent fast-argv.ts) accept no flag `--help` lacks;
 * - the `config key` columns are the keys the config schemas accept (collector config.ts, agent config.ts);
 * - the environment variables table lists exactly the variables the product reads.
 *
 * docs/cli.md's syntax: one `### \`tcpfleet CMD\`` (or `### \`tcpfleet-agent\``) heading per
 * command, then a table whose first column is the flag: `| \`--name VALUE\` | ...`. Each failure
 * says which flag is missing where, so adding the row is all it takes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServeConfigSchema } from '../../packages/collector/src/config.js';
import { QUERY_FLAGS } from '../../packages/collector/src/cli/fast-path.js';
import { checkAgentSettings } from '../../packages/agent/src/config.js';
import { NUMBERS, STRINGS } from '../../packages/agent/src/fast-argv.js';
import { REPO } from '../helpers/fixtures.js';
import { AGENT_BIN, COLLECTOR_BIN } from '../helpers/procs.js';
import { productSources } from '../helpers/product-sources.js';

const DOC = 'docs/cli.md';
const doc = readFileSync(join(REPO, DOC), 'utf8');
/** Flags every command has; documented once at the top of docs/cli.md. */
const EVERYWHERE = new Set(['--help', '--version']);

/** A command's section of docs/cli.md: its flags and, when its table has the column, their config keys. */
interface DocSection {
  heading: string;
  flags: string[];
  configKeys: string[] | null;
}

function docSections(): Map<string, DocSection> {
  const out = new Map<string, DocSection>();
  const lines = doc.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^### `(tcpfleet(?:-agent)?(?: [a-z][a-z -]*)?)`\s*$/.exec(lines[i] ?? '');
    if (m === null) continue;
    const section: DocSection = { heading: lines[i]!, flags: [], configKeys: null };
    let keyCol = -1;
    for (let j = i + 1; j < lines.length && !/^#/.test(lines[j] ?? ''); j++) {
      const cells = (lines[j] ?? '')
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim());
      if (cells.length === 0) continue;
      if (cells[0] === 'flag') {
        keyCol = cells.indexOf('config key');
        if (keyCol >= 0) section.configKeys = [];
        continue;
      }
      const flag = /^`(--[a-z][a-z0-9-]*)[ `]/.exec(cells[0] ?? '');
      if (flag === null) continue;
      section.flags.push(flag[1]!);
      const key = keyCol >= 0 ? /^`([A-Za-z]+)`/.exec(cells[keyCol] ?? '') : null;
      if (key !== null) section.configKeys?.push(key[1]!);
    }
    out.set(m[1]!, section);
  }
  return out;
}

function help(bin: string, args: readonly string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${[bin, ...args].join(' ')} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The flags in the Options section of a yargs help text. */
function helpFlags(text: string): string[] {
  const section = text.split(/^Options:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2,6}(?:-\w, +)?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
}

/** The commands `tcpfleet --help` lists, as the words before their positionals ("host", "token", "host rm"). */
function collectorCommands(): string[] {
  const text = help(COLLECTOR_BIN, []);
  const section = text.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2}tcpfleet ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)/gm)].map((m) => m[1]!);
}

const sections = docSections();
const commands = collectorCommands().map((c) => ({ name: `tcpfleet ${c}`, bin: COLLECTOR_BIN, args: c.split(' ') }));
const all = [...commands, { name: 'tcpfleet-agent', bin: AGENT_BIN, args: [] as string[] }];
const codeFlags = new Map(all.map((c) => [c.name, helpFlags(help(c.bin, c.args)).filter((f) => !EVERYWHERE.has(f))]));

describe(`${DOC} documents every flag and only flags that exist`, () => {
  it('finds the commands and their flags (the parsers work)', () => {
    expect(commands.map((c) => c.name)).toEqual(expect.arrayContaining(['tcpfleet serve', 'tcpfleet hosts', 'tcpfleet token', 'tcpfleet db']));
    expect(codeFlags.get('tcpfleet serve')).toEqual(expect.arrayContaining(['--listen', '--db', '--config']));
    expect(codeFlags.get('tcpfleet-agent')).toEqual(expect.arrayContaining(['--collector', '--once', '--label']));
    expect(sections.get('tcpfleet serve')?.flags).toEqual(expect.arrayContaining(['--listen', '--db']));
    expect(sections.get('tcpfleet serve')?.configKeys).toEqual(expect.arrayContaining(['listen', 'db']));
  });

  it('every command has a section, and every section is a command', () => {
    const problems: string[] = [];
    for (const c of all) if (!sections.has(c.name)) problems.push(`${c.name} (from its --help) has no section in ${DOC}: add a heading "### \`${c.name}\`" with a table of its flags`);
    for (const [name, s] of sections) if (!codeFlags.has(name)) problems.push(`${DOC} has a section "${s.heading}" but there is no command ${name} (not in tcpfleet --help)`);
    expect(problems).toEqual([]);
  });

  it('every flag of the code is documented under its command, and every documented flag exists', () => {
    const problems: string[] = [];
    for (const [name, flags] of codeFlags) {
      const s = sections.get(name);
      if (s === undefined) continue;
      for (const f of flags)
        if (!s.flags.includes(f)) problems.push(`${name}: flag ${f} is in the code (${name} --help) but not in ${DOC}: add a row "| \`${f} ...\` | ... |" to the table under "${s.heading}"`);
      for (const f of s.flags) if (!flags.includes(f)) problems.push(`${name}: ${DOC} documents ${f} under "${s.heading}" but ${name} --help has no such flag: remove the row, or add the flag`);
      const dup = s.flags.filter((f, i) => s.flags.indexOf(f) !== i);
      for (const f of dup) problems.push(`${name}: ${DOC} documents ${f} twice under "${s.heading}"`);
    }
    expect(problems).toEqual([]);
  });

  it('the fast paths accept only flags the full parser knows', () => {
    const problems: string[] = [];
    for (const [cmd, spec] of Object.entries(QUERY_FLAGS)) {
      const flags = codeFlags.get(`tcpfleet ${cmd}`) ?? [];
      for (const f of [...spec.strings, 'json'])
        if (!flags.includes(`--${f}`)) problems.push(`packages/collector/src/cli/fast-path.ts accepts --${f} for tcpfleet ${cmd}, but tcpfleet ${cmd} --help has no such flag`);
    }
    const agent = codeFlags.get('tcpfleet-agent') ?? [];
    for (const f of [...Object.keys(STRINGS), ...Object.keys(NUMBERS), 'once', 'json', 'label'])
      if (!agent.includes(`--${f}`)) problems.push(`packages/agent/src/fast-argv.ts accepts --${f}, but tcpfleet-agent --help has no such flag`);
    expect(problems).toEqual([]);
  });

  it('the config key columns are the keys the config files accept', () => {
    const problems: string[] = [];
    const schemas: [string, readonly string[], string][] = [
      ['tcpfleet serve', ServeConfigSchema.keyof().options, 'ServeConfigSchema in packages/collector/src/config.ts'],
      ['tcpfleet-agent', checkAgentSettings.keys, 'checkAgentSettings in packages/agent/src/config.ts'],
    ];
    for (const [name, keys, where] of schemas) {
      const s = sections.get(name);
      const documented = s?.configKeys ?? [];
      if (s?.configKeys === null || s === undefined) problems.push(`${DOC}: the table under "### \`${name}\`" has no "config key" column`);
      for (const k of keys) if (!documented.includes(k)) problems.push(`${name}: config key ${k} (${where}) is not in the "config key" column of ${DOC} under "### \`${name}\`"`);
      for (const k of documented) if (!keys.includes(k)) problems.push(`${name}: ${DOC} gives config key ${k} under "### \`${name}\`" but ${where} has no such key`);
    }
    expect(problems).toEqual([]);
  });
});

/** String literals naming a TCPFLEET_ variable in product code (comments removed; error codes and test hooks apart). */
function variablesRead(): Set<string> {
  const found = new Set<string>();
  for (const { text } of productSources()) for (const m of text.matchAll(/['"`](TCPFLEET_[A-Z_]+)['"`]/g)) if (!/^TCPFLEET_(ERR|TEST)_/.test(m[1]!)) found.add(m[1]!);
  return found;
}

describe(`${DOC} lists the environment variables the product reads`, () => {
  it('both ways', () => {
    const table = doc.split(/^## Environment variables$/m)[1]?.split(/^## /m)[0] ?? '';
    const documented = [...table.matchAll(/^\| `(TCPFLEET_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
    const read = variablesRead();
    expect(read.size, 'the code reads some variables').toBeGreaterThan(5);
    const problems: string[] = [];
    for (const v of read) if (!documented.includes(v)) problems.push(`${v} is read in packages/*/src but not in the table under "## Environment variables" in ${DOC}`);
    for (const v of documented) if (!read.has(v)) problems.push(`${DOC} lists ${v} under "## Environment variables" but no product code reads it`);
    expect(problems).toEqual([]);
  });
});
