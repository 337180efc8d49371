/**
 * The expanding notation of input series in `tcpfleet rules test` files, as promtool's:
 *
 *   a          one sample of value a
 *   a+bxn      n+1 samples: a, a+b, a+2b, ... a+nb      ('1+1x3' -> 1 2 3 4)
 *   a-bxn      n+1 samples: a, a-b, ... a-nb            ('10-2x2' -> 10 8 6)
 *   axn        n+1 samples of a                         ('5x2' -> 5 5 5)
 *   _          no sample at this step
 *   _xn        n steps without a sample                 ('_x3' -> _ _ _)
 *
 * Items are separated by spaces. A series expands to at most MAX_STEPS steps.
 */

/** Steps one series may expand to (a day at 1 s). */
const MAX_STEPS = 86_400;

const NUM = String.raw`[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?`;
const ITEM = new RegExp(String.raw`^(?:(${NUM})(?:([-+])(\d+(?:\.\d+)?))?x(\d+)|(${NUM})|_x(\d+)|_)$`);

/** The values of a series (null: no sample at that step), or the reason it is not one. */
export function expandSeries(text: string): (number | null)[] | string {
  const out: (number | null)[] = [];
  for (const item of text.trim().split(/\s+/)) {
    if (item === '') continue;
    const m = ITEM.exec(item);
    if (m === null) return `bad item ${JSON.stringify(item)}: use a, a+bxn, a-bxn, axn, _ or _xn (n a whole number)`;
    const [, start, sign, step, times, single, blanks] = m;
    let add: (number | null)[];
    if (single !== undefined) add = [Number(single)];
    else if (blanks !== undefined) add = Array.from({ length: Number(blanks) }, () => null);
    else if (start !== undefined && times !== undefined) {
      const a = Number(start);
      const b = step === undefined ? 0 : (sign === '-' ? -1 : 1) * Number(step);
      const n = Number(times);
      if (out.length + n + 1 > MAX_STEPS) return `the series is longer than ${MAX_STEPS} steps`;
      add = Array.from({ length: n + 1 }, (_, i) => a + i * b);
    } else add = [null];
    if (out.length + add.length > MAX_STEPS) return `the series is longer than ${MAX_STEPS} steps`;
    out.push(...add);
  }
  if (out.length === 0) return 'an empty series: give at least one value';
  return out;
}
