/**
 * The tau-bench retail database (orders, products, users) and the task lists, as shipped in
 * examples/tau-retail/data/ (spec: ../shared/notes/tau-retail-tools.md §1).
 *
 * Every task starts from a fresh database. The files are parsed once per process (`loadRetailData`); a task's
 * `RetailDatabase` copies an order or user the first time it is touched (copy on write), so a fresh database costs
 * nothing and replaying hundreds of tasks takes seconds. Products are never changed by any tool and are shared.
 *
 * Python int vs float (it shows in observations: `51` vs `51.0`): ints are bigint, floats are number (python.ts).
 * In these files every `price`/`amount` is a float and every gift-card `balance` an int; the data hash test
 * (initial hash 5a4b2cb5…) checks that reading.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { pyDeepEqual, pyHashText, pyStringRepr, type PyNumber } from './python';

export interface RetailAddress {
  address1: string;
  address2: string;
  city: string;
  country: string;
  state: string;
  zip: string;
}

export interface OrderItem {
  name: string;
  product_id: string;
  item_id: string;
  price: PyNumber;
  options: Record<string, string>;
}

export interface PaymentRecord {
  transaction_type: 'payment' | 'refund';
  amount: PyNumber;
  payment_method_id: string;
}

export interface Order {
  order_id: string;
  user_id: string;
  address: RetailAddress;
  items: OrderItem[];
  fulfillments: Array<{ tracking_id: string[]; item_ids: string[] }>;
  status: string;
  payment_history: PaymentRecord[];
  /** Keys tools append (after payment_history, in this order). */
  cancel_reason?: string;
  exchange_items?: string[];
  exchange_new_items?: string[];
  exchange_payment_method_id?: string;
  exchange_price_difference?: PyNumber;
  return_items?: string[];
  return_payment_method_id?: string;
}

export interface PaymentMethod {
  source: string;
  id: string;
  brand?: string;
  last_four?: string;
  balance?: PyNumber;
}

export interface User {
  name: { first_name: string; last_name: string };
  address: RetailAddress;
  email: string;
  payment_methods: Record<string, PaymentMethod>;
  orders: string[];
}

export interface Variant {
  item_id: string;
  options: Record<string, string>;
  available: boolean;
  price: number;
}

/** Maps, not objects: product and item ids are integer-like, and JS objects would reorder such keys. */
export interface Product {
  name: string;
  product_id: string;
  variants: Map<string, Variant>;
}

/** The initial database of the benchmark, read-only by convention: tasks work on a `RetailDatabase`. */
export interface RetailData {
  orders: Record<string, Order>;
  products: Map<string, Product>;
  users: Record<string, User>;
}

export type RetailSplit = 'train' | 'dev' | 'test';
export const RETAIL_SPLITS: readonly RetailSplit[] = ['train', 'dev', 'test'];

export interface RetailAction {
  name: string;
  kwargs: Record<string, unknown>;
}

export interface RetailTask {
  user_id: string;
  actions: RetailAction[];
  instruction: string;
  outputs: string[];
}

/** File names inside the data folder. */
export const TAU_RETAIL_FILES = {
  orders: 'orders.json',
  products: 'products.json',
  users: 'users.json',
  policy: 'policy.md',
  rules: 'retail_rules.json',
  tasks: (split: RetailSplit) => `retail_tasks_${split}.json`,
  /** The order in which the GBC paper ran the test tasks. */
  testOrder: 'agentchord_retail_test_order_seed42.json',
} as const;

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseJson(file: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return JSON.parse(readText(file), reviver);
  } catch (err) {
    if (err instanceof SyntaxError) throw new Error(`${file}: not valid JSON: ${err.message}`);
    throw err;
  }
}

const loaded = new Map<string, RetailData>();

