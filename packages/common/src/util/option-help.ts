/**
 * The --help text of one flag, the same shape for both binaries (agent/options.ts,
 * collector/cli/serve-options.ts): its description, `(default X; note)` when it has a default,
 * and `[env VAR]` when a variable sets it too.
 */

/** A default as --help shows it: strings and numbers as they are, anything else as JSON. */
const plain = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? `${v}` : JSON.stringify(v));

export interface OptionHelp {
  describe: string;
  /** The default shown (undefined: none). */
  value?: unknown;
  /** How the default is shown, when not as the plain value. */
  shown?: ((value: unknown) => string) | undefined;
  /** Said after the default inside its parentheses. */
  note?: string | undefined;
  /** The environment variable, as --help shows it. */
  env?: string | undefined;
}

export function optionHelp(o: OptionHelp): string {
  let text = o.describe;
  if (o.value !== undefined) text += ` (default ${(o.shown ?? plain)(o.value)}${o.note === undefined ? '' : `; ${o.note}`})`;
  if (o.env !== undefined) text += ` [env ${o.env}]`;
  return text;
}
