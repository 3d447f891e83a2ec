/** `calculate` evaluates Python, and the Python number/text formats the observations use (spec §3.1, §4, §5, §7). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { calculate } from '../../../../src/evals/tau-retail/calculate';
import { pyDeepEqual, pyFloatRepr, pyJsonDumps, pyRound2, pyStringRepr } from '../../../../src/evals/tau-retail/python';

const SYNTAX = 'Error: invalid syntax (<string>, line 1)';
const NEVER_CLOSED = "Error: '(' was never closed (<string>, line 1)";
const UNMATCHED = "Error: unmatched ')' (<string>, line 1)";
const LEADING_ZEROS = 'Error: leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers (<string>, line 1)';
const COMMA = 'Error: invalid syntax. Perhaps you forgot a comma? (<string>, line 1)';
const CHARACTERS = 'Error: invalid characters in expression';

const CASES: Record<string, string> = {
  // results: always float text, Python round(x, 2)
  '2 + 2': '4.0',
  '10 / 3': '3.33',
  '3131.1 + 4777.75 + 367.38': '8276.23',
  '-0.001': '-0.0',
  '10**17': '1e+17',
  '0.125': '0.12',
  '2.675': '2.67',
  '100 * 1.005': '100.5',
  '0.1 + 0.2': '0.3',
  ' 155.33 - 147.05 + 268.77 - 235.13 ': '41.92',
  // Python operators
  '-2**2': '-4.0',
  '2**-1': '0.5',
  '2**3**2': '512.0',
  '7//2': '3.0',
  '-7//2': '-4.0',
  '-7.5//2': '-4.0',
  '0.0*-1': '-0.0',
  '-0': '0.0',
  '00': '0.0',
  '00.5': '0.5',
  '01.5': '1.5',
  '10**400/10**399': '10.0',
  // runtime errors
  '1/0': 'Error: division by zero',
  '3 / (1 - 1)': 'Error: division by zero',
  '0/0': 'Error: division by zero',
  '1.0/0': 'Error: float division by zero',
  '1/0.0': 'Error: float division by zero',
  '0.0/0': 'Error: float division by zero',
  '5//0': 'Error: integer division or modulo by zero',
  '5.0//0': 'Error: float floor division by zero',
  '5//0.0': 'Error: float floor division by zero',
  '0**-1': 'Error: 0.0 cannot be raised to a negative power',
  '0.0**-1': 'Error: 0.0 cannot be raised to a negative power',
  '10**400': 'Error: int too large to convert to float',
  '10**400/1': 'Error: integer division result too large for a float',
  '10.0**400': "Error: (34, 'Numerical result out of range')",
  '(-8) ** 0.5': "Error: float() argument must be a string or a real number, not 'complex'",
  '()': "Error: float() argument must be a string or a real number, not 'tuple'",
  '( )': "Error: float() argument must be a string or a real number, not 'tuple'",
  '(())': "Error: float() argument must be a string or a real number, not 'tuple'",
  '(2)(3)': "Error: 'int' object is not callable",
  '2 (3)': "Error: 'int' object is not callable",
  '1.(2)': "Error: 'float' object is not callable",
  '()()': "Error: 'tuple' object is not callable",
  '(2)(1/0)': 'Error: division by zero',
  '()+1': 'Error: can only concatenate tuple (not "int") to tuple',
  '1+()': "Error: unsupported operand type(s) for +: 'int' and 'tuple'",
  '-()': "Error: bad operand type for unary -: 'tuple'",
  // syntax errors, CPython 3.11's texts
  '2+': SYNTAX,
  '+': SYNTAX,
  '*2': SYNTAX,
  '1 2': SYNTAX,
  '1.2.3': SYNTAX,
  '1+*2': SYNTAX,
  '2***3': SYNTAX,
  '.': SYNTAX,
  '1 .5': SYNTAX,
  '-': SYNTAX,
  '': 'Error: invalid syntax (<string>, line 0)',
  '   ': 'Error: invalid syntax (<string>, line 0)',
  '(1+2': NEVER_CLOSED,
  '(': NEVER_CLOSED,
  '(1)(': NEVER_CLOSED,
  '1+2)': UNMATCHED,
  ')': UNMATCHED,
  ')(': UNMATCHED,
  '08': LEADING_ZEROS,
  '007': LEADING_ZEROS,
  abc: CHARACTERS,
  '1e5': CHARACTERS,
  '3 % 2': CHARACTERS,
  '1_000': CHARACTERS,
  '1,000': CHARACTERS,
  '1\t+ 1': CHARACTERS,
  '(1 2)': COMMA,
  '(3 4 5)': COMMA,
  '2 (3 4)': COMMA,
  '(()2)': COMMA,
  '(*3)': 'Error: cannot use starred expression here (<string>, line 1)',
  '3*(*2)': 'Error: cannot use starred expression here (<string>, line 1)',
  '(**2)': 'Error: cannot use double starred expression here (<string>, line 1)',
};

describe('calculate', () => {
  for (const [expression, want] of Object.entries(CASES)) {
    test(`${JSON.stringify(expression)} → ${want}`, () => assert.equal(calculate(expression), want));
  }
});

describe('Python formats', () => {
  test('round(x, 2): exact binary value, ties to even; ints unchanged', () => {
    assert.equal(pyRound2(1.005), 1);
    assert.equal(pyRound2(0.375), 0.38);
    assert.equal(pyRound2(123456789.125), 123456789.12);
    assert.ok(Object.is(pyRound2(-0.001), -0));
    assert.equal(pyRound2(37.57 + 53.43), 91);
    assert.equal(pyRound2(51n), 51n);
  });

  test('float repr: .0 on whole numbers, scientific outside 1e-4..1e16', () => {
    const cases: Array<[number, string]> = [
      [247, '247.0'], [0, '0.0'], [-0, '-0.0'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1e16, '1e+16'],
      [9999999999999998, '9999999999999998.0'], [14.699999999999989, '14.699999999999989'], [12345678901234567000, '1.2345678901234567e+19'],
    ];
    for (const [x, want] of cases) assert.equal(pyFloatRepr(x), want);
  });

  test('json.dumps layout, ensure_ascii and int vs float; str repr for the hash', () => {
    assert.equal(pyJsonDumps({ a: [1.5, 247, 51n, true, null], 'b/c': 'Zürich\\"' }), '{"a": [1.5, 247.0, 51, true, null], "b/c": "Z\\u00fcrich\\\\\\""}');
    assert.equal(pyJsonDumps(new Map([['2', 1], ['1', 2]])), '{"2": 1.0, "1": 2.0}');
    assert.equal(pyStringRepr("it's"), '"it\'s"');
    assert.equal(pyStringRepr('a\'b"c\n'), "'a\\'b\"c\\n'");
    assert.equal(pyStringRepr('São\u200b'), "'São\\u200b'");
    assert.ok(!pyDeepEqual({ balance: 68n }, { balance: 68 }));
    assert.ok(!pyDeepEqual([0], [-0]));
    assert.ok(pyDeepEqual({ a: 1, b: [2] }, { b: [2], a: 1 }));
  });
});
