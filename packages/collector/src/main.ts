/**
 * tcpfleet: the collector (`serve`) and the fleet query commands. Command handlers are loaded
 * only when their command runs, so a query does not pay for SQLite, zod or pino. The only file
 * that calls process.exit.
 */
import { DEFAULT_DB } from './cli/db-file.js';
import type { Argv } from 'yargs';
import { TcpfleetError } from '@tcpfleet/common/light';
import { VERSION } from './version.js';
import { fastQuery } from './cli/fast-path.js';
import { DEFAULT_URL, jsonOption as jsonOpt, queryArgsFrom, queryYargsOptions, readOptions as readOpts, runQuery, stateOption as stateOpt, urlOption as urlOpt } from './cli/query-options.js';
import type { QueryCommand } from './cli/query-options.js';
import { serveFlagsFrom, serveYargsOptions } from './cli/serve-options.js';
import { collectorUrl } from './cli/collector-url.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function fail(message: string, code: number): never {
  process.stderr.write(`tcpfleet: ${message.replace(/\s+/g, ' ').trim()}\n`);
  process.exit(code);
}

/** Runs a query command (hosts, total, host, history, top) parsed by yargs, as the fast path would. */
const query = (cmd: QueryCommand, a: Record<string, unknown>): Promise<void> =>
  runQuery(
    cmd,
    queryArgsFrom(cmd, typeof a['id'] === 'string' ? a['id'] : undefined, (n) => a[n]),
    process.env,
  );
const dbOpt = { type: 'string', default: DEFAULT_DB, describe: 'SQLite database file [env TCPFLEET_DB]' } as const;
const url = (a: { url?: string | undefined }): string => collectorUrl(a.url, process.env, DEFAULT_URL);
const readToken = async (a: { 'read-token'?: string | undefined; 'read-token-file'?: string | undefined }): Promise<string | null> =>
  (await import('./cli/read-token.js')).cliReadToken({ readToken: a['read-token'], readTokenFile: a['read-token-file'] }, process.env);
const dbGiven = (): boolean => process.argv.some((x) => x === '--db' || x.startsWith('--db='));