/** The initial database of a data folder, parsed once per process and shared (never modify it). */
export function loadRetailData(dataDir: string): RetailData {
  let data = loaded.get(dataDir);
  if (!data) {
    data = {
      orders: parseJson(join(dataDir, TAU_RETAIL_FILES.orders)) as Record<string, Order>,
      products: readProducts(join(dataDir, TAU_RETAIL_FILES.products)),
      // Gift-card balances are written without a decimal point: Python ints.
      users: parseJson(join(dataDir, TAU_RETAIL_FILES.users), (key, value) =>
        key === 'balance' && typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value,
      ) as Record<string, User>,
    };
    loaded.set(dataDir, data);
  }
  return data;
}

/** products.json keeps ids in file order only when read into Maps; the yaml package's JSON-compatible parser does that. */
function readProducts(file: string): Map<string, Product> {
  let raw: Map<string, Map<string, unknown>>;
  try {
    raw = parseYaml(readText(file), { mapAsMap: true, uniqueKeys: false, schema: 'json' }) as typeof raw;
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!(raw instanceof Map)) throw new Error(`${file}: expected a JSON object of products`);
  const products = new Map<string, Product>();
  for (const [id, p] of raw) {
    const variants = new Map<string, Variant>();
    for (const [itemId, v] of p.get('variants') as Map<string, Map<string, unknown>>) {
      variants.set(itemId, {
        item_id: v.get('item_id') as string,
        options: Object.fromEntries(v.get('options') as Map<string, string>),
        available: v.get('available') as boolean,
        price: v.get('price') as number,
      });
    }
    products.set(id, { name: p.get('name') as string, product_id: p.get('product_id') as string, variants });
  }
  return products;
}

const loadedTasks = new Map<string, RetailTask[]>();

/** A split's tasks, parsed once per process and shared (never modify them). */
export function loadRetailTasks(dataDir: string, split: RetailSplit): RetailTask[] {
  const file = join(dataDir, TAU_RETAIL_FILES.tasks(split));
  let tasks = loadedTasks.get(file);
  if (!tasks) {
    tasks = readTasks(file);
    loadedTasks.set(file, tasks);
  }
  return tasks;
}

function readTasks(file: string): RetailTask[] {
  const tasks = parseJson(file);
  if (!Array.isArray(tasks)) throw new Error(`${file}: expected a JSON array of tasks`);
  tasks.forEach((t, i) => {
    const task = t as Partial<RetailTask>;
    if (typeof task?.instruction !== 'string' || !Array.isArray(task.actions) || !Array.isArray(task.outputs)) {
      throw new Error(`${file}: task ${i} must have "instruction" (string), "actions" and "outputs" (arrays)`);
    }
  });
  return tasks as RetailTask[];
}

export function loadRetailPolicy(dataDir: string): string {
  return readText(join(dataDir, TAU_RETAIL_FILES.policy));
}

/** The GBC paper's order of the 115 test tasks (task indexes). */
export function loadPaperTestOrder(dataDir: string): number[] {
  const file = join(dataDir, TAU_RETAIL_FILES.testOrder);
  const order = (parseJson(file) as { order?: unknown }).order;
  if (!Array.isArray(order) || !order.every((i) => Number.isInteger(i))) throw new Error(`${file}: expected { "order": [task indexes] }`);
  return order as number[];
}

/** Cached hash texts of the initial records, so hashing a task's database only formats what the task changed. */
interface HashCache {
  orderIds: string[];
  userIds: string[];
  orderText: Map<string, string>;
  userText: Map<string, string>;
  productsText?: string;
}
const hashCaches = new WeakMap<RetailData, HashCache>();

/** One task's database: starts equal to the initial data; tools change it through order() and user(). */
export class RetailDatabase {
  private readonly orderCopies = new Map<string, Order>();
  private readonly userCopies = new Map<string, User>();

  constructor(readonly initial: RetailData) {}

  /** This task's copy of an order (made on first access), to read or change; undefined if there is none. */
  order(id: string): Order | undefined {
    let copy = this.orderCopies.get(id);
    if (!copy && Object.hasOwn(this.initial.orders, id)) {
      copy = structuredClone(this.initial.orders[id]);
      this.orderCopies.set(id, copy);
    }
    return copy;
  }

