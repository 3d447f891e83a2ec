/**
 * The MultiWOZ evaluator against the standard evaluator's published numbers (AuGPT, UBAR, DAMD reference
 * predictions from ../shared), and DST on small hand-made predictions whose counts are worked out below.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evaluateMultiwoz, estimateActiveDomains, percentOneDecimal } from '../../../../src/evals/multiwoz/evaluator';
import { loadMultiwozEvalData, type MultiwozEvalData } from '../../../../src/evals/multiwoz/data';
import { MultiwozInputError } from '../../../../src/evals/multiwoz/normalise';
import type { DialogueState } from '../../../../src/evals/multiwoz/types';
import { repoPath, sharedPath } from '../../repo';

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const EXPECTED = readJson(sharedPath('data/multiwoz/reference/expected_inform_success.json')) as Record<
  string,
  { inform: Record<string, number>; success: Record<string, number> }
>;

/** DST of the references against the shipped MultiWOZ 2.1 gold states (notes/multiwoz-evaluation.md §14). */
const EXPECTED_DST = {
  augpt: { jointAccuracy: 38.38849701573469, slotF1: 70.94336808378216, slotPrecision: 0.7172869600180918, slotRecall: 0.7017505040074723 },
  ubar: { jointAccuracy: 32.47422680412327, slotF1: 66.88700110086337, slotPrecision: 0.6841036450568077, slotRecall: 0.6543000442543132 },
  damd: { jointAccuracy: 25.768289366330897, slotF1: 60.553725375341195, slotPrecision: 0.7013020748774209, slotRecall: 0.532784054467412 },
};

let data: MultiwozEvalData;
before(() => {
  // The example's shipped data, not ../shared: this is what the CLI evaluates with.
  data = loadMultiwozEvalData(repoPath('examples/multiwoz/data'));
});

describe('MultiWOZ evaluator reproduces the standard evaluator on the reference predictions', () => {
  for (const system of ['augpt', 'ubar', 'damd'] as const) {
    test(`${system}: Inform and Success per domain and total, DST on 2.1 labels`, () => {
      const predictions = readJson(sharedPath(`data/multiwoz/reference/${system}.json`));
      const scores = evaluateMultiwoz(predictions, data);
      assert.deepEqual(scores.inform, EXPECTED[system].inform);
      assert.deepEqual(scores.success, EXPECTED[system].success);
      assert.deepEqual(scores.dst, EXPECTED_DST[system]);
      assert.equal(scores.dialogues, system === 'damd' ? 999 : 1000);
      // AuGPT gives active domains; UBAR and DAMD do not, so theirs are estimated (§4.2).
      assert.equal(scores.notes.some((n) => n.includes('active_domains')), system !== 'augpt');
    });
  }

  test('without states, gold states stand in for Inform/Success and there is no DST', () => {
    const predictions = readJson(sharedPath('data/multiwoz/reference/ubar.json')) as Record<string, { state?: unknown }[]>;
    delete predictions.sng0073[0].state;
    const scores = evaluateMultiwoz(predictions, data);
    assert.equal(scores.dst, null);
    assert.ok(scores.notes.some((n) => n.includes('gold states')));
    assert.equal(typeof scores.inform.total, 'number');
  });
});

describe('MultiWOZ evaluator: DST on a hand-made prediction', () => {
  test('sng0073: joint matches, fuzzy values, a wrong value and an extra slot', () => {
    // Gold (2.1) for sng0073, turns 0–1:
    //   0: taxi {destination: 'pizza hut fenditton', departure: 'saint johns college'}
    //   1: taxi {leave: '17:15', destination: 'pizza hut fenditton', departure: 'saint johns college'}
    const predictions = {
      sng0073: [
        // Normalised to 'saint john's college' — partial_ratio 95 against 'saint johns college', not > 95: fp + fn.
        { response: 'where to?', state: { taxi: { destination: 'Pizza Hut Fenditton', departure: "saint john 's college" } } },
        // 'leave at' → leave, 'after 17:15' → '17:15'; all three match; 'arrive' is extra: fp, no joint match.
        {
          response: 'booked a [taxi_type], contact [taxi_phone]',
          state: { taxi: { destination: 'pizza hut fenditton', departure: 'saint johns college', 'leave at': 'after 17:15', arrive: 'dontcare' } },
        },
        // Exactly gold (order differs): joint match.
        { response: 'bye', state: { taxi: { departure: 'saint johns college', leave: '17:15', destination: 'pizza hut fenditton' } } },
      ],
    };
    const scores = evaluateMultiwoz(predictions, data);
    // Turn 0: 'Pizza Hut Fenditton' → name canonicalisation lower-cases it: tp 1; departure fp 1, fn 1.
    // Turn 1: tp 3, fp 1 (arrive). Turn 2: tp 3. Totals: tp 7, fp 2, fn 1; joint 1 of 3.
    const precision = 7 / (7 + 2 + 1e-10);
    const recall = 7 / (7 + 1 + 1e-10);
    assert.deepEqual(scores.dst, {
      jointAccuracy: (1 / (3 + 1e-10)) * 100,
      slotF1: ((2 * precision * recall) / (precision + recall + 1e-10)) * 100,
      slotPrecision: precision,
      slotRecall: recall,
    });
    // Taxi is always informed; PHONE was given in a turn whose active domain (estimated) is taxi.
    assert.deepEqual(scores.inform, { taxi: 100, total: 100 });
    assert.deepEqual(scores.success, { taxi: 100, total: 100 });
  });

  test('more predicted turns than gold turns: DST fails naming the dialogue', () => {
    const turn = { response: 'x', state: {} };
    assert.throws(() => evaluateMultiwoz({ sng0073: [turn, turn, turn, turn, turn] }, data), /dialogue 'sng0073': 5 predicted turns but the gold dialogue has 4/);
  });
});

