/** The Prometheus text writer: HELP/TYPE per family, label values escaped, special values. */
import { describe, expect, it } from 'vitest';
import { PrometheusText } from '../../packages/collector/src/views/prometheus-text.js';

describe('PrometheusText', () => {
  it('writes families and escapes backslash, quote and newline in label values', () => {
    const t = new PrometheusText()
      .family('x_gauge', 'gauge', 'A help\nline', [
        [{ host: 'a"b\\c\nd' }, 1],
        [{}, 2.5],
      ])
      .family('x_total', 'counter', 'Counts.', [[{}, Infinity]])
      .family('x_empty', 'gauge', 'None yet.', []);
    expect(t.toString()).toBe(
      [
        '# HELP x_gauge A help\\nline',
        '# TYPE x_gauge gauge',
        'x_gauge{host="a\\"b\\\\c\\nd"} 1',
        'x_gauge 2.5',
        '# HELP x_total Counts.',
        '# TYPE x_total counter',
        'x_total +Inf',
        '# HELP x_empty None yet.',
        '# TYPE x_empty gauge',
        '',
      ].join('\n'),
    );
  });
});
