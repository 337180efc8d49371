/**
 * The CLI's tables (packages/collector/src/cli/format.ts): alignment, numbers right-aligned, and
 * text from agents made printable once per cell (terminal escapes, bidi overrides shown as \u{..}).
 */
import { describe, expect, it } from 'vitest';
import { formatHosts, labelText, table } from '../../packages/collector/src/cli/format.js';
import { printable } from '../../packages/common/src/util/sanitize.js';

describe('cli tables', () => {
  it('printable escapes control and bidi characters and returns other text unchanged', () => {
    expect(printable('node-1.example')).toBe('node-1.example');
    expect(printable('zone-é')).toBe('zone-é');
    expect(printable('a\u001b[2Jb')).toBe('a\\u{1b}[2Jb');
    expect(printable('x\u202ey\u009bz')).toBe('x\\u{202e}y\\u{9b}z');
    // The fast path's regular expression keeps no state between calls.
    expect(printable('\u0007')).toBe('\\u{7}');
    expect(printable('\u0007')).toBe('\\u{7}');
  });

  it('aligns columns: numbers right, text left, widths from the widest cell', () => {
    expect(
      table(
        ['NAME', 'N'],
        [
          ['a', 5],
          ['bbb', 12345],
        ],
      ),
    ).toBe('NAME      N\na         5\nbbb   12345\n');
    expect(table(['NAME', 'NOTE'], [['a\u001b', 'x']])).toBe('NAME     NOTE\na\\u{1b}  x\n');
  });

  it('the hosts table: one row per host, ages, status and labels in order', () => {
    const now = 1_800_000_000_000;
    const host = (name: string, recv: number, stale: boolean, labels: Record<string, string>) => ({
      host: name,
      recv_ts: recv,
      stale,
      labels,
      states: { established: 7, time_wait: 2 },
      summary: { total: 12, estab: 8 },
    });
    const out = formatHosts([host('h1', now - 11_400, false, { env: 'prod', role: 'db' }), host('h\u001b2', now - 400, true, {})] as never, now).split('\n');
    expect(out[0]).toMatch(/^HOST\s+ESTAB\s+SYN_RECV\s+TIME_WAIT\s+CLOSE_WAIT\s+LISTEN\s+SS_TOTAL\s+SS_ESTAB\s+LAST_SEEN\s+STATUS\s+LABELS$/);
    expect(out[1]).toMatch(/^h1\s+7\s+0\s+2\s+0\s+0\s+12\s+8\s+11s ago\s+live\s+env=prod,role=db$/);
    expect(out[2]).toMatch(/^h\\u\{1b\}2\s+7\s+0\s+2\s+0\s+0\s+12\s+8\s+400ms ago\s+STALE$/);
    expect(labelText({ a: '1', b: '2' })).toBe('a=1,b=2');
    expect(labelText({})).toBe('');
  });
});
