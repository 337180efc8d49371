#!/usr/bin/env node
// `npm run build` step after tsc -b: bundles the compiled agent (packages/agent/dist/main.js)
// and everything it imports (common's zod-free entry @tcpfleet/common/agent, ws, pino, yargs) into one ESM file,
// dist/tcpfleet-agent.mjs, that needs only Node.js >= 20: no node_modules, no native modules.
// ws's optional native helpers (bufferutil, utf-8-validate) are left out: ws falls back to JS.
// The agent's optional sock_diag addon (packages/agent/build/Release/sock_diag.node, built by
// npm install) is copied next to the bundle, as dist/sock_diag.node, where the bundle looks for it.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/tcpfleet-agent.mjs`;
await build({
  entryPoints: [`${root}packages/agent/dist/main.js`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  external: ['bufferutil', 'utf-8-validate'],
  // CommonJS dependencies (pino, ws) call require(); give the ESM bundle one.
  // Run directly, the bundle starts Node with a 1 MB young generation (about 4 MB less peak RSS,
  // bench/RESULTS.md); `env -S` needs coreutils 8.30 or later. `node tcpfleet-agent.mjs` does not
  // read the shebang: pass --max-semi-space-size=1 there yourself (deploy/ does).
  banner: { js: "#!/usr/bin/env -S node --max-semi-space-size=1\nimport { createRequire as __tfCreateRequire } from 'node:module';\nconst require = __tfCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
const addon = `${root}packages/agent/build/Release/sock_diag.node`;
if (existsSync(addon)) copyFileSync(addon, `${root}dist/sock_diag.node`);
else rmSync(`${root}dist/sock_diag.node`, { force: true });
process.stdout.write(`built ${outfile.slice(root.length)} (${(statSync(outfile).size / 1024).toFixed(0)} KiB)\n`);
