/**
 * docs/fields.md, rendered from the field table (model/fields.ts): `npx tsc -b && node
 * scripts/gen-fields-doc.mjs` writes it; test/common/fields-doc.test.ts fails when the file and
 * the table differ. Not part of any runtime path (nothing in index.ts exports it).
 */
import { SECTIONS, WALK_SIGNALS } from './fields.js';
import type { FieldDef, Scope, SectionDef } from './fields.js';

/** The field a worked example in the document adds (test/common/fields-extension.test.ts adds it for real). */
export const EXAMPLE_FIELD: FieldDef = {
  name: 'udp_inuse',
  kind: 'count',
  kernel: { file: 'net/sockstat', line: 'UDP', key: 'inuse' },
  source: 'net/sockstat "UDP: inuse"',
  scope: 'netns',
  doc: 'UDP sockets in use.',
  since: 2,
};

const SCOPES: Readonly<Record<Scope, string>> = {
  netns: "the agent's network namespace",
  host: 'the whole host (kernel-wide, every namespace)',
  mixed: 'mixes a host-wide and a per-namespace number',
  agent: 'the agent itself',
};

const fmt = (n: number): string => (Math.abs(n) === Number.MAX_SAFE_INTEGER ? `${n < 0 ? '-' : ''}2^53-1` : n.toLocaleString('en-US'));

function range(f: FieldDef): string {
  switch (f.kind) {
    case 'count':
      return f.min === undefined && f.max === undefined ? 'integer ≥ 0' : `integer ${fmt(f.min ?? 0)}..${fmt(f.max ?? Number.MAX_SAFE_INTEGER)}`;
    case 'signed':
      return 'integer, may be negative';
    case 'ms':
      return `ms 0..${fmt(f.max ?? Number.MAX_SAFE_INTEGER)}, to the µs`;
    case 'texts':
      return 'list of strings';
  }
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');
const path = (s: SectionDef, f: FieldDef): string => (s.key === null ? f.name : `${s.key}.${f.name}`);

function rollupText(s: SectionDef): string {
  if (s.rollup === 'aggregate') return 'min, max, mean, last';
  if (s.rollup === 'last') return 'last';
  // The second part of a sum whose whole and first part are kept (ipv6 = states - ipv4).
  const whole = (SECTIONS as readonly SectionDef[]).find((x) => x.sumOf?.[1] === s.key && x.rollup !== 'none');
  const first = whole?.sumOf?.[0];
  const part = (SECTIONS as readonly SectionDef[]).find((x) => x.key === first && x.rollup === 'last');
  return whole !== undefined && part !== undefined ? `last (${whole.key ?? ''} - ${part.key ?? ''})` : '—';
}

/** A value as TypeScript source: { name: 'x', kernel: { file: 'net/sockstat' } }. */
function tsLiteral(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v !== 'object' || v === null) return String(v);
  return `{ ${Object.entries(v)
    .map(([k, x]) => `${k}: ${tsLiteral(x)}`)
    .join(', ')} }`;
}

