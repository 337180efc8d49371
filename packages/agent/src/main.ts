/**
 * tcpfleet-agent: counts this host's TCP connections from /proc/net and pushes snapshots to a
 * collector. The only file that calls process.exit.
 */
import { TcpfleetError } from '@tcpfleet/common/agent';
import { loadAgentConfig } from './config.js';
import type { AgentFlags } from './config.js';
import { fastAgentArgs } from './fast-argv.js';
import type { FastArgs } from './fast-argv.js';
import { VERSION } from './version.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function fail(message: string, code: number): never {
  process.stderr.write(`tcpfleet-agent: ${message}\n`);
  process.exit(code);
}

/** The full command-line definition: help, version, usage errors and anything fastAgentArgs leaves. */
async function parseWithYargs(): Promise<FastArgs> {
  const { default: yargs } = await import('yargs');
  const { hideBin } = await import('yargs/helpers');
  const argv = await yargs(hideBin(process.argv))
    .scriptName('tcpfleet-agent')
    .usage("$0 [options]\n\nCounts this host's TCP connections by state from /proc/net, as ss does, and sends a snapshot to a tcpfleet collector every interval.")
    .options({
      once: { type: 'boolean', describe: 'Take one snapshot, print it and exit' },
      json: { type: 'boolean', describe: 'With --once: print the snapshot as JSON' },
      collector: { type: 'string', describe: 'Collector URL, ws://HOST:PORT or wss://HOST:PORT [env TCPFLEET_COLLECTOR]' },
      token: { type: 'string', describe: 'Token (visible in ps; prefer --token-file) [env TCPFLEET_TOKEN]' },
      'token-file': { type: 'string', describe: 'File holding the token, mode 0600 [env TCPFLEET_TOKEN_FILE]' },
      'host-id': { type: 'string', describe: 'Name of this host in the fleet (default: hostname) [env TCPFLEET_HOST_ID]' },
      label: { type: 'string', array: true, describe: 'key=value label, repeatable [env TCPFLEET_LABELS=k=v,k2=v2]' },
      interval: { type: 'number', describe: 'Seconds between snapshots (default 10) [env TCPFLEET_INTERVAL]' },
      procfs: { type: 'string', describe: "procfs root: /proc, /proc/PID (that process's network namespace), /host/proc (default /proc) [env TCPFLEET_PROCFS]" },
      top: { type: 'number', describe: 'Ports and peers kept in the breakdown, 0-100 (default 10)' },
      queue: { type: 'number', describe: 'Unacknowledged snapshots kept in memory (default 1000)' },
      'spool-dir': { type: 'string', describe: 'Directory of the disk spool that survives restarts [env TCPFLEET_SPOOL_DIR]' },
      'spool-bytes': { type: 'number', describe: 'Size cap of the disk spool in bytes (default 64 MiB)' },
      ca: { type: 'string', describe: "CA certificate (PEM) that signed the collector's certificate, for wss:// [env TCPFLEET_CA]" },
      'reconnect-min': { type: 'number', describe: 'Smallest reconnect delay window in seconds (default 0.5)' },
      'reconnect-max': { type: 'number', describe: 'Largest reconnect delay window in seconds (default 30)' },
      'walk-budget': { type: 'number', describe: 'Share of one core the tcp/tcp6 walk may use, 0-1 (default 0.01; 0 = walk every interval)' },
      namespaces: { type: 'boolean', describe: 'Also count every other network namespace (containers, pods), each with its container; needs root or CAP_SYS_PTRACE [env TCPFLEET_NAMESPACES=1]' },
      'max-namespaces': { type: 'number', describe: 'With --namespaces: most namespaces reported, the rest counted as overflow (default 512)' },
      'kube-log-dir': { type: 'string', describe: 'With --namespaces: Kubernetes container log links, for pod and container names (default /var/log/containers)' },
      'docker-dir': { type: 'string', describe: 'With --namespaces: Docker data directory, for container names (default /var/lib/docker)' },
      config: { type: 'string', describe: 'JSON config file (keys as in the docs); flags and env override it' },
      'log-level': { type: 'string', describe: 'fatal|error|warn|info|debug|trace|silent (default info) [env TCPFLEET_LOG_LEVEL]' },
    })
    .example('$0 --once', "Print this host's counts as ss -s and netstat -st would")
    .example('$0 --once --json --procfs /proc/1234', 'Counts of the network namespace of process 1234, as JSON')
    .example('$0 --once --json --namespaces', "Also every container's network namespace, attributed to its container and pod")
    .example('$0 --collector ws://10.0.0.5:7070 --token-file /etc/tcpfleet/token --label env=prod', 'Report to a collector every 10 s')
    .version(VERSION)
    .strict()
    .help()
    .fail((msg, err) => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- yargs passes no error (undefined) for a usage problem, whatever its types say
      if (err !== undefined && err !== null) throw err;
      fail(`${msg} (see --help)`, EXIT_USAGE);
    })
    .parseAsync();

  const flags: AgentFlags = {
    config: argv.config,
    collector: argv.collector,
    token: argv.token,
    tokenFile: argv['token-file'],
    hostId: argv['host-id'],
    label: argv.label,
    interval: argv.interval,
    procfs: argv.procfs,
    top: argv.top,
    queue: argv.queue,
    spoolDir: argv['spool-dir'],
    spoolBytes: argv['spool-bytes'],
    ca: argv.ca,
    walkBudget: argv['walk-budget'],
    namespaces: argv.namespaces,
    maxNamespaces: argv['max-namespaces'],
    kubeLogDir: argv['kube-log-dir'],
    dockerDir: argv['docker-dir'],
    reconnectMin: argv['reconnect-min'],
    reconnectMax: argv['reconnect-max'],
    logLevel: argv['log-level'],
  };
  return { once: argv.once === true, json: argv.json === true, flags };
}

async function main(): Promise<void> {
  const { once, json, flags } = fastAgentArgs(process.argv.slice(2)) ?? (await parseWithYargs());
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
