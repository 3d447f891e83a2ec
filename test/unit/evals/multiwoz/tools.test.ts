/**
 * The databases (evaluator's loading rules), the eight tools (results checked by hand against the db/*.json
 * files) and the dialogue state derived from tool calls.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMultiwozDb, type MultiwozDb } from '../../../../src/evals/multiwoz/db';
import { MULTIWOZ_TOOL_NAMES, multiwozTools, normaliseToolValue } from '../../../../src/evals/multiwoz/tools';
import { slotsFromToolCall, statesPerTurn } from '../../../../src/evals/multiwoz/state';
import type { ToolContext } from '../../../../src/core/tools/types';
import { repoPath } from '../../repo';

let db: MultiwozDb;
let call: (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;
before(() => {
  db = loadMultiwozDb(repoPath('examples/multiwoz/data/db'));
  const tools = multiwozTools(db);
  const context: ToolContext = { agent: 'worker', toolCallId: 'c1', signal: new AbortController().signal, state: {} };
  call = async (name, args) => {
    const tool = tools.find((t) => t.schema.function.name === name);
    assert.ok(tool, name);
    return (await tool.handler(args, context)) as Record<string, unknown>;
  };
});

const names = (result: Record<string, unknown>) => (result.results as { name: string }[]).map((r) => r.name);

describe('MultiWOZ database', () => {
  test('loads with the evaluator’s typo fix, dropped columns and renamed keys', () => {
    const centre = db.records.attraction.find((r) => r.id === '68');
    assert.equal(centre?.name, 'the cherry hinton village centre');
    assert.equal(centre?.type, 'multiple sports');
    assert.deepEqual(Object.keys(db.records.train[0]), ['arrive', 'day', 'departure', 'destination', 'duration', 'leave', 'price', 'trainid']);
    assert.deepEqual(Object.keys(db.records.hotel[0]), ['address', 'area', 'internet', 'parking', 'id', 'name', 'phone', 'postcode', 'pricerange', 'stars', 'type']);
    assert.ok(Object.hasOwn(db.records.attraction[0], 'entrancefee'));
    assert.equal(db.records.restaurant.length, 110);
  });

  test('query: dontcare values add no constraint; fuzzy names; times as windows; ids in db order', () => {
    assert.deepEqual(db.query('restaurant', { food: 'indian', pricerange: 'expensive', area: 'centre', name: 'dontcare' }), [
      '19214', // curry garden
      ...db.query('restaurant', { food: 'indian', pricerange: 'expensive', area: 'centre' }).slice(1),
    ]);
    assert.deepEqual(db.query('hotel', { name: 'a and b guesthouse' }), db.query('hotel', { name: 'a and b guest house' }));
    assert.deepEqual(db.query('train', { departure: 'ely', destination: 'cambridge', day: 'sunday', arrive: '11:52' }), ['TR9382', 'TR1037', 'TR4212', 'TR6517']);
    assert.deepEqual(db.query('taxi', { departure: 'x' }), []);
  });
});

describe('MultiWOZ query tools', () => {
  test('the eight tools have OpenAI function schemas', () => {
    const tools = multiwozTools(db);
    assert.deepEqual(tools.map((t) => t.schema.function.name), [...MULTIWOZ_TOOL_NAMES]);
    for (const t of tools) {
      assert.equal(t.schema.type, 'function');
      assert.equal((t.schema.function.parameters as { type: string }).type, 'object');
    }
  });

  test('query_restaurant: expensive indian in the centre (six in restaurant_db.json)', async () => {
    const result = await call('query_restaurant', { area: 'centre', food: 'Indian', price_range: 'expensive' });
    assert.equal(result.count, 6);
    assert.deepEqual(names(result), ['curry garden', 'the golden curry', 'saffron brasserie', 'panahar', 'curry king']);
    const first = (result.results as Record<string, string>[])[0];
    assert.deepEqual(first, {
      address: '106 Regent Street City Centre',
      area: 'centre',
      food: 'indian',
      name: 'curry garden',
      phone: '01223302330',
      postcode: 'cb21dp',
      price_range: 'expensive',
      type: 'restaurant',
    });
  });

  test('query_hotel: cheap guesthouses in the north', async () => {
    const result = await call('query_hotel', { area: 'north', type: 'guest house', price_range: 'cheap' });
    assert.deepEqual(names(result), ['city centre north b and b', 'worth house']);
    const stars4 = await call('query_hotel', { area: 'north', type: 'guesthouse', price_range: 'cheap', stars: 4 });
    assert.deepEqual(names(stars4), ['worth house']);
  });

  test('query_attraction: the evaluator’s spellings are normalised (swimming pool, multiple sports)', async () => {
    const pools = await call('query_attraction', { type: 'swimming pool' });
    assert.deepEqual(names(pools), ['abbey pool and astroturf pitch', 'jesus green outdoor pool', 'kings hedges learner pool', 'parkside pools']);
    const sports = await call('query_attraction', { type: 'mutliple sports' });
    assert.deepEqual(names(sports), ['the cherry hinton village centre']);
  });

  test('query_train: leave at or after, capped at five results with the full count', async () => {
    const result = await call('query_train', { departure: 'cambridge', destination: 'london kings cross', day: 'friday', leave_at: '10:00' });
    assert.equal(result.count, 7);
    const trains = result.results as Record<string, string>[];
    assert.deepEqual(trains.map((t) => t.train_id), ['TR1502', 'TR3685', 'TR2420', 'TR6628', 'TR1006']);
    assert.deepEqual(trains[0], {
      arrival_time: '11:51',
      day: 'friday',
      departure: 'cambridge',
      destination: 'london kings cross',
      duration: '51 minutes',
      departure_time: '11:00',
      price: '23.60 pounds',
      train_id: 'TR1502',
    });
    const byNoon = await call('query_train', { departure: 'ely', destination: 'cambridge', day: 'sunday', arrive_by: '12pm' });
    assert.equal(byNoon.count, 4); // 12pm is noon here (the evaluator's own rule would read it as 24:00)
  });

  test('tool times: 12-hour times read correctly, other forms as the evaluator reads them', () => {
    const time = (value: string) => normaliseToolValue('leave', value);
    assert.deepEqual(['12pm', '12:30 am', '5:30 p.m.', 'after 9am', 'by 11 pm', 'after 17:15', '0915'].map(time), ['12:00', '00:30', '17:30', '09:00', '23:00', '17:15', '09:15']);
    assert.equal(normaliseToolValue('booktime', '7 pm'), '19:00');
    assert.equal(normaliseToolValue('booktime', '19:30'), '19:30');
  });

  test('bad arguments are errors naming the tool and argument', async () => {
    await assert.rejects(call('query_restaurant', { area: 'center' }), /query_restaurant: area must be one of centre, north, south, east, west; got 'center'/);
    await assert.rejects(call('query_hotel', { colour: 'red' }), /query_hotel: unknown argument 'colour'/);
    await assert.rejects(call('query_train', { leave_at: 'soon' }), /query_train: leave_at must be a time like 14:30/);
  });
});

describe('MultiWOZ booking tools', () => {
  test('book_restaurant: a fuzzy but unique name is resolved; the reference is deterministic', async () => {
    const args = { name: 'pizza hut fenditton', people: 4, day: 'Saturday', time: '7:30 pm' };
    const booking = await call('book_restaurant', args);
    assert.equal(booking.booked, true);
    assert.equal(booking.name, 'pizza hut fen ditton');
    assert.equal(booking.time, '19:30');
    assert.equal(booking.people, '4');
    assert.match(booking.reference as string, /^[A-Z0-9]{8}$/);
    assert.equal((await call('book_restaurant', args)).reference, booking.reference);
    assert.notEqual((await call('book_restaurant', { ...args, people: 5 })).reference, booking.reference);
  });

  test('book_restaurant: an ambiguous or unknown name, or a missing argument, is an error', async () => {
    await assert.rejects(call('book_restaurant', { name: 'pizza hut', people: 2, day: 'monday', time: '12:00' }), /'pizza hut' could be pizza hut city centre, pizza hut cherry hinton, pizza hut fen ditton/);
    await assert.rejects(call('book_restaurant', { name: 'nowhere at all', people: 2, day: 'monday', time: '12:00' }), /no restaurant is called 'nowhere at all'/);
    await assert.rejects(call('book_restaurant', { name: 'curry garden', people: 2, day: 'monday' }), /missing required argument 'time'/);
  });

  test('book_hotel and book_train', async () => {
    const hotel = await call('book_hotel', { name: 'worth house', people: '2', day: 'friday', stay: '3' });
    assert.deepEqual({ ...hotel, reference: undefined }, { booked: true, reference: undefined, name: 'worth house', day: 'friday', stay: '3', people: '2' });
    const train = await call('book_train', { train_id: 'tr1502', people: 3 });
    assert.equal(train.train_id, 'TR1502');
    assert.equal(train.total_price, '70.80 pounds');
    assert.match(train.reference as string, /^[A-Z0-9]{8}$/);
    await assert.rejects(call('book_train', { train_id: 'TR0000', people: 1 }), /no train TR0000/);
  });

  test('book_taxi: a car from the taxi table and a 10-digit phone, the same for the same booking', async () => {
    const args = { departure: 'curry garden', destination: 'worth house', leave_at: '17:15' };
    const taxi = await call('book_taxi', args);
    const [colour, type] = (taxi.car as string).split(' ');
    assert.ok(db.taxi.colors.includes(colour) && db.taxi.types.includes(type), taxi.car as string);
    assert.match(taxi.phone as string, /^[0-9]{10}$/);
    assert.deepEqual(await call('book_taxi', args), taxi);
    await assert.rejects(call('book_taxi', { departure: 'a', destination: 'b' }), /give leave_at or arrive_by/);
  });
});

describe('dialogue state from tool calls', () => {
  test('each call’s arguments become normalised slots of its domain; turns accumulate', () => {
    const states = statesPerTurn([
      [{ name: 'query_restaurant', arguments: JSON.stringify({ food: 'English', area: 'centre', price_range: 'dontcare' }) }],
      [],
      [
        { name: 'book_restaurant', arguments: { name: "Nando 's", people: 2, day: 'Friday', time: '6 pm' } },
        { name: 'query_train', arguments: { departure: 'Cambridge', day: 'friday', leave_at: 'after 5pm' } },
        { name: 'book_train', arguments: { train_id: 'TR1006', people: 2 } },
      ],
      [
        { name: 'query_restaurant', arguments: { area: 'north' } },
        { name: 'book_taxi', arguments: '{not json' },
        { name: 'send_email', arguments: { to: 'x' } },
      ],
    ]);
    const third = {
      restaurant: { food: 'british', area: 'centre', name: 'nandos', bookpeople: '2', bookday: 'friday', booktime: '18:00' },
      train: { departure: 'cambridge', day: 'friday', leave: '17:00', bookpeople: '2' },
    };
    assert.deepEqual(states, [{ restaurant: { food: 'british', area: 'centre' } }, { restaurant: { food: 'british', area: 'centre' } }, third, {
      ...third,
      restaurant: { ...third.restaurant, area: 'north' },
    }]);
  });

  test('hotel yes/no and star values; a call that sets nothing gives no update', () => {
    assert.deepEqual(slotsFromToolCall({ name: 'query_hotel', arguments: { parking: 'free', internet: true, stars: 4 } }), {
      domain: 'hotel',
      slots: { parking: 'yes', internet: 'yes', stars: '4' },
    });
    assert.equal(slotsFromToolCall({ name: 'query_hotel', arguments: { area: '' } }), null);
    assert.equal(slotsFromToolCall({ name: 'book_train', arguments: { train_id: 'TR1' } }), null);
  });
});