describe('MultiWOZ evaluator: Inform and Success on a hand-made dialogue', () => {
  // pmul4648 goal: restaurant {food indian, pricerange expensive, area centre} requesting ADDRESS;
  // attraction {name nusha} requesting ADDRESS and POST.
  const base = (restaurantState: Record<string, string>) => ({
    pmul4648: [
      { response: '[attraction_name] is at [attraction_address] [attraction_postcode]', state: { attraction: { name: 'nusha' } }, active_domains: ['attraction'] },
      { response: 'try [restaurant_name] at [restaurant_address]', state: { restaurant: restaurantState }, active_domains: ['restaurant'] },
    ],
  });

  test('a venue that satisfies the goal: inform and success', () => {
    const scores = evaluateMultiwoz(base({ food: 'indian', pricerange: 'expensive', area: 'centre' }), data);
    assert.deepEqual(scores.inform, { restaurant: 100, attraction: 100, total: 100 });
    assert.deepEqual(scores.success, { restaurant: 100, attraction: 100, total: 100 });
  });

  test('an offer drawn from a wider query (any price) fails inform, and then success counts 0 everywhere', () => {
    const scores = evaluateMultiwoz(base({ food: 'indian', area: 'centre' }), data);
    assert.deepEqual(scores.inform, { restaurant: 0, attraction: 100, total: 0 });
    assert.deepEqual(scores.success, { restaurant: 0, attraction: 0, total: 0 });
  });

  test('bad input names the dialogue and turn', () => {
    assert.throws(() => evaluateMultiwoz({ pmul4648: [{ state: {} }] }, data), /dialogue 'pmul4648', turn 0: "response" must be a string/);
    assert.throws(() => evaluateMultiwoz({ PMUL4648: [] }, data), MultiwozInputError);
    assert.throws(() => evaluateMultiwoz([], data), /expected a JSON object/);
    assert.throws(
      () => evaluateMultiwoz({ pmul4648: [{ response: '', state: { train: { leave: 'ab:30 pm' } } }] }, data),
      /dialogue 'pmul4648', turn 0: time value 'ab:30 pm': 'ab' is not an integer/,
    );
    assert.throws(() => evaluateMultiwoz({ pmul4648: [{ response: '', state: { train: { day: 3 } } }] }, data), /turn 0: state.train.day must be a string/);
    assert.throws(() => evaluateMultiwoz({ pmul4648: [{ response: '', active_domains: 'train' }] }, data), /"active_domains" must be a list/);
  });
});

describe('MultiWOZ evaluator helpers', () => {
  test('percentOneDecimal rounds like Python round(x, 1): ties to even', () => {
    assert.equal(percentOneDecimal(1, 16), 6.2); // 6.25
    assert.equal(percentOneDecimal(3, 16), 18.8); // 18.75
    assert.equal(percentOneDecimal(766, 1000), 76.6);
    assert.equal(percentOneDecimal(2, 3), 66.7);
    assert.equal(percentOneDecimal(5, 5), 100);
  });

  test('active domains are estimated from state changes (§4.2)', () => {
    const states: DialogueState[] = [
      {},
      { hotel: { area: 'east' } },
      { hotel: { area: 'east' }, train: { day: 'monday', departure: 'cambridge' } },
      { hotel: { area: 'east' }, train: { day: 'monday', departure: 'cambridge' } },
      { hotel: { area: 'west' }, taxi: { leave: '10:00', departure: 'x', destination: 'y' } },
      { hotel: { area: 'west' }, taxi: { leave: '10:00', departure: 'x', destination: 'y' } },
    ];
    // Turn 4 changes hotel and taxi; current (train) is not among them, so the one with more slots (taxi) wins.
    // Turn 5 changes nothing, and the previous turn changed two domains: the one that is not current (hotel) wins.
    assert.deepEqual(estimateActiveDomains(states), [[], ['hotel'], ['train'], ['train'], ['taxi'], ['hotel']]);
  });
});
