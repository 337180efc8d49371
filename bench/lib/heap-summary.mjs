// Lists what a V8 heap snapshot holds (node --heapsnapshot-signal, BENCH_HEAP_SNAPSHOT of
// bench/session-memory.mjs): live objects grouped by kind and constructor/name, self size summed,
// largest first, with bytes per agent when N is given. Not part of `npm run bench`.
//
//   node --max-old-space-size=8192 bench/lib/heap-summary.mjs FILE.heapsnapshot [N_AGENTS] [TOP=40]
import { readFileSync } from 'node:fs';

const [file, nArg, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: heap-summary.mjs FILE.heapsnapshot [N_AGENTS] [TOP]');
const n = Number(nArg ?? 0);
const top = Number(topArg ?? 40);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const f = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = f.length;
const iType = f.indexOf('type');
const iName = f.indexOf('name');
const iSize = f.indexOf('self_size');
const nodes = snap.nodes;
const groups = new Map();
let total = 0;
for (let i = 0; i < nodes.length; i += width) {
  const type = types[nodes[i + iType]];
  const size = nodes[i + iSize];
  total += size;
  // Strings, numbers, code and arrays by kind; objects and closures by their constructor or name.
  const named = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden';
  const key = named ? `${type}: ${snap.strings[nodes[i + iName]]}` : type === 'array' ? `array: ${snap.strings[nodes[i + iName]]}` : type;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(key, g);
}
const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
const mb = (b) => (b / 1048576).toFixed(1);
console.log(`total self size ${mb(total)} MB in ${nodes.length / width} objects${n > 0 ? `; per agent ${Math.round(total / n)} bytes` : ''}`);
console.log(['MB', 'count', n > 0 ? 'bytes/agent' : '', n > 0 ? 'count/agent' : '', 'kind: name'].join('\t'));
for (const [k, g] of rows) console.log([mb(g.bytes), g.count, n > 0 ? Math.round(g.bytes / n) : '', n > 0 ? (g.count / n).toFixed(2) : '', k.slice(0, 100)].join('\t'));
