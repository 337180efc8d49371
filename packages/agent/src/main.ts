/**
 * tcpfleet-agent: counts this host's TCP connections from /proc/net and pushes snapshots to a
 * collector. The only file that calls process.exit.
 */
import { TcpfleetError } from '@tcpfleet/common/agent';
import { loadAgentConfig } from './config.js';
import { fastAgentArgs } from './fast-argv.js';
import { VERSION } from './version.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function fail(message: string, code: number): never {
  process.stderr.write(`tcpfleet-agent: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const { once, json, flags } = fastAgentArgs(process.argv.slice(2)) ?? (await (await import('./yargs-argv.js')).yargsAgentArgs(process.argv.slice(2), VERSION, (m) => fail(m, EXIT_USAGE)));
  const warnings: string[] = [];
  if (json && !once) fail('--json goes with --once', EXIT_USAGE);
  const cfg = loadAgentConfig(flags, process.env, !once, (w) => warnings.push(w));

  if (once) {
    const { takeSnapshotChecked } = await import('./sampler.js');
    const { randomUUID } = await import('node:crypto');
    const { snapshot: snap, failed } = takeSnapshotChecked(
      cfg.procfs,
      { host: cfg.hostId, boot: randomUUID(), seq: 1, interval_ms: Math.round(cfg.interval * 1000), labels: { ...cfg.labels } },
      cfg.top,
    );
    if (failed) {
      fail(snap.collect.errors.join('; '), EXIT_RUNTIME);
    }
    if (cfg.namespaces) {
      const { NamespaceSampler } = await import('./namespaces/sampler.js');
      const ns = new NamespaceSampler({ ...cfg, budget: 0, intervalMs: snap.interval_ms, warn: (m) => process.stderr.write(`tcpfleet-agent: warning: ${m}\n`) });
      const part = ns.sample(snap.ts, 0, true);
      snap.collect.namespaces = part.collect;
      if (part.entries !== undefined) snap.namespaces = part.entries;
    }
    if (json) process.stdout.write(JSON.stringify(snap, null, 2) + '\n');
    else {
      const { formatSnapshotText } = await import('./format.js');
      process.stdout.write(formatSnapshotText(snap));
    }
    return;
  }

  const { createLogger } = await import('./log.js');
  const { Agent } = await import('./agent.js');
  const log = createLogger(cfg.logLevel);
  for (const w of warnings) log.warn(w);
  const agent = new Agent(cfg, log);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void agent.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  agent.start();
}

main().catch((err: unknown) => {
  if (err instanceof TcpfleetError) fail(err.message, err.code === 'TCPFLEET_ERR_CONFIG' || err.code === 'TCPFLEET_ERR_USAGE' ? EXIT_USAGE : EXIT_RUNTIME);
  fail(err instanceof Error ? err.message : String(err), EXIT_RUNTIME);
});
