/**
 * The eight MultiWOZ tools a system's workers call: four database queries and four bookings, as OpenAI function
 * schemas with handlers. Queries use the standard evaluator's matching (db.ts), so what a worker finds is what the
 * evaluator will judge. Bookings always succeed for a known venue or train and return a reference number that is
 * a hash of the booking, so runs are reproducible.
 *
 * Each tool's arguments map onto dialogue-state slots (TOOL_SLOTS); state.ts derives the dialogue state from them.
 */
import { createHash } from 'node:crypto';
import type { ToolDefinition } from '../../core/tools/types';
import type { DbRecord, MultiwozDb, VenueDomain } from './db';
import { NO_CONSTRAINT_VALUES } from './db';
import { MultiwozInputError, normaliseSlotValue, normaliseTime } from './normalise';

export const MULTIWOZ_TOOL_NAMES = [
  'query_restaurant',
  'query_hotel',
  'query_attraction',
  'query_train',
  'book_restaurant',
  'book_hotel',
  'book_train',
  'book_taxi',
] as const;
export type MultiwozToolName = (typeof MULTIWOZ_TOOL_NAMES)[number];

/** Per tool: the state domain it fills and, per argument, the evaluator's slot name (`leave_at` → `leave`). */
export const TOOL_SLOTS: Record<MultiwozToolName, { domain: string; slots: Record<string, string> }> = {
  query_restaurant: { domain: 'restaurant', slots: { area: 'area', food: 'food', price_range: 'pricerange', name: 'name' } },
  query_hotel: {
    domain: 'hotel',
    slots: { area: 'area', price_range: 'pricerange', stars: 'stars', type: 'type', internet: 'internet', parking: 'parking', name: 'name' },
  },
  query_attraction: { domain: 'attraction', slots: { area: 'area', type: 'type', name: 'name' } },
  query_train: { domain: 'train', slots: { departure: 'departure', destination: 'destination', day: 'day', leave_at: 'leave', arrive_by: 'arrive' } },
  book_restaurant: { domain: 'restaurant', slots: { name: 'name', people: 'bookpeople', day: 'bookday', time: 'booktime' } },
  book_hotel: { domain: 'hotel', slots: { name: 'name', people: 'bookpeople', day: 'bookday', stay: 'bookstay' } },
  // The train id is not a state slot: the state describes the search (departure, day, …), which query_train filled.
  book_train: { domain: 'train', slots: { people: 'bookpeople' } },
  book_taxi: { domain: 'taxi', slots: { departure: 'departure', destination: 'destination', leave_at: 'leave', arrive_by: 'arrive' } },
};

const AREAS = ['centre', 'north', 'south', 'east', 'west'];
const PRICE_RANGES = ['cheap', 'moderate', 'expensive'];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const YES_NO = ['yes', 'no'];
const HOTEL_TYPES = ['hotel', 'guesthouse'];

/** How many matching entities a query returns by default (the count is always given). */
export const DEFAULT_MAX_RESULTS = 5;

const str = (description: string, values?: string[]) => ({ type: 'string', description, ...(values && { enum: values }) });
const TIME = 'time as HH:MM, 24-hour clock';

