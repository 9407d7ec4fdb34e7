/**
 * How `concurrent-futures map` writes a result: as `JSON.stringify` writes it
 * (`undefined` alone as `null`), except that a BigInt is a JSON number with
 * all its digits, and a value JSON cannot hold (`NaN`, an infinity, a `Map`, a
 * `Set`, anywhere in the result) fails its line instead of turning into
 * `null` or `{}` without a word.
 * @internal
 */
import { randomBytes } from 'node:crypto';

// A BigInt is first written as a string that no result can hold by chance, then unquoted.
const BIG = `\u0000bigint-${randomBytes(6).toString('hex')}:`;
const BIG_QUOTED = new RegExp(`"\\\\u0000${BIG.slice(1)}(-?\\d+)"`, 'g');

/** The JSON text of `value`, on one line. Throws a `TypeError` for a value JSON cannot hold, saying what to return. */
export function toJsonLine(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A BigInt, say: the careful path below writes it, or throws the error again.
  }
  // The quick text stands unless it may hide a loss: NaN as null, a Map or a Set as {}.
  if (text !== undefined && !text.includes('null') && !text.includes('{}')) return text;
  let bigints = false;
  text = JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    if (typeof v === 'bigint') {
      bigints = true;
      return BIG + v.toString();
    }
    if (typeof v === 'number' && !Number.isFinite(v)) throw noJson(String(v), this, key, 'null, or a string such as String(value)');
    if (v instanceof Map) throw noJson('a Map', this, key, 'Object.fromEntries(map), or [...map] for its entries');
    if (v instanceof Set) throw noJson('a Set', this, key, '[...set]');
    return v;
  });
  if (text === undefined) return 'null';
  return bigints ? text.replace(BIG_QUOTED, '$1') : text;
}

function noJson(what: string, holder: unknown, key: string, instead: string): TypeError {
  const at = Array.isArray(holder) ? `index ${key}` : `key ${JSON.stringify(key)}`;
  const where = key === '' ? `the call returned ${what}` : `the result holds ${what} (at ${at})`;
  return new TypeError(`${where}, which JSON cannot hold: return ${instead}`);
}
