/**
 * The 16 tools of tau-bench's retail domain with their exact behaviour and observation strings
 * (spec: ../shared/notes/tau-retail-tools.md §2–§4). `runRetailTool(db, name, kwargs)` is the environment's `step`
 * for a tool action: it binds the arguments like Python would, runs the tool on the task's database and returns the
 * observation, where every failure is the string `Error: <message>` (that is what the agent sees in tau-bench).
 *
 * Arguments are not type-checked (neither does tau-bench); the Python behaviour for odd types is reproduced for the
 * cases the spec lists (a number where an id belongs is "not found", a list as a key is unhashable, ...).
 */
import schemaList from './retail_tools.json';
import type { ToolSchema } from '../../core/llm/types';
import type { ToolContext, ToolDefinition } from '../../core/tools/types';
import { calculate } from './calculate';
import type { Order, PaymentMethod, RetailDatabase, User } from './db';
import { findSession, SESSION_FIELD, type RetailSession } from './session';
import { PyError, pyAbs, pyAdd, pyJsonDumps, pyRound2, pySub, pyTypeName, type PyNumber } from './python';

/** The tools' OpenAI function schemas, exactly as tau-bench gives them to the agent (retail_tools.json). */
export const RETAIL_TOOL_SCHEMAS = schemaList as ToolSchema[];

export const TRANSFER_TOOL = 'transfer_to_human_agents';

type Args = Record<string, unknown>;

interface RetailTool {
  /** tau-bench's class name, part of Python's argument errors. */
  className: string;
  /** Parameter names in the order of the Python signature (= the schema's `required`). */
  parameters: string[];
  run(db: RetailDatabase, args: Args): string;
}

// ---------------------------------------------------------------------------------------------------------------
// Python behaviours the tools rely on

/** `key in dict` / `dict[key]` for an argument: strings look up, other scalars are simply absent, lists and dicts raise. */
function lookupKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) throw new PyError("unhashable type: 'list'");
  if (typeof value === 'object' && value !== null) throw new PyError("unhashable type: 'dict'");
  return undefined;
}

/** `for x in value`. */
function iterate(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (typeof value === 'object' && value !== null) return Object.keys(value);
  throw new PyError(`'${pyTypeName(value)}' object is not iterable`);
}

/** `len(value)`. */
function length(value: unknown): number {
  if (Array.isArray(value) || typeof value === 'string') return [...value].length;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length;
  throw new PyError(`object of type '${pyTypeName(value)}' has no len()`);
}

/** `value.lower()`. */
function lower(value: unknown): string {
  if (typeof value !== 'string') throw new PyError(`'${pyTypeName(value)}' object has no attribute 'lower'`);
  return value.toLowerCase();
}

/** `str(value)` for what can end up in an f-string error message. */
function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  return pyJsonDumps(value).replace(/"/g, "'");
}

/** Python `==` between a JSON argument and a database string (no cross-type equality matters here). */
const pyEquals = (a: unknown, b: unknown) => a === b;

/** `seq.count(x)` on a list or string argument. */
function count(sequence: unknown, x: unknown): number {
  if (!Array.isArray(sequence) && typeof sequence !== 'string') throw new PyError(`'${pyTypeName(sequence)}' object has no attribute 'count'`);
  return iterate(sequence).filter((y) => pyEquals(y, x)).length;
}

/** `sorted(value)` of strings (code-point order, as plain JS sort for these ASCII ids). */
function sortedStrings(value: unknown): unknown[] {
  return [...iterate(value)].sort();
}

// ---------------------------------------------------------------------------------------------------------------
// Shared checks

function findOrder(db: RetailDatabase, orderId: unknown): Order {
  const key = lookupKey(orderId);
  const order = key === undefined ? undefined : db.order(key);
  if (!order) throw new PyError('order not found');
  return order;
}

function findPaymentMethod(user: User, id: unknown): PaymentMethod {
  const key = lookupKey(id);
  if (key === undefined || !Object.hasOwn(user.payment_methods, key)) throw new PyError('payment method not found');
  return user.payment_methods[key];
}

function orderUser(db: RetailDatabase, order: Order): User {
  return db.user(order.user_id)!;
}

/** Each requested item id must occur in the order at least as often as in the request. */
function checkItemsInOrder(order: Order, itemIds: unknown, notFound: (itemId: unknown) => string): void {
  const orderItemIds = order.items.map((item) => item.item_id);
  for (const itemId of iterate(itemIds)) {
    if (count(itemIds, itemId) > orderItemIds.filter((id) => pyEquals(id, itemId)).length) throw new PyError(notFound(itemId));
  }
}

