/**
 * Container names from cheap local sources, looked up by container id: the Kubernetes log
 * directory (file names only, listed again only when an id is not found and the directory
 * changed since, at most once per round) and Docker's per-container config.v2.json (read once
 * per id). Both caches are bounded and pruned to the ids in use; a missing directory or file
 * just means no name.
 */
import { opendirSync, statSync } from 'node:fs';
import { readProcFile } from '@tcpfleet/common/agent';
import { parseKubeLogName } from './kube-log-names.js';
import type { KubeLogName } from './kube-log-names.js';
import { DOCKER_CONFIG_MAX_BYTES, parseDockerConfigName } from './docker-names.js';

/** Most file names of the kube log directory looked at per listing. */
const MAX_LOG_FILES = 20_000;
/** Most container ids whose Docker name is remembered. */
const MAX_DOCKER_NAMES = 4096;
/** Rounds before an id without a Docker config is tried again. */
const DOCKER_RETRY_ROUNDS = 6;
const ID = /^[0-9a-f]{12,128}$/;

export class NameSources {
  readonly #kubeLogDir: string;
  readonly #dockerDir: string;
  #round = 0;
  #listedRound = -1;
  #listedMtime = -1;
  #kube = new Map<string, KubeLogName>();
  readonly #docker = new Map<string, { name: string | null; round: number }>();

  constructor(kubeLogDir: string, dockerDir: string) {
    this.#kubeLogDir = kubeLogDir;
    this.#dockerDir = dockerDir;
  }

  /** Starts a new round (one snapshot). */
  nextRound(): void {
    this.#round++;
  }

  /** Kubernetes names of container `id`, listing the log directory again if it is not known. */
  kube(id: string): KubeLogName | undefined {
    const hit = this.#kube.get(id);
    if (hit !== undefined || this.#listedRound === this.#round) return hit;
    this.#listedRound = this.#round;
    // A pod's sandbox has no log file: its id is never found, and the listing is redone only
    // when a file came or went (the directory's mtime changed).
    let mtime = -2;
    try {
      mtime = statSync(this.#kubeLogDir).mtimeMs;
    } catch {
      // No such directory: nothing to list.
    }
    if (mtime === this.#listedMtime) return undefined;
    this.#listedMtime = mtime;
    const next = new Map<string, KubeLogName>();
    try {
      const dir = opendirSync(this.#kubeLogDir);
      try {
        for (let i = 0; i < MAX_LOG_FILES; i++) {
          const e = dir.readSync();
          if (e === null) break;
          const n = parseKubeLogName(e.name);
          if (n !== null) next.set(n.id, n);
        }
      } finally {
        dir.closeSync();
      }
    } catch {
      // No such directory (not a Kubernetes node) or not readable: no names from it.
    }
    this.#kube = next;
    return next.get(id);
  }

  /** Docker's name of container `id`, from its config.v2.json. */
  docker(id: string): string | undefined {
    if (!ID.test(id)) return undefined;
    const hit = this.#docker.get(id);
    if (hit !== undefined && (hit.name !== null || this.#round - hit.round < DOCKER_RETRY_ROUNDS)) return hit.name ?? undefined;
    let name: string | null = null;
    try {
      const text = readProcFile(this.#dockerDir, `containers/${id}/config.v2.json`, DOCKER_CONFIG_MAX_BYTES);
      if (text !== null) name = parseDockerConfigName(Buffer.from(text, 'latin1').toString('utf8'));
    } catch {
      // Unreadable or too large: no name.
    }
    if (this.#docker.size >= MAX_DOCKER_NAMES && !this.#docker.has(id)) {
      const oldest = this.#docker.keys().next().value;
      if (oldest !== undefined) this.#docker.delete(oldest);
    }
    this.#docker.set(id, { name, round: this.#round });
    return name ?? undefined;
  }

  /** Forgets Docker names of ids no longer in use. */
  prune(inUse: ReadonlySet<string>): void {
    for (const id of this.#docker.keys()) if (!inUse.has(id)) this.#docker.delete(id);
  }
}
