/**
 * The standard MultiWOZ evaluator's normalisation of responses, state slot names and slot values
 * (notes/multiwoz-evaluation.md §3). Tables and step order are the evaluator's, typos included.
 */
import type { DialogueState } from './types';

/** Bad predictions input; the message names the dialogue, turn or value at fault. */
export class MultiwozInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultiwozInputError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// §3.1 Responses: placeholders become canonical upper-case tokens.

const PLACEHOLDER_TOKENS: Record<string, string[]> = {
  ADDRESS: ['address', 'attraction_address', 'hospital_address', 'hotel_address', 'police_address', 'restaurant_address', 'value_address'],
  AREA: ['area', 'value_area', 'attraction_area', 'restaurant_area', 'hotel_area'],
  TIME: ['booktime', 'value_time', 'time', 'duration', 'value_duration', 'train_duration', 'arriveby', 'taxi_arriveby', 'value_arrive',
    'arrive by', 'train_arriveby', 'leaveat', 'value_leave', 'leave at', 'train_leaveat', 'train_leave', 'train_arrive', 'taxi_leaveat'],
  DAY: ['day', 'value_day', 'bookday', 'train_day'],
  PLACE: ['destination', 'value_destination', 'departure', 'value_departure', 'value_place', 'train_departure', 'train_destination',
    'taxi_destination', 'taxi_departure'],
  FOOD: ['food', 'value_food', 'restaurant_food'],
  NAME: ['name', 'attraction_name', 'hospital_name', 'hotel_name', 'police_name', 'restaurant_name', 'value_name'],
  PHONE: ['phone', 'attraction_phone', 'hospital_phone', 'hotel_phone', 'police_phone', 'restaurant_phone', 'taxi_phone', 'value_phone'],
  POST: ['postcode', 'attraction_postcode', 'hospital_postcode', 'hotel_postcode', 'restaurant_postcode', 'value_postcode', 'police_postcode'],
  PRICE: ['price', 'value_price', 'entrancefee', 'entrance fee', 'train_price', 'attraction_entrancefee', 'pricerange', 'value_pricerange',
    'price range', 'restaurant_pricerange', 'hotel_pricerange', 'attraction_pricerange', 'attraction_price'],
  REFERENCE: ['ref', 'attraction_reference', 'hotel_reference', 'restaurant_reference', 'train_reference', 'value_reference', 'reference'],
  COUNT: ['stars', 'value_stars', 'hotel_stars', 'bookstay', 'value_stay', 'stay', 'bookpeople', 'value_people', 'people', 'choice',
    'value_choice', 'value_count', 'attraction_choice', 'hotel_choice', 'restaurant_choice', 'train_choice'],
  TYPE: ['type', 'taxi_type', 'taxi_car', 'value_type', 'value_car', 'car', 'restaurant_type', 'hotel_type', 'attraction_type'],
  TRAINID: ['trainid', 'train_id', 'value_id', 'id', 'train', 'train_trainid'],
  INTERNET: ['internet', 'hotel_internet'],
  PARKING: ['parking', 'hotel_parking'],
  ID: ['hospital_id', 'attraction_id', 'restaurant_id'],
  DEPARTMENT: ['value_department', 'department', 'hospital_department'],
  OPEN: ['openhours'],
};

const TOKEN_OF_PLACEHOLDER = new Map<string, string>(
  Object.entries(PLACEHOLDER_TOKENS).flatMap(([token, texts]) => texts.map((text) => [text, token] as [string, string])),
);

/** `[` word characters or whitespace `]`, with an optional plural suffix tried in the evaluator's order. */
const PLACEHOLDER = /\[([\p{L}\p{N}_\s]+)\](es|s|-s|-es)?/gu;

/**
 * Lower-cases the response and replaces each placeholder by its canonical token (unknown ones by ''), so an
 * upper-case token in the result can only come from a placeholder. (BLEU's Moses round trip is not needed here.)
 */
export function normaliseResponse(response: string): string {
  return response.toLowerCase().replace(PLACEHOLDER, (_match, text: string) => TOKEN_OF_PLACEHOLDER.get(text) ?? '');
}

// ---------------------------------------------------------------------------------------------------------------
// §3.2 Slot names.

export function normaliseSlotName(slot: string): string {
  const name = slot.toLowerCase().replace(/ /g, '');
  if (name === 'arriveby') return 'arrive';
  if (name === 'leaveat') return 'leave';
  return name;
}

/**
 * Normalised copy of a state: slot names (§3.2) and values (§3.3). When two raw names collapse into one, the later
 * value wins and the slot keeps its first position (what assigning to a JavaScript object does). Nothing is dropped.
 */
