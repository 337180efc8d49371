/**
 * /proc/net/sockstat and /proc/net/sockstat6.
 *
 * Kernel: net/ipv4/proc.c (sockstat_seq_show), net/ipv6/proc.c (sockstat6_seq_show).
 *
 *   sockets: used 1783
 *   TCP: inuse 27 orphan 0 tw 1 alloc 48 mem 16
 *   TCP6: inuse 10                         (sockstat6)
 *
 * Which numbers are read, from which line and key, is the field table's (model/fields.ts,
 * SOCKSTAT_READS); so is which of them count the reader's network namespace and which the host.
 */
import { ProcParseError } from '../errors.js';
import { SOCKSTAT_READS } from '../model/fields.js';
import type { FieldDef, KernelSource, Sockstat } from '../model/fields.js';

function keyValues(text: string, prefix: string, source: string): Map<string, number> | null {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.startsWith(prefix)) continue;
    const parts = line.slice(prefix.length).trim().split(/\s+/);
    if (parts.length % 2 !== 0) throw new ProcParseError(source, i + 1, line, 'odd number of key/value words');
    const out = new Map<string, number>();
    for (let k = 0; k < parts.length; k += 2) {
      const v = parts[k + 1] ?? '';
      if (!/^\d+$/.test(v)) throw new ProcParseError(source, i + 1, line, `value of ${parts[k] ?? '?'} is not an integer`);
      out.set(parts[k] ?? '', Number(v));
    }
    return out;
  }
  return null;
}

/** Where a figure is read: a field of the table with its kernel source. */
export type SockstatRead = Pick<FieldDef, 'name'> & { readonly kernel: KernelSource };

/** A parser of sockstat and sockstat6 for the given fields (SOCKSTAT_READS: the table's). */
export function sockstatReader(fields: readonly SockstatRead[]): (text: string, text6: string | null, source?: string, source6?: string) => Record<string, number> {
  // The lines each file's fields are on, in table order (`sockets:`, `TCP:`; `TCP6:`).
  const linesOf = (file: KernelSource['file']): string[] => [...new Set(fields.filter((f) => f.kernel.file === file).map((f) => `${f.kernel.line}:`))];
  const main = linesOf('net/sockstat');
  const six = linesOf('net/sockstat6');
  return (text, text6, source = 'net/sockstat', source6 = 'net/sockstat6') => {
    const lines = new Map<string, Map<string, number> | null>();
    for (const prefix of main) lines.set(`net/sockstat ${prefix}`, keyValues(text, prefix, source));
    if (text6 !== null) {
      for (const prefix of six) {
        const kv = keyValues(text6, prefix, source6);
        if (kv === null) throw new ProcParseError(source6, 1, text6.split('\n')[0] ?? '', `no "${prefix}" line`);
        lines.set(`net/sockstat6 ${prefix}`, kv);
      }
    }
    const out: Record<string, number> = {};
    for (const f of fields) {
      const { file, line, key } = f.kernel;
      if (file === 'net/sockstat6' && text6 === null) {
        out[f.name] = 0;
        continue;
      }
      const v = lines.get(`${file} ${line}:`)?.get(key);
      if (v === undefined) throw new ProcParseError(file === 'net/sockstat' ? source : source6, 0, '', `"${line}:" ${key} missing`);
      out[f.name] = v;
    }
    return out;
  };
}

const parseTable = sockstatReader(SOCKSTAT_READS);

/**
 * Parses /proc/net/sockstat and, when given (null when IPv6 is off: its fields are then 0),
 * /proc/net/sockstat6.
 */
export function parseSockstat(text: string, text6: string | null, source = 'net/sockstat', source6 = 'net/sockstat6'): Sockstat {
  return parseTable(text, text6, source, source6) as Sockstat;
}
