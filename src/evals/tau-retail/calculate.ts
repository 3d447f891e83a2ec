/**
 * The `calculate` tool: tau-bench evaluates the expression **as Python** (`eval`), rounds with `round(x, 2)` and
 * prints the float. This is a small Python-expression interpreter restricted to the characters the tool accepts
 * (`0-9 + - * / ( ) .` and space), with CPython 3.11's results and error messages (spec §3.1). JS `eval` would get
 * `//`, `**`, big integers and every error text wrong, and no library reproduces CPython's messages, hence by hand.
 *
 * Values: int = bigint, float = number, the empty tuple `()` and (from `(-8) ** 0.5`) a complex number, which
 * only ever ends in an error.
 */
import { PyError, pyFloatRepr, pyRound2 } from './python';

const ALLOWED = /^[0-9+\-*/(). ]*$/;

export function calculate(expression: string): string {
  if (!ALLOWED.test(expression)) return 'Error: invalid characters in expression';
  try {
    const tree = parse(expression);
    const value = toFloat(evaluate(tree));
    return pyFloatRepr(pyRound2(value) as number);
  } catch (err) {
    if (err instanceof PyError) return `Error: ${err.message}`;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens and syntax errors

type Token = { kind: 'number'; text: string } | { kind: 'op'; text: '+' | '-' | '*' | '/' | '//' | '**' | '(' | ')' } | { kind: 'dot' } | { kind: 'end' };

const syntaxError = (message: string, line = 1) => new PyError(`${message} (<string>, line ${line})`);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === ' ') {
      i++;
      continue;
    }
    const number = /^(\d+\.\d*|\.\d+|\d+)/.exec(source.slice(i));
    if (number) {
      const text = number[1];
      if (/^0\d*$/.test(text) && text.length > 1 && /[1-9]/.test(text)) {
        throw syntaxError('leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers');
      }
      tokens.push({ kind: 'number', text });
      i += text.length;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two === '**' || two === '//') {
      tokens.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if (ch === '.') tokens.push({ kind: 'dot' });
    else {
      if (ch === '(') depth++;
      if (ch === ')' && --depth < 0) throw syntaxError("unmatched ')'");
      tokens.push({ kind: 'op', text: ch as '+' | '-' | '*' | '/' | '(' | ')' });
    }
    i++;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

type Node =
  | { type: 'int'; value: bigint }
  | { type: 'float'; value: number }
  | { type: 'tuple' }
  | { type: 'unary'; op: '+' | '-'; operand: Node }
  | { type: 'binary'; op: '+' | '-' | '*' | '/' | '//' | '**'; left: Node; right: Node }
  | { type: 'call'; callee: Node; argument?: Node };

/** Where the parser gave up: the token it could not use, and whether a `)` (rather than the end) was expected. */
class ParseFailure {
  constructor(
    readonly at: number,
    readonly expectingClose: boolean,
  ) {}
}

function parse(source: string): Node {
  if (source.trim() === '') throw syntaxError('invalid syntax', 0);
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (t: Token, text: string) => t.kind === 'op' && t.text === text;

  const expr = (): Node => {
    let node = term();
    while (isOp(peek(), '+') || isOp(peek(), '-')) {
      const op = (tokens[pos++] as { text: '+' | '-' }).text;
      node = { type: 'binary', op, left: node, right: term() };
    }
    return node;
  };
  const term = (): Node => {
    let node = factor();
    while (isOp(peek(), '*') || isOp(peek(), '/') || isOp(peek(), '//')) {
      const op = (tokens[pos++] as { text: '*' | '/' | '//' }).text;
      node = { type: 'binary', op, left: node, right: factor() };
    }
    return node;
  };
  const factor = (): Node => {
    if (isOp(peek(), '+') || isOp(peek(), '-')) {
      const op = (tokens[pos++] as { text: '+' | '-' }).text;
      return { type: 'unary', op, operand: factor() };
    }
    const base = call();
    if (!isOp(peek(), '**')) return base;
    pos++;
    return { type: 'binary', op: '**', left: base, right: factor() };
  };
  const call = (): Node => {
    let node = atom();
    while (isOp(peek(), '(')) {
      pos++;
      const argument = isOp(peek(), ')') ? undefined : expr();
      close();
      node = { type: 'call', callee: node, argument };
    }
    return node;
  };
  const atom = (): Node => {
    const t = peek();
    if (t.kind === 'number') {
      pos++;
      return t.text.includes('.') ? { type: 'float', value: Number(t.text) } : { type: 'int', value: BigInt(t.text) };
    }
    if (isOp(t, '(')) {
      pos++;
      if (isOp(peek(), ')')) {
        pos++;
        return { type: 'tuple' };
      }
      const inner = expr();
      close();
      return inner;
    }
    throw new ParseFailure(pos, false);
  };
  const close = () => {
    if (!isOp(peek(), ')')) throw new ParseFailure(pos, true);
    pos++;
  };

  try {
    const tree = expr();
    if (peek().kind !== 'end') throw new ParseFailure(pos, false);
    return tree;
  } catch (err) {
    if (err instanceof ParseFailure) throw syntaxErrorFor(source, tokens, err);
    throw err;
  }
}

/** Which message CPython 3.11 gives for a failed parse (rules a–d of §3.1). */
function syntaxErrorFor(source: string, tokens: Token[], failure: ParseFailure): PyError {
  const unclosed = [...source].filter((c) => c === '(').length > [...source].filter((c) => c === ')').length;
  const neverClosed = syntaxError("'(' was never closed");
  const endsOperand = (t: Token | undefined) => t !== undefined && (t.kind === 'number' || (t.kind === 'op' && t.text === ')'));

  // a. A group "(" (not a call) directly followed by * or **: Python reads a starred expression.
  for (let i = 0; i + 1 < tokens.length; i++) {
    const [t, next] = [tokens[i], tokens[i + 1]];
    if (t.kind === 'op' && t.text === '(' && !endsOperand(tokens[i - 1]) && next.kind === 'op' && (next.text === '*' || next.text === '**')) {
      if (unclosed) return neverClosed;
      return syntaxError(next.text === '*' ? 'cannot use starred expression here' : 'cannot use double starred expression here');
    }
  }
  const at = tokens[failure.at];
  const previous = tokens[failure.at - 1];
  // b. Input ended too early; a final "." after an operand (attribute access); a number after a whole expression.
  const endedEarly = at.kind === 'end';
  const finalDot = at.kind === 'dot' && tokens[failure.at + 1].kind === 'end' && endsOperand(previous);
  const numberAfterTopLevel = at.kind === 'number' && !failure.expectingClose && endsOperand(previous);
  if (endedEarly || finalDot || numberAfterTopLevel) return unclosed ? neverClosed : syntaxError('invalid syntax');
  // c. A number where ")" was expected.
  if (at.kind === 'number' && failure.expectingClose && endsOperand(previous)) {
    return unclosed ? neverClosed : syntaxError('invalid syntax. Perhaps you forgot a comma?');
  }
  return syntaxError('invalid syntax');
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

const TUPLE = { kind: 'tuple' } as const;
const COMPLEX = { kind: 'complex' } as const;
type Value = bigint | number | typeof TUPLE | typeof COMPLEX;

const typeName = (v: Value) => (typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float' : v.kind);
const isReal = (v: Value): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';

/** Python `float(x)`. */
function toFloat(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const f = Number(v); // correctly rounded, like CPython's int -> float
    if (!Number.isFinite(f)) throw new PyError('int too large to convert to float');
    return f;
  }
  throw new PyError(`float() argument must be a string or a real number, not '${v.kind}'`);
}

function evaluate(node: Node): Value {
  switch (node.type) {
    case 'int':
    case 'float':
      return node.value;
    case 'tuple':
      return TUPLE;
    case 'unary': {
      const v = evaluate(node.operand);
      if (v === TUPLE) throw new PyError(`bad operand type for unary ${node.op}: 'tuple'`);
      if (node.op === '+' || v === COMPLEX) return v;
      return typeof v === 'bigint' ? -v : -v;
    }
    case 'call': {
      const callee = evaluate(node.callee); // callee first, then the argument (Python's order)
      if (node.argument) evaluate(node.argument);
      throw new PyError(`'${typeName(callee)}' object is not callable`);
    }
    case 'binary':
      return binary(node.op, evaluate(node.left), evaluate(node.right));
  }
}

function unsupported(op: string, a: Value, b: Value): PyError {
  return new PyError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function binary(op: '+' | '-' | '*' | '/' | '//' | '**', a: Value, b: Value): Value {
  if (a === TUPLE || b === TUPLE) return tupleOperation(op, a, b);
  if (a === COMPLEX || b === COMPLEX) {
    if (op === '//') throw unsupported('//', a, b);
    if (op === '/' && isReal(b) && Number(b) === 0) throw new PyError('complex division by zero');
    return COMPLEX;
  }
  const bothInts = typeof a === 'bigint' && typeof b === 'bigint';
  switch (op) {
    case '+':
      return bothInts ? a + b : toFloat(a) + toFloat(b);
    case '-':
      return bothInts ? a - b : toFloat(a) - toFloat(b);
    case '*':
      return bothInts ? a * b : toFloat(a) * toFloat(b);
    case '/':
      if (bothInts) return intTrueDivide(a, b);
      return floatDivide(toFloat(a), toFloat(b));
    case '//':
      if (bothInts) {
        if (b === 0n) throw new PyError('integer division or modulo by zero');
        const q = a / b; // truncates toward zero; Python floors
        return (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q;
      }
      return floatFloorDivide(toFloat(a), toFloat(b));
    case '**':
      return power(a as bigint | number, b as bigint | number);
  }
}

function tupleOperation(op: string, a: Value, b: Value): Value {
  if (op === '+') {
    if (a === TUPLE && b === TUPLE) return TUPLE;
    if (a === TUPLE) throw new PyError(`can only concatenate tuple (not "${typeName(b)}") to tuple`);
    throw unsupported('+', a, b);
  }
  if (op === '*') {
    const other = a === TUPLE ? b : a;
    if (typeof other === 'bigint') return TUPLE; // () * n is ()
    throw new PyError(`can't multiply sequence by non-int of type '${typeName(other)}'`);
  }
  throw unsupported(op === '**' ? '** or pow()' : op, a, b);
}

function floatDivide(a: number, b: number): number {
  if (b === 0) throw new PyError('float division by zero');
  return a / b;
}

/** CPython's float floor division (float_floor_div): floor of the exact quotient, via fmod. */
function floatFloorDivide(a: number, b: number): number {
  if (b === 0) throw new PyError('float floor division by zero');
  let mod = a % b; // JS % on numbers is C fmod
  let div = (a - mod) / b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod += b;
      div -= 1;
    }
  }
  if (div === 0) {
    const q = a / b;
    return q < 0 || Object.is(q, -0) ? -0 : 0; // copysign(0.0, a / b)
  }
  let floored = Math.floor(div);
  if (div - floored > 0.5) floored += 1;
  return floored;
}

/** int / int: correctly rounded even for integers beyond 2^53 (CPython's long_true_divide). */
function intTrueDivide(a: bigint, b: bigint): number {
  if (b === 0n) throw new PyError('division by zero');
  const limit = 2n ** 53n;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  if (abs(a) <= limit && abs(b) <= limit) return Number(a) / Number(b);
  const negative = a < 0n !== b < 0n;
  const result = positiveRatio(abs(a), abs(b));
  if (!Number.isFinite(result)) throw new PyError('integer division result too large for a float');
  return negative ? -result : result;
}

/** n / d for n >= 0, d > 0, rounded once to the nearest double (subnormal results may round twice). */
function positiveRatio(n: bigint, d: bigint): number {
  if (n === 0n) return 0;
  const bits = (x: bigint) => x.toString(2).length;
  const shift = 55 + bits(d) - bits(n); // the quotient gets 55-56 bits: 53 kept, a round bit and a sticky bit
  const num = shift >= 0 ? n << BigInt(shift) : n;
  const den = shift >= 0 ? d : d << BigInt(-shift);
  let q = num / den;
  if (num % den !== 0n) q |= 1n; // sticky: the quotient is not exact
  return Number(q) * 2 ** -shift;
}

/** Most bits an exact int power may have; beyond this Python would take very long (9**9**9), so we stop. */
const MAX_POWER_BITS = 1 << 20;

function power(a: bigint | number, b: bigint | number): Value {
  if (typeof a === 'bigint' && typeof b === 'bigint' && b >= 0n) {
    const magnitude = a < 0n ? -a : a;
    if (magnitude > 1n && Number(b) * magnitude.toString(2).length > MAX_POWER_BITS) {
      throw new PyError('int too large to convert to float'); // the final float() would fail for such a number anyway
    }
    return a ** b;
  }
  const x = toFloat(a);
  const y = toFloat(b);
  if (x === 0 && y < 0) throw new PyError('0.0 cannot be raised to a negative power');
  if (x < 0 && !Number.isInteger(y) && Number.isFinite(y)) return COMPLEX; // Python 3 gives a complex number
  const r = x ** y;
  if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y)) throw new PyError("(34, 'Numerical result out of range')");
  return r;
}
