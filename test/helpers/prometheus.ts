/** Prometheus in tests: samples of the text format by series, `promtool check metrics`, and a real server that scrapes a collector. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, getJson } from './http.js';
import { startProc, waitFor } from './procs.js';
import type { Proc } from './procs.js';

/** Samples of the exposition as "name{labels}" -> value. */
export function promSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Runs `promtool check metrics` on the text (written into `dir`); returns its exit status and output. */
export function promtoolCheck(text: string, dir: string): { status: number | null; output: string } {
  const file = join(dir, `metrics-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const r = spawnSync('sh', ['-c', `promtool check metrics < '${file}'`], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: (r.stdout + r.stderr).trim() };
}

/** One result of an instant query. */
export interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

/** A real Prometheus server on 127.0.0.1 scraping `target` (host:port) every second. */
export interface PromServer {
  proc: Proc;
  /** Its HTTP API, `http://127.0.0.1:PORT/api/v1`. */
  api: string;
  query: (expr: string) => Promise<PromResult[]>;
  /** Waits until `expr` has at least `n` series (Prometheus scraped the target since). */
  waitSeries: (expr: string, n?: number) => Promise<PromResult[]>;
}

/**
 * Starts Prometheus (config checked with promtool) with its data under `dir`; stop it with
 * stopProc(server.proc). `scrapeConfigs` (the lines under `scrape_configs:`) replaces the one
 * job `tcpfleet` scraping `target`.
 */
export async function startPrometheus(dir: string, target: string, scrapeConfigs = `  - job_name: tcpfleet\n    static_configs:\n      - targets: ['${target}']\n`): Promise<PromServer> {
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${scrapeConfigs}`);
  const check = spawnSync('promtool', ['check', 'config', cfg], { encoding: 'utf8', timeout: 60_000 });
  if (check.status !== 0) throw new Error(`promtool check config: ${check.stdout}${check.stderr}`);
  const proc = startProc('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { cwd: dir });
  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (expr: string): Promise<PromResult[]> => (await getJson<{ data: { result: PromResult[] } }>(`${api}/query?query=${encodeURIComponent(expr)}`)).data.result;
  const waitSeries = async (expr: string, n = 1): Promise<PromResult[]> => {
    let out: PromResult[] = [];
    await waitFor(
      async () => {
        if (proc.proc.exitCode !== null) throw new Error(`prometheus exited: ${proc.stderr()}`);
        try {
          out = await query(expr);
          return out.length >= n;
        } catch {
          return false;
        }
      },
      `Prometheus to answer ${expr}`,
      60_000,
      500,
    );
    return out;
  };
  return { proc, api, query, waitSeries };
}