  user(id: string): User | undefined {
    let copy = this.userCopies.get(id);
    if (!copy && Object.hasOwn(this.initial.users, id)) {
      copy = structuredClone(this.initial.users[id]);
      this.userCopies.set(id, copy);
    }
    return copy;
  }

  product(id: string): Product | undefined {
    return this.initial.products.get(id);
  }

  products(): Iterable<Product> {
    return this.initial.products.values();
  }

  /** Users in file order as they are now, for scans. Read only: change a user through user(id). */
  *users(): Iterable<[string, User]> {
    for (const id of Object.keys(this.initial.users)) yield [id, this.userCopies.get(id) ?? this.initial.users[id]];
  }

  private currentOrder(id: string): Order {
    return this.orderCopies.get(id) ?? this.initial.orders[id];
  }

  private currentUser(id: string): User {
    return this.userCopies.get(id) ?? this.initial.users[id];
  }

  /** The whole database as it is now (untouched records are shared with the initial data: do not modify). */
  snapshot(): RetailData {
    return {
      orders: Object.fromEntries(Object.keys(this.initial.orders).map((id) => [id, this.currentOrder(id)])),
      products: this.initial.products,
      users: Object.fromEntries(Object.keys(this.initial.users).map((id) => [id, this.currentUser(id)])),
    };
  }

  /** Same contents as `other` (both from the same initial data), as tau-bench's hash comparison sees it. */
  equals(other: RetailDatabase): boolean {
    if (other.initial !== this.initial) return pyDeepEqual(this.snapshot(), other.snapshot());
    const orderIds = new Set([...this.orderCopies.keys(), ...other.orderCopies.keys()]);
    const userIds = new Set([...this.userCopies.keys(), ...other.userCopies.keys()]);
    return (
      [...orderIds].every((id) => pyDeepEqual(this.currentOrder(id), other.currentOrder(id))) &&
      [...userIds].every((id) => pyDeepEqual(this.currentUser(id), other.currentUser(id)))
    );
  }

  /** tau-bench's `get_data_hash` (§7): sha256 of the Python text of the key-sorted database. */
  hash(): string {
    const cache = this.hashCache();
    const sha = createHash('sha256');
    const recordsText = (ids: string[], copies: Map<string, unknown>, initialText: Map<string, string>, initial: Record<string, unknown>) => {
      sha.update('(');
      ids.forEach((id, i) => {
        if (i > 0) sha.update(', ');
        const copy = copies.get(id);
        sha.update(`(${pyStringRepr(id)}, `);
        sha.update(copy ? textOf(copy) : cachedText(initialText, id, initial[id]));
        sha.update(')');
      });
      sha.update(ids.length === 1 ? ',)' : ')');
    };
    sha.update("(('orders', ");
    recordsText(cache.orderIds, this.orderCopies, cache.orderText, this.initial.orders as Record<string, unknown>);
    sha.update("), ('products', ");
    cache.productsText ??= textOf(this.initial.products);
    sha.update(cache.productsText);
    sha.update("), ('users', ");
    recordsText(cache.userIds, this.userCopies, cache.userText, this.initial.users as Record<string, unknown>);
    sha.update('))');
    return sha.digest('hex');
  }

  private hashCache(): HashCache {
    let cache = hashCaches.get(this.initial);
    if (!cache) {
      const sorted = (o: object) => Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      cache = { orderIds: sorted(this.initial.orders), userIds: sorted(this.initial.users), orderText: new Map(), userText: new Map() };
      hashCaches.set(this.initial, cache);
    }
    return cache;
  }
}

function textOf(value: unknown): string {
  const pieces: string[] = [];
  pyHashText(value, pieces);
  return pieces.join('');
}

function cachedText(cache: Map<string, string>, id: string, value: unknown): string {
  let text = cache.get(id);
  if (text === undefined) {
    text = textOf(value);
    cache.set(id, text);
  }
  return text;
}
