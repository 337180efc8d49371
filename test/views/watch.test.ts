/**
 * `tcpfleet watch` against a real collector and real agents: plain frames when stdout is not a
 * terminal (no escape codes, hosts ranked by --state, fleet total equal to the API's,
 * sparklines), one clear line and exit 1 when the collector is unreachable, exit 2 on a bad
 * state; and on a real terminal (tmux) one screen redrawn in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/fixtures.js';
import { getJson } from '../helpers/http.js';
import { COLLECTOR_BIN, cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { haveTools } from '../helpers/tools.js';

const haveTmux = haveTools(['tmux'], 'tmux');

describe('tcpfleet watch', () => {
  const tmp = tempDir('watch');
  let collector: Collector;
  const agents: Proc[] = [];

  beforeAll(async () => {
    collector = await startCollector(tmp.dir);
    // Two fixed /proc trees: the fixture (16 established) and a copy with only its first 4 tcp lines.
    const small = join(tmp.dir, 'proc-small');
    cpSync(join(FIXTURES, 'proc'), small, { recursive: true });
    const tcp = readFileSync(join(small, 'net/tcp'), 'utf8').split('\n');
    writeFileSync(join(small, 'net/tcp'), tcp.slice(0, 5).join('\n') + '\n');
    writeFileSync(join(small, 'net/tcp6'), (readFileSync(join(small, 'net/tcp6'), 'utf8').split('\n')[0] ?? '') + '\n');
    agents.push(startAgent(collector, tmp.dir, ['--procfs', small, '--host-id', 'aaa-small']));
    agents.push(startAgent(collector, tmp.dir, ['--procfs', join(FIXTURES, 'proc'), '--host-id', 'zzz-big']));
    await waitFor(() => {
      const r = cli(['total', '--json', '--url', collector.url]);
      return r.code === 0 && (JSON.parse(r.stdout) as { hosts: number }).hosts === 2;
    }, 'both agents to report');
  });

  afterAll(async () => {
    for (const a of agents) await stopProc(a);
    await stopProc(collector);
    killAll();
    tmp.cleanup();
  });

  it("prints plain frames when stdout is not a terminal, ranked by --state, with the API's total", async () => {
    const r = cli(['watch', '--url', collector.url, '--state', 'established', '--count', '2', '--interval', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    const frames = r.stdout.split(/^(?=tcpfleet watch )/m);
    expect(frames).toHaveLength(2);
    const total = await getJson<{ hosts: number; states: Record<string, number> }>(`${collector.url}/api/v1/total`);
    const lines = frames[1]!.split('\n');
    expect(lines[0]).toContain(`tcpfleet watch  ${collector.url}  ranked by established`);
    expect(lines[1]).toContain(`fleet: 2 live hosts, 0 stale   established ${total.states['established']}`);
    const rows = lines.filter((l) => /^(aaa-small|zzz-big)\s/.test(l));
    // zzz-big has more established connections, so it comes first despite its name.
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['zzz-big', 'aaa-small']);
    const hosts = await getJson<{ host: string; states: Record<string, number> }[]>(`${collector.url}/api/v1/hosts`);
    for (const row of rows) {
      const [host, value] = row.split(/\s+/);
      expect(Number(value)).toBe(hosts.find((h) => h.host === host)!.states['established']);
      expect(row).toMatch(/[▁▂▃▄▅▆▇█]/);
      expect(row.trimEnd()).toMatch(/live$/);
    }
    const byListen = cli(['watch', '--url', collector.url, '--state', 'listen', '--count', '1']);
    expect(byListen.code).toBe(0);
    expect(byListen.stdout).toContain('ranked by listen');
    expect(byListen.stdout).toMatch(/HOST\s+LISTEN/);
  });

  it('says in one line when the collector is unreachable (exit 1), and refuses a bad state (exit 2)', () => {
    const r = cli(['watch', '--url', 'http://127.0.0.1:1', '--count', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('cannot reach the collector at http://127.0.0.1:1')]);
    const bad = cli(['watch', '--url', collector.url, '--state', 'establishd', '--count', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('tcpfleet: unknown state "establishd"; see --help for the names');
  });

  it.skipIf(!haveTmux)('redraws one screen in place on a terminal', async () => {
    const sock = `tf${process.pid}-watch`;
    const tmux = (args: string[]): string => spawnSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', timeout: 10_000 }).stdout;
    try {
      tmux(['new-session', '-d', '-x', '140', '-y', '20', `${process.execPath} ${COLLECTOR_BIN} watch --url ${collector.url} --interval 0.3`]);
      let screen = '';
      await waitFor(() => {
        screen = tmux(['capture-pane', '-p']);
        return screen.includes('zzz-big');
      }, 'the watch screen in tmux');
      // Several refreshes later (three different clocks seen in the header, so at least two redraws
      // happened) there is still exactly one header: the screen is redrawn, not appended.
      const clocks = new Set<string>();
      const redrawn = (): boolean => {
        screen = tmux(['capture-pane', '-p']);
        const clock = /(\d\d:\d\d:\d\d) UTC/.exec(screen.split('\n')[0] ?? '')?.[1];
        if (clock !== undefined) clocks.add(clock);
        return clocks.size >= 3;
      };
      await waitFor(redrawn, 'three redraws with a new clock', 15_000);
      expect(screen.split('\n').filter((l) => l.startsWith('tcpfleet watch')).length).toBe(1);
      expect(screen.split('\n')[0]).toMatch(/^tcpfleet watch /);
      expect(screen).toMatch(/zzz-big\s+16\s/);
      tmux(['send-keys', 'C-c']);
      await waitFor(() => !tmux(['list-panes', '-F', '#{pane_current_command}']).includes('node'), 'watch to exit on Ctrl-C', 10_000);
    } finally {
      spawnSync('tmux', ['-L', sock, 'kill-server'], { timeout: 10_000 });
    }
  });
});