async function main(): Promise<void> {
  // Plain query invocations skip loading yargs (cli/fast-path.ts); everything else parses below.
  const fast = fastQuery(process.argv.slice(2), process.env);
  if (fast !== null) return fast();
  const { default: yargs } = await import('yargs');
  const { hideBin } = await import('yargs/helpers');
  // The defaults `serve --help` shows, from the config schema; zod is loaded only when serve can run.
  const serveDefaults: Record<string, unknown> = process.argv.includes('serve') ? (await import('./config.js')).ServeConfigSchema.parse({}) : {};
  const cli: Argv = yargs(hideBin(process.argv))
    .scriptName('tcpfleet')
    .usage('$0 <command> [options]\n\nThe tcpfleet collector and fleet queries.')
    .example('$0 serve --config /etc/tcpfleet/collector.json', 'Run the collector; flags > TCPFLEET_* env > config file > defaults')
    .example('$0 watch --state time_wait', 'Live view of the fleet, like top')
    .example('TCPFLEET_URL=http://10.0.0.5:7070 $0 total', 'Ask a remote collector for the fleet total')
    .command(
      'serve',
      'Run the collector: WebSocket ingest and HTTP query API on one port, SQLite storage',
      (y) =>
        y
          .options(serveYargsOptions(serveDefaults))
          .example('$0 serve --listen 0.0.0.0:7070 --token-file /etc/tcpfleet/token --read-token-file /etc/tcpfleet/read.tokens', 'Accept agents from the network; readers need a read token'),
      async (a) => {
        const { loadServeConfig } = await import('./config.js');
        const { runServe } = await import('./cli/serve.js');
        const warnings: string[] = [];
        const cfg = loadServeConfig(
          serveFlagsFrom((n) => a[n]),
          process.env,
          (w) => warnings.push(w),
        );
        await runServe(cfg, warnings);
      },
    )
    .command(
      'hosts',
      'One row per host: latest counts by state, ss summary, last seen, stale or not',
      (y) => y.options(queryYargsOptions('hosts')).example('$0 hosts --json', 'Latest snapshot of every host'),
      (a) => query('hosts', a),
    )
    .command(
      'total',
      'Fleet sums over live hosts (stale hosts counted apart)',
      (y) => y.options(queryYargsOptions('total')).example('$0 total --state established', 'Established connections across the fleet'),
      (a) => query('total', a),
    )
    .command(
      'host <id> [target]',
      'One host: latest counts, breakdown by port and peer, gaps. `host rm ID` removes a host from the fleet (--purge: and everything stored about it)',
      (y) =>
        y
          .positional('id', { type: 'string', demandOption: true, describe: 'Host id (or rm)' })
          .positional('target', { type: 'string', describe: 'With rm: the host id to remove' })
          .options({ ...queryYargsOptions('host'), db: dbOpt, purge: { type: 'boolean', default: false, describe: 'With rm: also delete its history, rollups and gaps' } })
          .example('$0 host web-7', 'What web-7 looks like now')
          .example('$0 host rm web-7 --purge', 'Remove web-7 and everything stored about it'),
      async (a) => {
        if (a.target === undefined) return query('host', a);
        if (a.id !== 'rm') throw new TcpfleetError('TCPFLEET_ERR_USAGE', `unknown host action ${JSON.stringify(a.id.slice(0, 32))}: use tcpfleet host ID, or tcpfleet host rm ID`);
        const { dbFile, requireDatabase } = await import('./cli/db-file.js');
        const file = dbFile(a.db, dbGiven(), process.env);
        requireDatabase(file, 'host rm');
        return (await import('./cli/host-rm.js')).hostRmCmd(file.path, a.target, a.purge, a['json'] === true);
      },
    )
    .command(
      'history <id>',
      "A host's snapshots over time, oldest first",
      (y) =>
        y
          .positional('id', { type: 'string', demandOption: true, describe: 'Host id' })
          .options(queryYargsOptions('history'))
          .example('$0 history web-7 --since 6h --state time_wait', 'TIME_WAIT on web-7 over six hours'),
      (a) => query('history', a),
    )
    .command(
      'top',
      'Hosts (or listening ports, or peers) with the most connections in a state',
      (y) =>
        y
          .options(queryYargsOptions('top'))
          .example('$0 top --state close_wait --limit 5', 'Five hosts with the most CLOSE_WAIT')
          .example('$0 top --by port', 'Listening ports with the most established connections, fleet-wide'),
      (a) => query('top', a),
    )
    .command(
      'watch',
      'A live view of the fleet, like top: hosts ranked by a state, sparklines of the last hour, fleet total, firing alerts',
      (y) =>
        y
          .options({
            url: urlOpt,
            state: { ...stateOpt, default: 'established', describe: 'Rank hosts by this state (and draw its sparklines)' },
            interval: { type: 'number', default: 2, describe: 'Seconds between refreshes (0.2-3600)' },
            count: { type: 'number', default: 0, describe: 'Stop after this many frames (0 = until Ctrl-C)' },
            limit: { type: 'number', describe: 'Host rows to show (default: what fits the terminal; all when not a terminal)' },
            window: { type: 'string', default: '1h', describe: 'Time the sparklines cover (1m to 24h)' },
            ...readOpts,
          })
          .example('$0 watch --state time_wait', 'Hosts with the most TIME_WAIT, redrawn every 2 s')
          .example('$0 watch --count 1 > fleet.txt', 'One plain frame, for a script or a log'),
      async (a) => {
        const { watchCmd } = await import('./cli/watch.js');
        process.exitCode = await watchCmd({ url: url(a), state: a.state, intervalS: a.interval, count: a.count, limit: a.limit, window: a.window, readToken: await readToken(a) });
      },
    )
    .command(
      'token <action> [host]',
      'Per-host write tokens: create HOST (prints it once), revoke HOST, list; with --read, read tokens by person',
      (y) =>
        y
          .positional('action', { choices: ['create', 'revoke', 'list'] as const, demandOption: true })
          .positional('host', { type: 'string', describe: "Host id (with --read: the reader's name)" })
          .options({ db: dbOpt, json: jsonOpt, read: { type: 'boolean', default: false, describe: 'Read tokens (API, /metrics, dashboard) instead of per-host write tokens' } })
          .example('$0 token create web-7 > web-7.token', 'A token that lets only web-7 write')
          .example('$0 token create --read alice > alice.read-token', 'A read token for alice; revoke it alone with token revoke --read alice'),
      async (a) => {
        const t = await import('./cli/token.js');
        const { dbFile, requireDatabase } = await import('./cli/db-file.js');
        const file = dbFile(a.db, dbGiven(), process.env);
        // Only `create` may create the database; the others read or change what is there.
        if (a.action !== 'create') requireDatabase(file, `token ${a.action}${a.read ? ' --read' : ''}`);
        if (a.action === 'list') return a.read ? t.readTokenList(file.path, a.json) : t.tokenList(file.path, a.json);
        if (a.host === undefined) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `token ${a.action} needs ${a.read ? 'a reader name' : 'a host id'}`);
        if (a.read) return a.action === 'create' ? t.readTokenCreate(file.path, a.host) : t.readTokenRevoke(file.path, a.host);
        return a.action === 'create' ? t.tokenCreate(file.path, a.host) : t.tokenRevoke(file.path, a.host);
      },
    )
    .command(
      'alerts',
      'Alerts firing and pending now (with --all the history), with the evidence behind each',
      (y) =>
        y
          .options({ url: urlOpt, json: jsonOpt, all: { type: 'boolean', default: false, describe: 'Include resolved alerts (history)' }, ...readOpts })
          .example('$0 alerts --json', 'Firing and pending alerts as the webhook payloads'),
      async (a) => (await import('./cli/alerts.js')).alertsCmd({ url: url(a), json: a.json, all: a.all, readToken: await readToken(a) }),
    )
    .command(
      'rules <action> <file> [tests]',
      'Check an alert rules file (names the rule, the field and the line of every problem), or run its tests',
      (y) =>
        y
          .positional('action', { choices: ['check', 'test'] as const, demandOption: true })
          .positional('file', { type: 'string', demandOption: true, describe: 'Rules file (YAML)' })
          .positional('tests', { type: 'string', describe: 'Tests file (YAML), for rules test' })
          .example('$0 rules check rules/stock.yml', 'Validate before reloading the collector with SIGHUP')
          .example('$0 rules test rules/stock.yml rules/stock.test.yml', 'Feed input series to the alert engine and compare the alerts with the expected ones'),
      async (a) => {
        const cmd = await import('./cli/alerts.js');
        if (a.action === 'test') {
          if (a.tests === undefined) throw new TcpfleetError('TCPFLEET_ERR_USAGE', 'rules test needs a rules file and a tests file: tcpfleet rules test FILE TESTS.yml');
          process.exitCode = await cmd.rulesTest(a.file, a.tests);
          return;
        }
        if (a.tests !== undefined) throw new TcpfleetError('TCPFLEET_ERR_USAGE', `rules check takes one file (got a second: ${a.tests})`);
        const problems = await cmd.rulesCheck(a.file);
        if (problems.length > 0) {
          for (const p of problems) process.stderr.write(`${p}\n`);
          process.exit(EXIT_USAGE);
        }
      },
    )
    .command(
      'db <action>',
      'Database: stats (row counts, size and oldest data at each resolution)',
      (y) =>
        y
          .positional('action', { choices: ['stats'] as const, demandOption: true })
          .options({ db: dbOpt, json: jsonOpt })
          .example('$0 db stats --db /var/lib/tcpfleet/tcpfleet.db', 'Rows, bytes and time span of raw data and rollups'),
      async (a) => {
        const { dbFile, requireDatabase } = await import('./cli/db-file.js');
        const file = dbFile(a.db, dbGiven(), process.env);
        requireDatabase(file, 'db stats');
        (await import('./cli/db-stats.js')).dbStatsCmd(file.path, a.json);
      },
    )
    .demandCommand(1, 'give a command; see tcpfleet --help')
    .strict()
    .help()
    .version(VERSION)
    .fail((msg, err) => {
      if (err instanceof Error) throw err;
      fail(`${msg} (see tcpfleet --help)`, EXIT_USAGE);
    });
  await cli.parseAsync();
}

main().catch((err: unknown) => {
  if (err instanceof TcpfleetError) {
    const usage = err.code === 'TCPFLEET_ERR_USAGE' || err.code === 'TCPFLEET_ERR_CONFIG' || err.code === 'TCPFLEET_ERR_RULES';
    fail(err.message, usage ? EXIT_USAGE : EXIT_RUNTIME);
  }
  fail(err instanceof Error ? err.message : String(err), EXIT_RUNTIME);
});
