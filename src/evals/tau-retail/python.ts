/**
 * The few Python behaviours tau-bench's observations and hashes depend on, reproduced byte for byte
 * (spec: ../shared/notes/tau-retail-tools.md §4, §5, §7). No library formats values the way CPython does, hence by hand.
 *
 * Numbers: a Python **int** is a JS `bigint`, a Python **float** is a JS `number`. The difference is visible in the
 * benchmark's output (`51` vs `51.0`, `247.0` vs `247`), so it is kept through all arithmetic (pyAdd, pySub, pyRound2).
 */

export type PyNumber = number | bigint;

/** A Python exception surfacing as the observation `Error: <message>`. */
export class PyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PyError';
  }
}

/** Python's type name of a value that came from JSON arguments or the database (`'int' object is not iterable`). */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'int';
  // JSON arguments carry no int/float flag: a whole number is what json.loads would make an int.
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'dict';
  if (typeof value === 'object') return 'dict';
  return typeof value;
}

const isFloat = (x: PyNumber): x is number => typeof x === 'number';

/** `a + b` in Python: int + int stays an exact int, anything with a float is float addition. */
export function pyAdd(a: PyNumber, b: PyNumber): PyNumber {
  return isFloat(a) || isFloat(b) ? Number(a) + Number(b) : a + b;
}

export function pySub(a: PyNumber, b: PyNumber): PyNumber {
  return isFloat(a) || isFloat(b) ? Number(a) - Number(b) : a - b;
}

export function pyAbs(x: PyNumber): PyNumber {
  return isFloat(x) ? Math.abs(x) : x < 0n ? -x : x;
}

/** Python `round(x, 2)`: ints unchanged; floats rounded from their exact binary value, ties to even (§5). */
export function pyRound2(x: PyNumber): PyNumber {
  if (!isFloat(x)) return x;
  if (!Number.isFinite(x) || x === 0 || Math.abs(x) >= 2 ** 52) return x; // already integral
  if (Number.isInteger(x * 8) && !Number.isInteger(x * 4)) {
    // An exact tie at the third decimal (.125, .375, .625, .875): round the hundredths to even.
    const a = Math.abs(x);
    let whole = Math.floor(a);
    let hundredths = Math.floor((a - whole) * 100); // exact: (a - whole) * 100 = hundredths + 0.5
    if (hundredths % 2 !== 0) hundredths += 1;
    if (hundredths === 100) {
      whole += 1;
      hundredths = 0;
    }
    const r = Number(`${whole}.${String(hundredths).padStart(2, '0')}`);
    return x < 0 ? -r : r;
  }
  return Number(x.toFixed(2)); // toFixed rounds the exact binary value; "-0.00" parses to -0
}

/** Python `repr(float)` (= `str(float)`): shortest round-trip digits, `.0` on whole numbers, scientific outside 1e-4..1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = x.toExponential().split('e'); // shortest digits, e.g. "-1.2345e+19"
  const exponent = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent >= -4 && exponent < 16) {
    let text: string;
    if (exponent < 0) text = '0.' + '0'.repeat(-exponent - 1) + digits;
    else if (digits.length <= exponent + 1) text = digits + '0'.repeat(exponent + 1 - digits.length) + '.0';
    else text = digits.slice(0, exponent + 1) + '.' + digits.slice(exponent + 1);
    return sign + text;
  }
  const fraction = digits.length > 1 ? '.' + digits.slice(1) : '';
  const expSign = exponent < 0 ? '-' : '+';
  return `${sign}${digits[0]}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** Python `json.dumps(s)` of a string (ensure_ascii). */
export function pyJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Python `json.dumps(value)` with default options: `", "` and `": "` separators, keys in insertion order (a `Map`
 * keeps integer-like keys such as product ids in file order, which a plain JS object would not).
 */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return pyFloatRepr(value);
  if (typeof value === 'string') return pyJsonString(value);
  if (Array.isArray(value)) return '[' + value.map(pyJsonDumps).join(', ') + ']';
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>);
  return '{' + entries.map(([k, v]) => `${pyJsonString(String(k))}: ${pyJsonDumps(v)}`).join(', ') + '}';
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python `repr(str)`. */
export function pyStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else if (code < 0x7f || ch === ' ' || !NON_PRINTABLE.test(ch)) out += ch;
    else if (code <= 0xff) out += '\\x' + code.toString(16).padStart(2, '0');
    else if (code <= 0xffff) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += '\\U' + code.toString(16).padStart(8, '0');
  }
  return out + quote;
}

/**
 * The text tau-bench hashes (§7): `str()` of the value turned into nested tuples, objects as `(key, value)` pairs
 * sorted by key. `pieces` receives the text in order, so a caller can hash it without building one big string.
 */
export function pyHashText(value: unknown, pieces: string[]): void {
  if (value === null || value === undefined) pieces.push('None');
  else if (value === true) pieces.push('True');
  else if (value === false) pieces.push('False');
  else if (typeof value === 'bigint') pieces.push(value.toString());
  else if (typeof value === 'number') pieces.push(pyFloatRepr(value));
  else if (typeof value === 'string') pieces.push(pyStringRepr(value));
  else if (Array.isArray(value)) tupleText(value, (item) => pyHashText(item, pieces), pieces);
  else {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>);
    // Code-point order; plain sort() compares UTF-16 units, the same for the ASCII keys of this data.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    tupleText(entries, ([k, v]) => {
      pieces.push('(', pyStringRepr(String(k)), ', ');
      pyHashText(v, pieces);
      pieces.push(')');
    }, pieces);
  }
}

/** `()`, `(a,)`, `(a, b)`. */
function tupleText<T>(items: T[], each: (item: T) => void, pieces: string[]): void {
  pieces.push('(');
  items.forEach((item, i) => {
    if (i > 0) pieces.push(', ');
    each(item);
  });
  pieces.push(items.length === 1 ? ',)' : ')');
}

/** Deep equality as Python's hash sees it: key order irrelevant, int ≠ float, 0.0 ≠ -0.0. */
export function pyDeepEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => pyDeepEqual(item, b[i]));
  }
  const ma = a instanceof Map ? a : new Map(Object.entries(a));
  const mb = b instanceof Map ? b : new Map(Object.entries(b));
  if (ma.size !== mb.size) return false;
  for (const [k, v] of ma) if (!mb.has(k) || !pyDeepEqual(v, mb.get(k))) return false;
  return true;
}