/** Sum of (new variant price - old item price) over the pairs, starting from the int 0; checks the new variants. */
function priceDifference(db: RetailDatabase, order: Order, itemIds: unknown, newItemIds: unknown): PyNumber {
  if (length(itemIds) !== length(newItemIds)) throw new PyError('the number of items to be exchanged should match');
  const olds = iterate(itemIds);
  const news = iterate(newItemIds);
  let diff: PyNumber = 0n;
  for (let i = 0; i < Math.min(olds.length, news.length); i++) {
    const item = order.items.find((it) => pyEquals(it.item_id, olds[i]))!;
    const key = lookupKey(news[i]);
    const variant = key === undefined ? undefined : db.product(item.product_id)!.variants.get(key);
    if (!variant || !variant.available) throw new PyError(`new item ${pyStr(news[i])} not found or available`);
    diff = pyAdd(diff, pySub(variant.price, item.price));
  }
  return diff;
}

const isGiftCardSource = (pm: PaymentMethod) => pm.source === 'gift_card';
const lessThan = (a: PyNumber | undefined, b: PyNumber) => (a as PyNumber) < b; // bigint/number comparison is exact, like Python's

/** The replacement address object: state before country, unlike the files. */
function newAddress(args: Args) {
  return {
    address1: args.address1,
    address2: args.address2,
    city: args.city,
    state: args.state,
    country: args.country,
    zip: args.zip,
  } as unknown as Order['address'];
}

const ADDRESS_PARAMETERS = ['address1', 'address2', 'city', 'state', 'country', 'zip'];

// ---------------------------------------------------------------------------------------------------------------
// The tools

