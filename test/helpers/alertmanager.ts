/**
 * A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1, with its own
 * config and storage in a temporary directory, clustering off (nothing listens beyond loopback).
 * stop() kills it by its PID and removes the directory.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProc, stopProc, tempDir, waitFor } from './procs.js';
import type { Proc } from './procs.js';

const ALERTMANAGER_BIN = 'prometheus-alertmanager';

/** Whether the Alertmanager binary is installed. */
export function haveAlertmanager(): boolean {
  return spawnSync(ALERTMANAGER_BIN, ['--version'], { encoding: 'utf8' }).status === 0;
}

/** An alert as GET /api/v2/alerts answers (gettableAlert). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  status: { state: string };
}

export interface Alertmanager {
  proc: Proc;
  url: string;
  /** GET /api/v2/alerts (active, silenced, inhibited and unprocessed: every alert not yet ended). */
  alerts: () => Promise<AmAlert[]>;
  stop: () => Promise<void>;
}

/** Starts Alertmanager on 127.0.0.1:`port` with `resolveTimeout`; waits until /-/ready answers. */
export async function startAlertmanager(port: number, resolveTimeout = '5m'): Promise<Alertmanager> {
  const tmp = tempDir('alertmanager');
  const config = join(tmp.dir, 'alertmanager.yml');
  // One receiver that sends nothing anywhere: the test reads what Alertmanager holds through its API.
  writeFileSync(config, `global:\n  resolve_timeout: ${resolveTimeout}\nroute:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n`);
  const proc = startProc(ALERTMANAGER_BIN, [
    `--config.file=${config}`,
    `--storage.path=${join(tmp.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopProc(proc);
    tmp.cleanup();
  };
  try {
    await waitFor(async () => {
      if (proc.proc.exitCode !== null) throw new Error(`alertmanager exited: ${proc.stderr()}`);
      try {
        return (await fetch(`${url}/-/ready`)).ok;
      } catch {
        return false;
      }
    }, 'alertmanager to be ready');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    proc,
    url,
    alerts: async () => (await (await fetch(`${url}/api/v2/alerts`)).json()) as AmAlert[],
    stop,
  };
}
