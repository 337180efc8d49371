/**
 * A writer of the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per
 * metric family, then its samples. Label values are escaped as the format requires (backslash,
 * double quote, newline), so a host name can never break the output.
 */

/** Content-Type of the format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The labels as `k="v",...` (escaped, no braces): a prefix several samples can share. */
export function labelPairs(labels: Labels): string {
  return Object.keys(labels)
    .map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`)
    .join(',');
}

/** Accumulates metric families and renders them. */
export class PrometheusText {
  readonly #lines: string[] = [];

  /** Adds one family with its samples (none is fine: HELP and TYPE are still written). */
  family(name: string, type: 'gauge' | 'counter', help: string, samples: readonly (readonly [Labels, number])[]): this {
    return this.familyPairs(
      name,
      type,
      help,
      samples.map(([labels, value]) => [labelPairs(labels), value] as const),
    );
  }

  /** Adds one family whose samples' labels are given as labelPairs() text ('' for none). */
  familyPairs(name: string, type: 'gauge' | 'counter', help: string, samples: readonly (readonly [string, number])[]): this {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const [pairs, value] of samples) this.#lines.push(`${name}${pairs === '' ? '' : `{${pairs}}`} ${formatValue(value)}`);
    return this;
  }

  /** The exposition, ending with a newline. */
  toString(): string {
    return this.#lines.join('\n') + '\n';
  }
}