const SCHEMAS: Record<MultiwozToolName, { description: string; properties: Record<string, unknown>; required: string[] }> = {
  query_restaurant: {
    description: 'Find Cambridge restaurants. Give only the constraints the user has stated. Returns the number of matches and the first few.',
    properties: {
      area: str('part of town', AREAS),
      food: str('type of food, e.g. italian, indian, chinese, british'),
      price_range: str('price range', PRICE_RANGES),
      name: str('name of the restaurant, when the user asks for a particular one'),
    },
    required: [],
  },
  query_hotel: {
    description: 'Find places to stay in Cambridge (hotels and guesthouses). Give only the constraints the user has stated.',
    properties: {
      area: str('part of town', AREAS),
      price_range: str('price range', PRICE_RANGES),
      stars: str('star rating, 0 to 5', ['0', '1', '2', '3', '4', '5']),
      type: str('hotel or guesthouse', HOTEL_TYPES),
      internet: str('free wifi', YES_NO),
      parking: str('free parking', YES_NO),
      name: str('name of the hotel, when the user asks for a particular one'),
    },
    required: [],
  },
  query_attraction: {
    description: 'Find Cambridge attractions. Give only the constraints the user has stated.',
    properties: {
      area: str('part of town', AREAS),
      type: str('kind of attraction, e.g. museum, college, architecture, park, theatre, nightclub, swimming pool, boat, cinema'),
      name: str('name of the attraction, when the user asks for a particular one'),
    },
    required: [],
  },
  query_train: {
    description: 'Find trains to or from Cambridge. Returns matching trains with departure and arrival times and prices.',
    properties: {
      departure: str('station the train leaves from, e.g. cambridge, london kings cross, ely'),
      destination: str('station the train goes to'),
      day: str('day of travel', DAYS),
      leave_at: str(`leave at or after this ${TIME}`),
      arrive_by: str(`arrive at or before this ${TIME}`),
    },
    required: [],
  },
  book_restaurant: {
    description: 'Book a table. Returns a reference number.',
    properties: { name: str('restaurant name'), people: str('number of people'), day: str('day', DAYS), time: str(TIME) },
    required: ['name', 'people', 'day', 'time'],
  },
  book_hotel: {
    description: 'Book rooms. Returns a reference number.',
    properties: { name: str('hotel name'), people: str('number of people'), day: str('day of arrival', DAYS), stay: str('number of nights') },
    required: ['name', 'people', 'day', 'stay'],
  },
  book_train: {
    description: 'Book train tickets. Returns a reference number and the total price.',
    properties: { train_id: str('train id, e.g. TR7075'), people: str('number of tickets'), day: str('day of travel', DAYS) },
    required: ['train_id', 'people'],
  },
  book_taxi: {
    description: 'Book a taxi. Give a leave_at or an arrive_by time. Returns the car and its contact number.',
    properties: {
      departure: str('where to be picked up'),
      destination: str('where to go'),
      leave_at: str(`pick-up ${TIME}`),
      arrive_by: str(`arrival ${TIME}`),
    },
    required: ['departure', 'destination'],
  },
};

/** Result field names shown to the model (database columns → clearer words). */
const FIELD_NAMES: Record<string, string> = {
  pricerange: 'price_range',
  entrancefee: 'entrance_fee',
  trainid: 'train_id',
  leave: 'departure_time',
  arrive: 'arrival_time',
};

export interface MultiwozToolOptions {
  /** Entities returned per query (default 5). */
  maxResults?: number;
}

/** The eight tools over a loaded database, in MULTIWOZ_TOOL_NAMES order. */
export function multiwozTools(db: MultiwozDb, options: MultiwozToolOptions = {}): ToolDefinition[] {
  const maxResults = options.maxResults ?? DEFAULT_MAX_RESULTS;
  const handlers: Record<MultiwozToolName, (args: Record<string, unknown>) => unknown> = {
    query_restaurant: (args) => queryVenues(db, 'query_restaurant', args, maxResults),
    query_hotel: (args) => queryVenues(db, 'query_hotel', args, maxResults),
    query_attraction: (args) => queryVenues(db, 'query_attraction', args, maxResults),
    query_train: (args) => queryVenues(db, 'query_train', args, maxResults),
    book_restaurant: (args) => bookVenue(db, 'book_restaurant', args, ['day', 'time', 'people']),
    book_hotel: (args) => bookVenue(db, 'book_hotel', args, ['day', 'stay', 'people']),
    book_train: (args) => bookTrain(db, args),
    book_taxi: (args) => bookTaxi(db, args),
  };
  return MULTIWOZ_TOOL_NAMES.map((name) => ({
    schema: {
      type: 'function',
      function: {
        name,
        description: SCHEMAS[name].description,
        parameters: { type: 'object', properties: SCHEMAS[name].properties, required: SCHEMAS[name].required, additionalProperties: false },
      },
    },
    handler: (args: Record<string, unknown>) => handlers[name](args),
  }));
}

