/** partial_ratio and the evaluator's normalisation, on the test vectors of notes/multiwoz-evaluation.md §3 and §6. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { partialRatio } from '../../../../src/evals/multiwoz/fuzzy';
import {
  normaliseResponse,
  normaliseSlotName,
  normaliseSlotValue,
  normaliseState,
  normaliseTime,
  timeToMinutes,
} from '../../../../src/evals/multiwoz/normalise';

describe('partialRatio (fuzzywuzzy 0.18 over python-Levenshtein 0.12)', () => {
  const vectors: [string, string, number][] = [
    ['pizza hut fenditton', 'pizza hut fen ditton', 95],
    ['saint johns college', "saint john's college", 95],
    ['a and b guest house', 'a and b guesthouse', 94],
    ['alexander bed and breakfast', 'alexander b and b', 88],
    ['norwich', 'norway', 67],
    ['pizza hut city centre', 'pizza hut', 100],
    ['cambridge', 'cambridge train station', 100],
    ['the', 'the gandhi', 100],
    ['07:15', '7:15', 100],
    ['ely', 'bishops stortford', 0],
    ['', 'x', 0],
    ['', '', 100],
    ['abaaba', 'abbbabbbaaababb', 83],
    ['cddcdaacdac', 'dccbbc', 50],
    // python-Levenshtein 0.12's tie-breaking; rapidfuzz-based versions give 70.
    ['bbbbbabbab', 'abaabaaabbbbaaa', 60],
  ];
  for (const [s1, s2, expected] of vectors) {
    test(`'${s1}' vs '${s2}' → ${expected} (both orders)`, () => {
      assert.equal(partialRatio(s1, s2), expected);
      assert.equal(partialRatio(s2, s1), expected);
    });
  }
  test('an exact .5 tie rounds to even, as Python does (ratio 2/16 → 12.5 → 12)', () => {
    assert.equal(partialRatio('abcdefgh', 'xxxxxxxaxxxxxxx'), 12);
  });
  test('counts code points, not UTF-16 units', () => {
    assert.equal(partialRatio('café 😀', 'café 😀 bar'), 100);
    assert.equal(partialRatio('😀😀', '😀x'), 50);
  });
});

describe('time canonicalisation', () => {
  const vectors: [string, string][] = [
    ['after 17:15', '17:15'],
    ['by17:15', '07:15'],
    ['5pm', '17:00'],
    ['after 5 pm', '17:00'],
    ['6 p.m.', '18:00'],
    ['5:30p.m.', '17:30'],
    ['9am', '09:00'],
    ['9:00 am', '09:00'],
    ['01:00 am', '01:00'],
    ['08:30.', '08:30'],
    ['0915', '09:15'],
    ['after11:00', '11:00'],
    ['afer 10:30', '10:30'],
    ['', '00:00'],
    ['17:15:00', '17:15:00'],
    ['tomorrow', 'tomorrow'],
    // From the step list: fixed phrases, the evaluator's "+12" quirk, and values left alone.
    ['afternoon', '13:00'],
    ['12:30pm', '24:30'],
    ['13:00 pm', '25:00'],
    ['10: 15', '10:15'],
    ['18.00', '18.00'],
    ['dontcare', 'dontcare'],
  ];
  for (const [input, output] of vectors) test(`'${input}' → '${output}'`, () => assert.equal(normaliseTime(input), output));

  test('time to minutes: only hh:mm at the start counts', () => {
    assert.equal(timeToMinutes('17:15'), 1035);
    assert.equal(timeToMinutes('24:30'), 1470);
    assert.equal(timeToMinutes('17:15:00'), 1035);
    assert.equal(timeToMinutes('7:15'), 0);
    assert.equal(timeToMinutes('18.00'), 0);
    assert.equal(timeToMinutes('dontcare'), 0);
  });
});

describe('response normalisation', () => {
  test('placeholders become canonical tokens; the domain in a placeholder is ignored', () => {
    assert.equal(normaliseResponse('[Restaurant_Name] is at [hotel_address] , [postcode] .'), 'NAME is at ADDRESS , POST .');
    assert.equal(normaliseResponse('[value_id] and [train] and [id] leave at [leave at]'), 'TRAINID and TRAINID and TRAINID leave at TIME');
    assert.equal(normaliseResponse('ref [ref], [value_reference]; [hospital_id]'), 'ref REFERENCE, REFERENCE; ID');
  });
  test('plural suffixes after the bracket are eaten; unknown placeholders vanish; other brackets stay', () => {
    assert.equal(normaliseResponse('[name]s, [name]es, [name]-s, [name]-es'), 'NAME, NAME, NAME, NAME');
    assert.equal(normaliseResponse('[names] [foo] [taxi-phone]'), '  [taxi-phone]');
  });
  test('free text is lower-cased, so upper-case tokens can only come from placeholders', () => {
    assert.equal(normaliseResponse('NAME and PHONE'), 'name and phone');
  });
});

describe('state normalisation', () => {
  test('slot names: lower-case, spaces removed, arriveby/leaveat renamed; nothing else', () => {
    assert.equal(normaliseSlotName('Leave At'), 'leave');
    assert.equal(normaliseSlotName('arriveBy'), 'arrive');
    assert.equal(normaliseSlotName('price range'), 'pricerange');
    assert.equal(normaliseSlotName('book day'), 'bookday');
    assert.equal(normaliseSlotName('people'), 'people');
  });
  test('names, types, foods, times and yes/no values', () => {
    assert.equal(normaliseSlotValue('name', "  Nando 's "), 'nandos');
    assert.equal(normaliseSlotValue('destination', 'a&b guest house'), 'a and b guest house');
    assert.equal(normaliseSlotValue('departure', 'holiday inn exlpress, cambridge'), 'express by holiday inn cambridge');
    assert.equal(normaliseSlotValue('type', 'mutliple sports'), 'multiple sports');
    assert.equal(normaliseSlotValue('type', 'Guest House'), 'Guest House'); // exact and case-sensitive
    assert.equal(normaliseSlotValue('food', ' English '), 'british');
    assert.equal(normaliseSlotValue('leave', 'after 5 pm'), '17:00');
    assert.equal(normaliseSlotValue('booktime', '5 pm'), '5 pm'); // booktime is not a time slot for the evaluator
    assert.equal(normaliseSlotValue('parking', 'free'), 'yes');
    assert.equal(normaliseSlotValue('area', 'Centre'), 'Centre');
  });
  test('a state keeps every value; colliding names keep the first position and the last value', () => {
    const state = normaliseState({ train: { 'leave at': '9am', day: 'dontcare', leaveAt: '10:00', 'arrive by': '' } });
    assert.deepEqual(Object.entries(state.train), [
      ['leave', '10:00'],
      ['day', 'dontcare'],
      ['arrive', '00:00'],
    ]);
  });
});
