/**
 * The agent's full command-line parser: yargs, for help, version, usage errors and anything the
 * fast path (fast-argv.ts) leaves. Built from the option table in options.ts.
 */
import { AGENT_OPTIONS, agentArgsFrom, agentDefaults, helpText } from './options.js';
import type { AgentArgs } from './options.js';

/** Parses `args` (without node and the script); `fail` gets a usage error's one-line message. */
export async function yargsAgentArgs(args: readonly string[], version: string, fail: (message: string) => never): Promise<AgentArgs> {
  const { default: yargs } = await import('yargs');
  const defaults = agentDefaults();
  const options = Object.fromEntries(
    AGENT_OPTIONS.map((o) => [o.name, o.type === 'strings' ? { type: 'string' as const, array: true, describe: helpText(o, defaults) } : { type: o.type, describe: helpText(o, defaults) }]),
  );
  const argv = await yargs([...args])
    .scriptName('tcpfleet-agent')
    .usage("$0 [options]\n\nCounts this host's TCP connections by state from /proc/net, as ss does, and sends a snapshot to a tcpfleet collector every interval.")
    .options(options)
    .example('$0 --once', "Print this host's counts as ss -s and netstat -st would")
    .example('$0 --once --json --procfs /proc/1234', 'Counts of the network namespace of process 1234, as JSON')
    .example('$0 --once --json --namespaces', "Also every container's network namespace, attributed to its container and pod")
    .example('$0 --collector ws://10.0.0.5:7070 --token-file /etc/tcpfleet/token --label env=prod', 'Report to a collector every 10 s')
    .version(version)
    .strict()
    .help()
    .fail((msg, err) => {
      if (err instanceof Error) throw err;
      fail(`${msg} (see --help)`);
    })
    .parseAsync();
  return agentArgsFrom((name) => (argv as Record<string, unknown>)[name]);
}
