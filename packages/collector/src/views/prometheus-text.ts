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

/** Accumulates metric families and renders them. */
export class PrometheusText {
  readonly #lines: string[] = [];

  /** Adds one family with its samples (none is fine: HELP and TYPE are still written). */
  family(name: string, type: 'gauge' | 'counter', help: string, samples: readonly (readonly [Labels, number])[]): this {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      const l = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',')}}`;
      this.#lines.push(`${name}${l} ${formatValue(value)}`);
    }
    return this;
  }

  /** The exposition, ending with a newline. */
  toString(): string {
    return this.#lines.join('\n') + '\n';
  }
}