// ---------------------------------------------------------------------------------------------------------------

/** Arguments as state slot values: normalised, checked against the schema; unknown arguments are an error. */
export function toolArgumentsToSlots(tool: MultiwozToolName, args: Record<string, unknown>): Record<string, string> {
  const { slots } = TOOL_SLOTS[tool];
  const { properties, required } = SCHEMAS[tool];
  const result: Record<string, string> = {};
  for (const [arg, raw] of Object.entries(args)) {
    if (!Object.hasOwn(properties, arg)) throw new Error(`${tool}: unknown argument '${arg}' (expected ${Object.keys(properties).join(', ')})`);
    const text = slotValueText(raw);
    if (text === undefined) continue;
    const slot = Object.hasOwn(slots, arg) ? slots[arg] : arg;
    const value = Object.hasOwn(slots, arg) ? normaliseToolValue(slot, text) : text;
    // Checked after normalisation, so the evaluator's spellings ('guest house', 'free') are accepted.
    const allowed = (properties[arg] as { enum?: string[] }).enum;
    if (allowed && !allowed.includes(value)) throw new Error(`${tool}: ${arg} must be one of ${allowed.join(', ')}; got '${text}'`);
    result[slot] = value;
  }
  for (const arg of required) {
    const slot = Object.hasOwn(slots, arg) ? slots[arg] : arg;
    if (result[slot] === undefined) throw new Error(`${tool}: missing required argument '${arg}'`);
  }
  return result;
}

/** A tool-call value as slot text: trimmed, lower-case; numbers as digits; undefined for "no value". */
export function slotValueText(raw: unknown): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'boolean') return raw ? 'yes' : 'no';
  const text = String(raw).trim().toLowerCase();
  if (text === '' || text === 'any' || text === 'none' || NO_CONSTRAINT_VALUES.has(text)) return undefined;
  return text;
}

const TIME_SLOTS = new Set(['leave', 'arrive', 'booktime']);
const TWELVE_HOUR_TIME = /^(?:after|by)?\s*(\d{1,2})(?::(\d{2}))?\s*(am|a\.m\.|pm|p\.m\.)$/;

/**
 * The evaluator's value normalisation, except that 12-hour times are read correctly first (the evaluator adds 12
 * to every pm hour, so "12pm" would become 24:00) and booking times are brought to HH:MM too (as gold states have them).
 */
export function normaliseToolValue(slot: string, value: string): string {
  const twelveHour = TIME_SLOTS.has(slot) ? TWELVE_HOUR_TIME.exec(value) : null;
  if (twelveHour && Number(twelveHour[1]) >= 1 && Number(twelveHour[1]) <= 12) {
    const hours = (Number(twelveHour[1]) % 12) + (twelveHour[3].startsWith('p') ? 12 : 0);
    return `${String(hours).padStart(2, '0')}:${twelveHour[2] ?? '00'}`;
  }
  try {
    return slot === 'booktime' ? normaliseTime(value) : normaliseSlotValue(slot, value);
  } catch (err) {
    // An unparseable time ("ab:cd pm") is kept as written rather than failing the call.
    if (err instanceof MultiwozInputError) return value;
    throw err;
  }
}

function queryVenues(db: MultiwozDb, tool: MultiwozToolName, args: Record<string, unknown>, maxResults: number) {
  const domain = TOOL_SLOTS[tool].domain as VenueDomain;
  const constraints = toolArgumentsToSlots(tool, args);
  for (const slot of ['leave', 'arrive']) {
    if (constraints[slot] !== undefined && !/^\d{2}:\d{2}$/.test(constraints[slot])) {
      throw new Error(`${tool}: ${slot === 'leave' ? 'leave_at' : 'arrive_by'} must be a time like 14:30; got '${constraints[slot]}'`);
    }
  }
  const found = db.match(domain, constraints);
  return { count: found.length, results: found.slice(0, maxResults).map(present) };
}

