/**
 * The MultiWOZ venue databases, loaded and queried exactly as the standard evaluator does
 * (notes/multiwoz-evaluation.md §5): one typo fixed, some columns dropped, column names normalised, and a query
 * with fuzzy names, time windows and "dontcare" values. The taxi table (car colours and types) is loaded for tools.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { partialRatio } from './fuzzy';
import { normaliseSlotName, normaliseSlotValue, timeToMinutes } from './normalise';

export const VENUE_DOMAINS = ['restaurant', 'hotel', 'attraction', 'train'] as const;
export type VenueDomain = (typeof VENUE_DOMAINS)[number];

/** A database record after loading: normalised column names, string values. */
export type DbRecord = Record<string, string>;

export interface TaxiTable {
  colors: string[];
  types: string[];
}

export interface MultiwozDb {
  /** Records per domain, in file order. */
  readonly records: Readonly<Record<VenueDomain, readonly DbRecord[]>>;
  readonly taxi: TaxiTable;
  /** The records matching the constraints (the evaluator's query semantics), in database order. */
  match(domain: VenueDomain, constraints: Record<string, string>): DbRecord[];
  /** The evaluator's query: identifiers (`id`, or `trainid` for trains) of the matching records; [] for other domains. */
  query(domain: string, constraints: Record<string, string>): string[];
}

/** Values that put no constraint on a slot. Checked on the value as given, before normalisation. */
export const NO_CONSTRAINT_VALUES = new Set(['dontcare', 'not mentioned', "don't care", 'dont care', 'do n\'t care', 'do not care']);

const DROPPED_COLUMNS: Record<VenueDomain, string[]> = {
  attraction: ['location', 'openhours'],
  hotel: ['location', 'price', 'takesbookings'],
  restaurant: ['location', 'introduction', 'signature'],
  train: [],
};

/** Keys compared with partial_ratio ≥ 90 rather than equality. */
const FUZZY_KEYS: Record<VenueDomain, string[]> = {
  hotel: ['name'],
  attraction: ['name'],
  restaurant: ['name', 'food'],
  train: ['departure', 'destination'],
};

export function isVenueDomain(domain: string): domain is VenueDomain {
  return (VENUE_DOMAINS as readonly string[]).includes(domain);
}

/** Loads `<dbDir>/{restaurant,hotel,attraction,train,taxi}_db.json`. Errors name the file at fault. */
export function loadMultiwozDb(dbDir: string): MultiwozDb {
  const records = {} as Record<VenueDomain, DbRecord[]>;
  for (const domain of VENUE_DOMAINS) {
    const file = join(dbDir, `${domain}_db.json`);
    const raw = readJsonArray(file);
    records[domain] = raw.map((record, index) => cleanRecord(domain, record, `${file}: record ${index}`));
  }
  const taxiFile = join(dbDir, 'taxi_db.json');
  const taxiRaw = readJsonArray(taxiFile)[0] as { taxi_colors?: unknown; taxi_types?: unknown } | undefined;
  if (!taxiRaw || !isStringArray(taxiRaw.taxi_colors) || !isStringArray(taxiRaw.taxi_types)) {
    throw new Error(`${taxiFile}: expected [{ "taxi_colors": [...], "taxi_types": [...] }]`);
  }
  return createDb(records, { colors: taxiRaw.taxi_colors, types: taxiRaw.taxi_types });
}

/**
 * The same database from tables already parsed (e.g. the JSON files bundled into a workspace tools module, which
 * cannot read files next to its source at run time). `source` names them in errors.
 */
export function multiwozDbFromTables(tables: Record<VenueDomain | 'taxi', unknown>, source: string): MultiwozDb {
  const records = {} as Record<VenueDomain, DbRecord[]>;
  for (const domain of VENUE_DOMAINS) {
    const raw = tables[domain];
    if (!Array.isArray(raw)) throw new Error(`${source}: ${domain}_db.json: expected a JSON array of records`);
    records[domain] = raw.map((record, index) => cleanRecord(domain, record, `${source}: ${domain}_db.json: record ${index}`));
  }
  const taxiRaw = (Array.isArray(tables.taxi) ? tables.taxi[0] : undefined) as { taxi_colors?: unknown; taxi_types?: unknown } | undefined;
  if (!taxiRaw || !isStringArray(taxiRaw.taxi_colors) || !isStringArray(taxiRaw.taxi_types)) {
    throw new Error(`${source}: taxi_db.json: expected [{ "taxi_colors": [...], "taxi_types": [...] }]`);
  }
  return createDb(records, { colors: taxiRaw.taxi_colors, types: taxiRaw.taxi_types });
}

function createDb(records: Record<VenueDomain, DbRecord[]>, taxi: TaxiTable): MultiwozDb {
  // A domain's queryable keys are the columns of its first record (as in the evaluator).
  const queryableKeys = Object.fromEntries(VENUE_DOMAINS.map((d) => [d, Object.keys(records[d][0] ?? {})])) as Record<VenueDomain, string[]>;
  const cache = new Map<string, DbRecord[]>();

  function match(domain: VenueDomain, constraints: Record<string, string>): DbRecord[] {
    const query: [string, string][] = [];
    for (const key of queryableKeys[domain]) {
      const value = constraints[key];
      if (typeof value !== 'string' || NO_CONSTRAINT_VALUES.has(value)) continue;
      query.push([key, normaliseSlotValue(key, value)]);
    }
    const cacheKey = domain + JSON.stringify(query);
    let found = cache.get(cacheKey);
    if (!found) {
      found = records[domain].filter((record) => query.every(([key, value]) => passes(domain, key, record[key], value)));
      cache.set(cacheKey, found);
    }
    return found;
  }

  return {
    records,
    taxi,
    match,
    query(domain, constraints) {
      if (!isVenueDomain(domain)) return [];
      const idKey = domain === 'train' ? 'trainid' : 'id';
      return match(domain, constraints).map((record) => record[idKey]);
    },
  };
}

function passes(domain: VenueDomain, key: string, recordValue: string | undefined, constraint: string): boolean {
  // The evaluator crashes on a record without the column (three restaurants lack `phone`); states never constrain it.
  if (recordValue === undefined) return false;
  if (recordValue === '?') return true;
  if (key === 'arrive') return timeToMinutes(recordValue) <= timeToMinutes(constraint);
  if (key === 'leave') return timeToMinutes(recordValue) >= timeToMinutes(constraint);
  if (FUZZY_KEYS[domain].includes(key)) return partialRatio(recordValue, constraint) >= 90;
  return recordValue === constraint;
}

/** Applies the evaluator's typo fix, drops its unused columns and normalises column names (§5.1). */
function cleanRecord(domain: VenueDomain, raw: unknown, where: string): DbRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: expected an object`);
  const record: DbRecord = {};
  for (const [column, value] of Object.entries(raw)) {
    if (DROPPED_COLUMNS[domain].includes(column)) continue;
    // Column names get the same rule as state slot names (`arriveBy` → `arrive`, `entrance fee` → `entrancefee`).
    const name = column === 'id' ? column : normaliseSlotName(column);
    record[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  // The evaluator's copy of the attraction database fixes this one typo (shared data keeps the original).
  if (domain === 'attraction' && record.id === '68' && record.type === 'mutliple sports') record.type = 'multiple sports';
  return record;
}

function readJsonArray(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the MultiWOZ database: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON array of records`);
  return data;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