const TOOLS: Record<string, RetailTool> = {
  calculate: {
    className: 'Calculate',
    parameters: ['expression'],
    run: (_db, { expression }) => {
      if (typeof expression === 'string') return calculate(expression);
      // Not a string: Python still runs the character check over its elements, then eval() refuses it.
      for (const element of iterate(expression)) {
        if (typeof element !== 'string') throw new PyError(`'in <string>' requires string as left operand, not ${pyTypeName(element)}`);
        if (!'0123456789+-*/(). '.includes(element)) throw new PyError('invalid characters in expression');
      }
      throw new PyError('eval() arg 1 must be a string, bytes or code object');
    },
  },

  cancel_pending_order: {
    className: 'CancelPendingOrder',
    parameters: ['order_id', 'reason'],
    run: (db, { order_id, reason }) => {
      const order = findOrder(db, order_id);
      if (order.status !== 'pending') throw new PyError('non-pending order cannot be cancelled');
      if (reason !== 'no longer needed' && reason !== 'ordered by mistake') throw new PyError('invalid reason');
      const refunds = order.payment_history.map((payment) => {
        if (payment.payment_method_id.includes('gift_card')) {
          const pm = orderUser(db, order).payment_methods[payment.payment_method_id];
          pm.balance = pyRound2(pyAdd(pm.balance!, payment.amount));
        }
        return { transaction_type: 'refund' as const, amount: payment.amount, payment_method_id: payment.payment_method_id };
      });
      order.status = 'cancelled';
      order.cancel_reason = reason;
      order.payment_history.push(...refunds);
      return pyJsonDumps(order);
    },
  },

  exchange_delivered_order_items: {
    className: 'ExchangeDeliveredOrderItems',
    parameters: ['order_id', 'item_ids', 'new_item_ids', 'payment_method_id'],
    run: (db, { order_id, item_ids, new_item_ids, payment_method_id }) => {
      const order = findOrder(db, order_id);
      if (order.status !== 'delivered') throw new PyError('non-delivered order cannot be exchanged');
      checkItemsInOrder(order, item_ids, (id) => `${pyStr(id)} not found`);
      const diff = pyRound2(priceDifference(db, order, item_ids, new_item_ids));
      const pm = findPaymentMethod(orderUser(db, order), payment_method_id);
      if (isGiftCardSource(pm) && lessThan(pm.balance, diff)) throw new PyError('insufficient gift card balance to pay for the price difference');
      order.status = 'exchange requested';
      order.exchange_items = sortedStrings(item_ids) as string[];
      order.exchange_new_items = sortedStrings(new_item_ids) as string[];
      order.exchange_payment_method_id = payment_method_id as string;
      order.exchange_price_difference = diff;
      return pyJsonDumps(order);
    },
  },

  find_user_id_by_email: {
    className: 'FindUserIdByEmail',
    parameters: ['email'],
    run: (db, { email }) => {
      for (const [id, user] of db.users()) if (user.email.toLowerCase() === lower(email)) return id;
      throw new PyError('user not found');
    },
  },

  find_user_id_by_name_zip: {
    className: 'FindUserIdByNameZip',
    parameters: ['first_name', 'last_name', 'zip'],
    run: (db, { first_name, last_name, zip }) => {
      for (const [id, user] of db.users()) {
        // Python's `and` evaluates left to right and stops early; so do the .lower() errors.
        if (user.name.first_name.toLowerCase() === lower(first_name) && user.name.last_name.toLowerCase() === lower(last_name) && user.address.zip === zip) {
          return id;
        }
      }
      throw new PyError('user not found');
    },
  },

  get_order_details: {
    className: 'GetOrderDetails',
    parameters: ['order_id'],
    run: (db, { order_id }) => pyJsonDumps(findOrder(db, order_id)),
  },

  get_product_details: {
    className: 'GetProductDetails',
    parameters: ['product_id'],
    run: (db, { product_id }) => {
      const key = lookupKey(product_id);
      const product = key === undefined ? undefined : db.product(key);
      if (!product) throw new PyError('product not found');
      return pyJsonDumps(product);
    },
  },

  get_user_details: {
    className: 'GetUserDetails',
    parameters: ['user_id'],
    run: (db, { user_id }) => {
      const key = lookupKey(user_id);
      const user = key === undefined ? undefined : db.user(key);
      if (!user) throw new PyError('user not found');
      return pyJsonDumps(user);
    },
  },

  list_all_product_types: {
    className: 'ListAllProductTypes',
    parameters: [],
    run: (db) => {
      const byName = new Map<string, string>();
      for (const product of db.products()) byName.set(product.name, product.product_id);
      return pyJsonDumps(new Map([...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    },
  },

  modify_pending_order_address: {
    className: 'ModifyPendingOrderAddress',
    parameters: ['order_id', ...ADDRESS_PARAMETERS],
    run: (db, args) => {
      const order = findOrder(db, args.order_id);
      if (order.status !== 'pending') throw new PyError('non-pending order cannot be modified');
      order.address = newAddress(args);
      return pyJsonDumps(order);
    },
  },

  modify_pending_order_items: {
    className: 'ModifyPendingOrderItems',
    parameters: ['order_id', 'item_ids', 'new_item_ids', 'payment_method_id'],
    run: (db, { order_id, item_ids, new_item_ids, payment_method_id }) => {
      const order = findOrder(db, order_id);
      if (order.status !== 'pending') throw new PyError('non-pending order cannot be modified');
      checkItemsInOrder(order, item_ids, (id) => `${pyStr(id)} not found`);
      const diff = priceDifference(db, order, item_ids, new_item_ids); // not rounded here (unlike exchanges)
      const pm = findPaymentMethod(orderUser(db, order), payment_method_id);
      if (isGiftCardSource(pm) && lessThan(pm.balance, diff)) throw new PyError('insufficient gift card balance to pay for the new item');

      // The recorded amount keeps its float noise (14.699999999999989): tau-bench records it unrounded.
      order.payment_history.push({ transaction_type: diff > 0 ? 'payment' : 'refund', amount: pyAbs(diff), payment_method_id: payment_method_id as string });
      if (isGiftCardSource(pm)) pm.balance = pyRound2(pySub(pm.balance!, diff));
      const olds = iterate(item_ids);
      const news = iterate(new_item_ids) as string[];
      olds.forEach((old, i) => {
        // The first item with that id in the order as modified so far (an earlier pair may have produced it).
        const item = order.items.find((it) => pyEquals(it.item_id, old))!;
        const variant = db.product(item.product_id)!.variants.get(news[i])!;
        item.item_id = news[i];
        item.price = variant.price;
        item.options = { ...variant.options };
      });
      order.status = 'pending (item modified)';
      return pyJsonDumps(order);
    },
  },

  modify_pending_order_payment: {
    className: 'ModifyPendingOrderPayment',
    parameters: ['order_id', 'payment_method_id'],
    run: (db, { order_id, payment_method_id }) => {
      const order = findOrder(db, order_id);
      if (order.status !== 'pending') throw new PyError('non-pending order cannot be modified');
      const user = orderUser(db, order);
      const pm = findPaymentMethod(user, payment_method_id);
      const history = order.payment_history;
      if (history.length > 1 || history[0].transaction_type !== 'payment') throw new PyError('there should be exactly one payment for a pending order');
      const oldId = history[0].payment_method_id;
      if (oldId === payment_method_id) throw new PyError('the new payment method should be different from the current one');
      const amount = history[0].amount;
      if (isGiftCardSource(pm) && lessThan(pm.balance, amount)) throw new PyError('insufficient gift card balance to pay for the order');

      history.push(
        { transaction_type: 'payment', amount, payment_method_id: payment_method_id as string },
        { transaction_type: 'refund', amount, payment_method_id: oldId },
      );
      if (isGiftCardSource(pm)) pm.balance = pyRound2(pySub(pm.balance!, amount));
      if (oldId.includes('gift_card')) {
        const old = user.payment_methods[oldId];
        old.balance = pyRound2(pyAdd(old.balance!, amount));
      }
      return pyJsonDumps(order);
    },
  },

  modify_user_address: {
    className: 'ModifyUserAddress',
    parameters: ['user_id', ...ADDRESS_PARAMETERS],
    run: (db, args) => {
      const key = lookupKey(args.user_id);
      const user = key === undefined ? undefined : db.user(key);
      if (!user) throw new PyError('user not found');
      user.address = newAddress(args);
      return pyJsonDumps(user);
    },
  },

  return_delivered_order_items: {
    className: 'ReturnDeliveredOrderItems',
    parameters: ['order_id', 'item_ids', 'payment_method_id'],
    run: (db, { order_id, item_ids, payment_method_id }) => {
      const order = findOrder(db, order_id);
      if (order.status !== 'delivered') throw new PyError('non-delivered order cannot be returned');
      findPaymentMethod(orderUser(db, order), payment_method_id);
      const id = payment_method_id as string;
      if (!id.includes('gift_card') && id !== order.payment_history[0].payment_method_id) {
        throw new PyError('payment method should be either the original payment method or a gift card');
      }
      checkItemsInOrder(order, item_ids, () => 'some item not found');
      order.status = 'return requested';
      order.return_items = sortedStrings(item_ids) as string[];
      order.return_payment_method_id = id;
      return pyJsonDumps(order);
    },
  },

  think: {
    className: 'Think',
    parameters: ['thought'],
    run: () => '',
  },

  [TRANSFER_TOOL]: {
    className: 'TransferToHumanAgents',
    parameters: ['summary'],
    run: () => 'Transfer successful',
  },
};

export const RETAIL_TOOL_NAMES: readonly string[] = Object.keys(TOOLS);

export function isRetailTool(name: string): boolean {
  return Object.hasOwn(TOOLS, name);
}

/**
 * tau-bench's `step` for one tool action: the observation string. Unknown names give `Unknown action <name>`;
 * argument errors and failures give `Error: <Python's message>`. Changes `db` as the tool does.
 */
export function runRetailTool(db: RetailDatabase, name: string, kwargs: Args): string {
  if (!isRetailTool(name)) return `Unknown action ${name}`;
  const tool = TOOLS[name];
  const bindingError = argumentError(name, tool, kwargs);
  if (bindingError) return `Error: ${bindingError}`;
  try {
    return tool.run(db, kwargs);
  } catch (err) {
    if (err instanceof PyError) return `Error: ${err.message}`;
    throw err;
  }
}

/** Python's TypeError when `invoke(data=data, **kwargs)` cannot bind the arguments (§2). */
function argumentError(name: string, tool: RetailTool, kwargs: Args): string | undefined {
  const invoke = `${tool.className}.invoke()`;
  if (Object.hasOwn(kwargs, 'data')) return `tau_bench.envs.retail.tools.${name}.${invoke} got multiple values for keyword argument 'data'`;
  const unexpected = Object.keys(kwargs).find((k) => !tool.parameters.includes(k));
  if (unexpected !== undefined) return `${invoke} got an unexpected keyword argument '${unexpected}'`;
  const missing = tool.parameters.filter((p) => !Object.hasOwn(kwargs, p)).map((p) => `'${p}'`);
  if (!missing.length) return undefined;
  const list = missing.length === 1 ? missing[0] : missing.length === 2 ? missing.join(' and ') : `${missing.slice(0, -1).join(', ')}, and ${missing.at(-1)}`;
  return `${invoke} missing ${missing.length} required positional argument${missing.length === 1 ? '' : 's'}: ${list}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The tools module of a workspace (docs/tools.md): `export { tools } from '.../tau-retail/tools'`

/** Runs a tool action in an episode's session; after a transfer to a human agent the episode is over. */
export function runSessionTool(session: RetailSession, name: string, kwargs: Args): string {
  if (session.transferred) return 'Error: the conversation was transferred to a human agent; no further actions are possible';
  const observation = runRetailTool(session.database, name, kwargs);
  session.toolActions.push({ name, kwargs, observation });
  if (name === TRANSFER_TOOL) session.transferred = true;
  return observation;
}

function sessionOf(context: ToolContext): RetailSession {
  const task = context.state?.task as Record<string, unknown> | undefined;
  const session = findSession(task?.[SESSION_FIELD]);
  if (!session) {
    throw new Error(`the tau-retail tools need the tau-retail environment: the turn's task fields carry no open "${SESSION_FIELD}"`);
  }
  return session;
}

/** The 16 tools with their schemas; each call acts on the database of the episode the environment opened. */
export const tools: ToolDefinition[] = RETAIL_TOOL_SCHEMAS.map((schema) => ({
  schema,
  handler: (args, context) => runSessionTool(sessionOf(context), schema.function.name, args),
}));
