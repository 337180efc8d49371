/**
 * Where each setting came from, so a bad one is named as the user gave it: a flag (`--listen`),
 * an environment variable (`TCPFLEET_LISTEN`) or a key of a config file (its path and the key),
 * followed by what is wrong, what would be valid, and the value given (never for secrets).
 *
 * Both binaries merge their settings here, lowest precedence first: defaults < config file <
 * environment < flags. Flag and variable names follow one rule from the config key: `tokenFile`
 * is `--token-file` and `TCPFLEET_TOKEN_FILE` (`labels` is the repeatable `--label`).
 */
import type { Issue } from './check.js';

/** The source of one setting. */
export type SettingOrigin = { readonly kind: 'default' } | { readonly kind: 'flag' } | { readonly kind: 'env'; readonly raw: string | undefined } | { readonly kind: 'file'; readonly path: string };

/** The command-line flag of a config key: `tokenFile` -> `--token-file`, `labels` -> `--label`. */
export function flagName(key: string): string {
  return key === 'labels' ? '--label' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The environment variable of a config key: `tokenFile` -> `TCPFLEET_TOKEN_FILE`. */
export function envName(key: string): string {
  return `TCPFLEET_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** A value as shown in a message: JSON (control characters escaped), at most 60 characters. */
function shown(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : ((JSON.stringify(v) as string | undefined) ?? 'undefined');
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const squash = (k: string): string => k.toLowerCase().replace(/[-_]/g, '');

/** The settings of one binary, merged from their sources, each key remembering its source. */
export class SettingSources {
  /** The merged values, as the schema checks them. */
  readonly merged: Record<string, unknown> = {};
  readonly #origins = new Map<string, SettingOrigin>();
  readonly #secret: ReadonlySet<string>;
  #file: string | null = null;

  /** `secret` keys never have their value shown. */
  constructor(secret: readonly string[] = ['token']) {
    this.#secret = new Set(secret);
  }

  /**
   * Lays `values` over what is there. Keys listed in `byEntry` hold objects merged entry by entry
   * (a `--label env=x` overrides only `env`), each entry keeping its own source.
   */
  layer(values: Record<string, unknown>, origin: (key: string) => SettingOrigin, byEntry: readonly string[] = []): this {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      const o = origin(key);
      const before = this.merged[key];
      const merge = byEntry.includes(key) && isObject(value) && isObject(before);
      if (!merge) for (const k of [...this.#origins.keys()]) if (k.startsWith(`${key}.`)) this.#origins.delete(k);
      if (byEntry.includes(key) && isObject(value)) for (const k of Object.keys(value)) this.#origins.set(`${key}.${k}`, o);
      this.#origins.set(key, o);
      this.merged[key] = merge ? { ...before, ...value } : value;
    }
    return this;
  }

  /** Adds the values of a config file read from `path`. */
  file(values: Record<string, unknown>, path: string, byEntry: readonly string[] = []): this {
    this.#file = path;
    const o: SettingOrigin = { kind: 'file', path };
    return this.layer(values, () => o, byEntry);
  }

  /** Adds values read from the environment (`env` is consulted for each key's raw text). */
  env(values: Record<string, unknown>, env: NodeJS.ProcessEnv, byEntry: readonly string[] = []): this {
    return this.layer(values, (k) => ({ kind: 'env', raw: env[envName(k)] }), byEntry);
  }

  /** Adds values given as flags. */
  flags(values: Record<string, unknown>, byEntry: readonly string[] = []): this {
    const o: SettingOrigin = { kind: 'flag' };
    return this.layer(values, () => o, byEntry);
  }

  /** The source of a key (or `key.entry`). */
  origin(path: readonly (string | number)[]): SettingOrigin {
    const key = String(path[0] ?? '');
    return this.#origins.get(`${key}.${String(path[1] ?? '')}`) ?? this.#origins.get(key) ?? { kind: 'default' };
  }

  /**
   * A setting as the user gave it: `flag --listen`, `environment variable TCPFLEET_LISTEN`,
   * `config file ./c.json: listen`, or `the default --listen` when no source set it.
   */
  name(path: readonly (string | number)[]): string {
    const key = String(path[0] ?? '');
    const rest = path.slice(1).join('.');
    const o = this.origin(path);
    const sub = rest === '' ? '' : ` (${rest})`;
    switch (o.kind) {
      case 'flag':
        return `flag ${flagName(key)}${sub}`;
      case 'env':
        return `environment variable ${envName(key)}${sub}`;
      case 'file':
        return `config file ${o.path}: ${path.join('.')}`;
      default:
        return `the default ${flagName(key)}${sub}`;
    }
  }

  /** The value at `path` as shown after a problem (" (got 5)"), or "" for secrets and objects. */
  got(path: readonly (string | number)[]): string {
    const key = String(path[0] ?? '');
    if (this.#secret.has(key)) return '';
    const o = this.origin(path);
    if (o.kind === 'env' && path.length === 1 && o.raw !== undefined) return ` (got ${shown(o.raw)})`;
    let v: unknown = this.merged;
    for (const p of path) v = isObject(v) ? v[String(p)] : undefined;
    // Objects are shown by their entries' problems; NaN is what a flag parser made of text.
    if (v === undefined || (typeof v === 'object' && v !== null) || Number.isNaN(v)) return '';
    return ` (got ${shown(v)})`;
  }

  /** One line per problem, each naming its source; unknown keys with the key meant or the keys there are. */
  problems(issues: readonly Issue[], known: readonly string[]): string[] {
    return issues.flatMap((i) => {
      if (i.keys !== undefined) {
        // Flags and variables set known keys only: an unknown one comes from the config file.
        const where = this.#file === null ? 'settings' : `config file ${this.#file}`;
        return i.keys.map((k) => {
          const meant = known.find((x) => squash(x) === squash(k));
          return `${where}: unknown key ${JSON.stringify(k)}${meant !== undefined ? ` (did you mean "${meant}"?)` : ` (known keys: ${known.join(', ')})`}`;
        });
      }
      return [`${this.name(i.path)}: ${i.message}${this.got(i.path)}`];
    });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