/** The document. */
export function renderFieldsDoc(): string {
  const out: string[] = [];
  const line = (s = ''): void => void out.push(s);
  line('# The numbers of a snapshot');
  line();
  line('<!-- Generated from packages/common/src/model/fields.ts by `npx tsc -b && node scripts/gen-fields-doc.mjs`.');
  line('     Do not edit: test/common/fields-doc.test.ts fails when this file and the table differ. -->');
  line();
  line('Every number a snapshot carries is declared once, in the field table');
  line('(`packages/common/src/model/fields.ts`): its name, type and range, where the kernel keeps it, whose');
  line('sockets it counts and what it means. The JSON checks (zod and the hand-written one), the stored');
  line('values and the bin1 frame, the rollups, the alert metric paths, the Prometheus families, the sockstat');
  line('parser and this page are derived from it.');
  line();
  line('**Scope** says whose sockets a number counts. `/proc/net` is the network namespace of the *reading*');
  line("process, so an agent in a container counts that container's sockets, except for the numbers the");
  line('kernel keeps for the whole host:');
  line();
  for (const [k, v] of Object.entries(SCOPES)) line(`- \`${k}\`: ${v}`);
  line();
  line('## Sections');
  line();
  line('In the order of the contract: JSON objects list their keys in this order, the stored values and');
  line('the bin1 frame hold the stored numbers in it.');
  line();
  line('| section | what | stored | rollup keeps | alert paths | Prometheus |');
  line('| --- | --- | --- | --- | --- | --- |');
  for (const s of SECTIONS as readonly SectionDef[]) {
    const name = s.key === null ? '(the snapshot)' : `\`${s.key}\``;
    const stored = s.sumOf !== undefined ? `no (${s.sumOf.join(' + ')})` : s.stored ? (s.open !== undefined ? 'yes, by layout' : 'yes') : 'no';
    const alert = !s.alert ? '—' : s.open !== undefined ? `\`${s.key}.X\`, \`rate(${s.key}.X)\`` : `\`${s.key}.X\``;
    const prom = s.prometheus === undefined ? '—' : `\`${s.prometheus.host.name}\`, \`${s.prometheus.fleet.name}\` (label \`${s.prometheus.label}\`)`;
    line(`| ${name} | ${cell(s.doc)} | ${stored} | ${rollupText(s)} | ${alert} | ${prom} |`);
  }
  line();
  line('## Fields');
  const stateSections = (SECTIONS as readonly SectionDef[]).filter((s) => s.states === true);
  line();
  line(`### ${stateSections.map((s) => `\`${s.key ?? ''}\``).join(', ')}: the twelve TCP states`);
  line();
  line(`Integers ≥ 0; scope \`netns\`. A state is the \`st\` column of a line of \`/proc/net/tcp\` (\`ipv4\`),`);
  line("`/proc/net/tcp6` (`ipv6`) or either (`states`), as the seed's awk count reads it.");
  line();
  line('| field | kernel state | meaning |');
  line('| --- | --- | --- |');
  for (const f of stateSections[0]?.fields ?? []) {
    const kernel = /st ([0-9A-F]{2}) \((TCP_[A-Z0-9_]+)\)/.exec(f.source);
    line(`| \`${f.name}\` | ${kernel === null ? '' : `${kernel[1]} \`${kernel[2]}\``} | ${cell(f.doc)} |`);
  }
  for (const s of SECTIONS as readonly SectionDef[]) {
    if (s.states === true) continue;
    line();
    line(`### ${s.key === null ? "The snapshot's own fields" : `\`${s.key}\``}`);
    line();
    line(s.doc);
    line();
    if (s.open !== undefined) {
      line(`Whatever the kernel prints on the \`${s.open.line}:\` lines of \`/proc/${s.open.file}\` (the set grows with kernel`);
      line('versions): integers, scope `netns`. Stored by layout: the names once per kernel, the values in');
      line(`that order. Alert rules read them as \`${s.key}.Name\` and \`rate(${s.key}.Name)\` (per second, between`);
      line('consecutive samples of one agent run).');
      continue;
    }
    line('| field | type | source | scope | meaning |');
    line('| --- | --- | --- | --- | --- |');
    for (const f of s.fields) line(`| \`${path(s, f)}\` | ${range(f)} | ${cell(f.source)} | \`${f.scope}\` | ${cell(f.doc)} |`);
  }
  line();
  line('## What makes the agent walk net/tcp early');
  line();
  line('Between walks (cost-adaptive sampling) the agent reads the cheap files every interval; a sudden change');
  line('in one of these since the last walk (`packages/agent/src/adaptive.ts`: 20% and at least 50) makes it');
  line('walk at once:');
  line();
  for (const s of WALK_SIGNALS) line(`- ${s.name}`);
  line();
  line('## Adding a field: a worked example');
  line();
  line('Say the fleet should also report UDP sockets in use, the `UDP: inuse` of `/proc/net/sockstat`:');
  line();
  line('```');
  line('sockets: used 24');
  line('TCP: inuse 17 orphan 0 tw 4 alloc 25 mem 0');
  line('UDP: inuse 3 mem 2');
  line('```');
  line();
  line('1. Append it to the `sockstat` fields in `packages/common/src/model/fields.ts`, with `since` one above');
  line("   the highest in the table (release 0.1.0's fields are version 1):");
  line();
  line('   ```ts');
  line(`   ${tsLiteral(EXAMPLE_FIELD)},`);
  line('   ```');
  line();
  line('2. Give the parser a fixture line to read: a `test/fixtures/proc-cases/net-sockstat/` case with the');
  line('   line (the fixture tree `test/fixtures/proc/net/sockstat` already has one), and update the golden');
  line('   snapshot with `npm run test:update` (review its diff: one new key, `sockstat.udp_inuse`).');
  line('3. `npx tsc -b && node scripts/gen-fields-doc.mjs` (this page gets its row).');
  line();
  line('Nothing else changes. The sockstat parser reads the new key from its line; the JSON checks require');
  line('it of new agents and fill in 0 for older ones; the stored values and the bin1 frame carry one more');
  line('number, after the numbers of version 1; rollups keep its last value (`sockstat` is a `last` section);');
  line("alert rules can use `sockstat.udp_inuse`. Data written before it (old databases, old agents' frames)");
  line("reads it as 0: a reader tells a blob's version from how many numbers it holds.");
  line('`test/common/fields-extension.test.ts` makes exactly this change to a copy of the table and checks it');
  line('against the samples of release 0.1.0.');
  line();
  line('The rules that keep old data readable: append only (never rename, reorder or remove a field); every');
  line('field added in one release shares one `since`; and upgrade collectors before agents (an older');
  line('collector refuses a snapshot with a key it does not know).');
  line();
  line('A counter of `/proc/net/snmp` (`Tcp:`) or `/proc/net/netstat` (`TcpExt:`) needs no change at all: those');
  line('sections keep every counter the kernel prints. A section made of the same fields elsewhere (a');
  line("snapshot's per-namespace entries, say) reuses the table's sections: `sectionSchema()` in");
  line('`model/snapshot.ts`, the section checks of `protocol/fast-batch.ts` and the plan of `model/field-plan.ts`');
  line('take a section, not a snapshot.');
  return out.join('\n') + '\n';
}