/** A database record as shown to the model: no internal id, clearer field names. */
function present(record: DbRecord): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) if (key !== 'id') shown[FIELD_NAMES[key] ?? key] = value;
  return shown;
}

function bookVenue(db: MultiwozDb, tool: 'book_restaurant' | 'book_hotel', args: Record<string, unknown>, details: string[]) {
  const slots = toolArgumentsToSlots(tool, args);
  const domain = TOOL_SLOTS[tool].domain as VenueDomain;
  const venue = findVenue(db, domain, slots.name, tool);
  const booking: Record<string, string> = { name: venue.name };
  for (const detail of details) {
    const value = slots[TOOL_SLOTS[tool].slots[detail]];
    // The day was checked against its enum; times must be HH:MM, counts whole numbers.
    const ok = detail === 'day' || (detail === 'time' ? /^\d{2}:\d{2}$/.test(value) : /^[1-9]\d*$/.test(value));
    if (!ok) throw new Error(`${tool}: ${detail} must be ${detail === 'time' ? 'a time like 19:30' : 'a whole number'}; got '${value}'`);
    booking[detail] = value;
  }
  return { booked: true, reference: referenceNumber(tool, booking), ...booking };
}

/** The venue a booking names: an exact name, else the only fuzzy match; several or none is an error. */
function findVenue(db: MultiwozDb, domain: VenueDomain, name: string, tool: string): DbRecord {
  const exact = db.records[domain].find((record) => record.name === name);
  if (exact) return exact;
  const candidates = db.match(domain, { name });
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) throw new Error(`${tool}: no ${domain} is called '${name}'`);
  throw new Error(`${tool}: '${name}' could be ${candidates.map((c) => c.name).join(', ')}; give the full name`);
}

function bookTrain(db: MultiwozDb, args: Record<string, unknown>) {
  const slots = toolArgumentsToSlots('book_train', args);
  const trainId = slots.train_id.toUpperCase();
  const train = db.records.train.find((record) => record.trainid === trainId && (slots.day === undefined || record.day === slots.day));
  if (!train) throw new Error(`book_train: no train ${trainId}${slots.day ? ` runs on ${slots.day}` : ''}`);
  const people = Number(slots.bookpeople);
  if (!Number.isInteger(people) || people < 1) throw new Error(`book_train: people must be a whole number of tickets; got '${slots.bookpeople}'`);
  const price = Number.parseFloat(train.price);
  const booking = {
    train_id: train.trainid,
    day: train.day,
    departure: train.departure,
    destination: train.destination,
    departure_time: train.leave,
    arrival_time: train.arrive,
    people: String(people),
    total_price: `${(price * people).toFixed(2)} pounds`,
  };
  return { booked: true, reference: referenceNumber('book_train', booking), ...booking };
}

function bookTaxi(db: MultiwozDb, args: Record<string, unknown>) {
  const slots = toolArgumentsToSlots('book_taxi', args);
  if (slots.leave === undefined && slots.arrive === undefined) throw new Error('book_taxi: give leave_at or arrive_by');
  const booking: Record<string, string> = { departure: slots.departure, destination: slots.destination };
  if (slots.leave !== undefined) booking.leave_at = slots.leave;
  if (slots.arrive !== undefined) booking.arrive_by = slots.arrive;
  const digest = createHash('sha256').update(JSON.stringify(['book_taxi', booking])).digest();
  const car = `${db.taxi.colors[digest[0] % db.taxi.colors.length]} ${db.taxi.types[digest[1] % db.taxi.types.length]}`;
  // A made-up number in the database's format (10 digits, UK mobile style).
  const phone = '07' + Array.from(digest.subarray(2, 10), (byte) => String(byte % 10)).join('');
  return { booked: true, car, phone, ...booking };
}

/** An 8-character booking reference (like MultiWOZ's "YF86GE4J"), a hash of the booking: same booking, same number. */
export function referenceNumber(tool: string, booking: Record<string, string>): string {
  const digest = createHash('sha256').update(JSON.stringify([tool, booking])).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(digest.subarray(0, 8), (byte) => alphabet[byte % alphabet.length]).join('');
}