export function normaliseState(state: DialogueState): DialogueState {
  const result: DialogueState = {};
  for (const [domain, slots] of Object.entries(state)) {
    const normalised: Record<string, string> = {};
    for (const [slot, value] of Object.entries(slots)) {
      const name = normaliseSlotName(slot);
      normalised[name] = normaliseSlotValue(name, value);
    }
    result[domain] = normalised;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// §3.3 Slot values, by normalised slot name.

export function normaliseSlotValue(slot: string, value: string): string {
  switch (slot) {
    case 'name':
    case 'destination':
    case 'departure':
      return normaliseName(value);
    case 'type':
      return TYPE_FIXES[value] ?? value;
    case 'food': {
      const food = value.trim().toLowerCase();
      return FOOD_FIXES[food] ?? food;
    }
    case 'arrive':
    case 'leave':
    case 'arriveby':
    case 'leaveat':
    case 'time':
      return normaliseTime(value);
    case 'parking':
    case 'internet':
      return value === 'free' ? 'yes' : value;
    default:
      return value;
  }
}

const NAME_FIXES: Record<string, string> = fixTable({
  'hotel du vin and bistro': ['hotel du vin bistro'],
  'the river bar steakhouse and grill': ['the river bar and grill'],
  nandos: ["nando's"],
  'city center north b and b': ['city center b and b'],
  'acorn guest house': ['acorn house'],
  'caffe uno': ['caffee uno', 'cafe uno'],
  'rosas bed and breakfast': ["rosa's"],
  'restaurant two two': ['restaurant called two two', 'restaurant 2 two', 'restaurant two 2', 'restaurant 2 2'],
  'restaurant one seven': ['restaurant 1 7', 'restaurant 17'],
  limehouse: ['lime house'],
  cityroomz: ['cityrooms'],
  'whale of a time': ['whale of time'],
  'huntingdon marriott hotel': ['huntingdon hotel'],
  'express by holiday inn cambridge': ['holiday inn exlpress, cambridge'],
  'university arms hotel': ['university hotel'],
  'arbury lodge guesthouse': ['arbury guesthouse and lodge', 'arbury guesthouse'],
  'bridge guest house': ['bridge house'],
  'nandos city centre': ['nandos in the city centre'],
  'broughton house gallery': ['broughton gallery'],
  'scudamores punting co': ['scudamores punt co'],
  'cambridge university botanic gardens': ['cambridge botanic gardens', 'the botanical gardens at cambridge university'],
  'junction theatre': ['the junction'],
  'trinity college': ['trinity street college'],
  "christ's college": ['christ college', 'christs'],
  'whipple museum of the history of science': ['history of science museum'],
  'parkside swimming pool': ['parkside pools'],
  'cafe jello gallery': ['cafe jello museum'],
});

const TYPE_FIXES: Record<string, string> = {
  'swimming pool': 'swimmingpool',
  'mutliple sports': 'multiple sports',
  'night club': 'nightclub',
  'guest house': 'guesthouse',
};

const FOOD_FIXES: Record<string, string> = {
  eriterean: 'mediterranean',
  brazilian: 'portuguese',
  'sea food': 'seafood',
  portugese: 'portuguese',
  'modern american': 'north american',
  americas: 'north american',
  intalian: 'italian',
  italain: 'italian',
  'asian or oriental': 'asian',
  english: 'british',
  australasian: 'australian',
  gastropod: 'gastropub',
  brutish: 'british',
  bristish: 'british',
  europeon: 'european',
};

function fixTable(canonicalToVariants: Record<string, string[]>): Record<string, string> {
  const table: Record<string, string> = {};
  for (const [canonical, variants] of Object.entries(canonicalToVariants)) for (const v of variants) table[v] = canonical;
  return table;
}

function normaliseName(value: string): string {
  const name = value.trim().toLowerCase().replaceAll(' & ', ' and ').replaceAll('&', ' and ').replaceAll(" '", "'");
  return NAME_FIXES[name] ?? name;
}

const ALL_DIGITS = /^\d+$/;

/** Python's int() on a string: surrounding whitespace and a sign allowed; anything else fails like the evaluator. */
function pythonInt(text: string, context: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new MultiwozInputError(`time value '${context}': '${text}' is not an integer`);
  return parseInt(text, 10);
}

/** Time canonicalisation, steps 1–13 of §3.3 in order. */
export function normaliseTime(value: string): string {
  let t = value.trim().toLowerCase();
  if (t === 'afternoon') return '13:00';
  if (t === 'lunch' || t === 'noon' || t === 'mid-day' || t === 'around lunch time') return '12:00';
  if (t === 'morning') return '08:00';
  if (t.startsWith("one o'clock p.m")) return '13:00';
  if (t.startsWith("ten o'clock a.m")) return '10:00';
  if (t === "seven o'clock tomorrow evening") return '07:00';
  if (t === 'three forty five p.m') return '15:45';
  if (t === 'one thirty p.m.') return '13:30';
  if (t === 'six fourty five') return '06:45';
  if (t === 'eight thirty') return '08:30';

  if (t.startsWith('by')) t = t.slice(3);
  if (t.startsWith('after')) t = t.slice(5).trim();
  if (t.startsWith('afer')) t = t.slice(4).trim();
  if (t.endsWith('am')) t = t.slice(0, -2).trim();
  if (t.endsWith('a.m.')) t = t.slice(0, -4).trim();
  if (t.endsWith('pm') || t.endsWith('p.m.')) {
    if (t.endsWith('pm')) t = t.slice(0, -2).trim();
    if (t.endsWith('p.m.')) t = t.slice(0, -4).trim();
    const parts = t.split(':');
    if (parts.length === 2) return `${pythonInt(parts[0], value) + 12}:${parts[1]}`;
    if (parts.length === 1 && ALL_DIGITS.test(parts[0])) return `${parseInt(parts[0], 10) + 12}:00`;
  }
  if (t === '') return '00:00';
  if (t.endsWith('.') || t.endsWith(',') || t.endsWith('?')) t = t.slice(0, -1);
  if (ALL_DIGITS.test(t) && t.length === 4) return `${t.slice(0, 2)}:${t.slice(2, 4)}`;
  if (ALL_DIGITS.test(t)) return `${t.padStart(2, '0')}:00`;
  if (t.includes(':')) t = t.replaceAll(' ', '');
  if (t.length === 4 && t[1] === ':') {
    const [hours, minutes] = t.split(':');
    return `${hours.padStart(2, '0')}:${minutes}`;
  }
  return t;
}

/** Minutes since midnight of a time starting with `hh:mm` (anything may follow); 0 for anything else (§3.3). */
export function timeToMinutes(time: string): number {
  if (!/^\d{2}:\d{2}/.test(time)) return 0;
  const parts = time.split(':');
  return 60 * pythonInt(parts[0], time) + pythonInt(parts[1], time);
}
