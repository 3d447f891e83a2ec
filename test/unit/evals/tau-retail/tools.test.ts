/** The 16 retail tools: error cases and edge behaviour from the spec (notes/tau-retail-tools.md §2, §3, §10). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRetailData, RetailDatabase } from '../../../../src/evals/tau-retail/db';
import { openSession, closeSession, SESSION_FIELD } from '../../../../src/evals/tau-retail/session';
import { RETAIL_TOOL_NAMES, RETAIL_TOOL_SCHEMAS, runRetailTool, tools } from '../../../../src/evals/tau-retail/tools';
import type { ToolContext } from '../../../../src/core/tools/types';
import { repoPath } from '../../repo';

const data = loadRetailData(repoPath('examples/tau-retail/data'));
const fresh = () => new RetailDatabase(data);
/** One call on a fresh database. */
const once = (name: string, kwargs: Record<string, unknown>) => runRetailTool(fresh(), name, kwargs);

const PENDING = '#W5918442'; // sofia_rossi_8776, paid by credit_card_5051208
const DELIVERED = '#W4817420'; // ava_moore_2033, paid by gift_card_8168843 (balance 69)
const PROCESSED = '#W2611340';

describe('tool set', () => {
  test('16 tools, schemas straight from retail_tools.json, in the same order as the behaviours', () => {
    assert.equal(RETAIL_TOOL_SCHEMAS.length, 16);
    assert.deepEqual(RETAIL_TOOL_SCHEMAS.map((s) => s.function.name), [...RETAIL_TOOL_NAMES].sort());
    assert.deepEqual(tools.map((t) => t.schema), RETAIL_TOOL_SCHEMAS);
  });
});

describe('argument binding and unknown actions (§2)', () => {
  test('missing, unexpected and `data` arguments give Python’s TypeError texts', () => {
    assert.equal(once('get_order_details', {}), "Error: GetOrderDetails.invoke() missing 1 required positional argument: 'order_id'");
    assert.equal(once('find_user_id_by_name_zip', { first_name: 'Ava' }), "Error: FindUserIdByNameZip.invoke() missing 2 required positional arguments: 'last_name' and 'zip'");
    assert.equal(
      once('modify_user_address', { user_id: 'ava_moore_2033' }),
      "Error: ModifyUserAddress.invoke() missing 6 required positional arguments: 'address1', 'address2', 'city', 'state', 'country', and 'zip'",
    );
    // The unexpected argument wins over the missing one.
    assert.equal(once('get_order_details', { foo: 1 }), "Error: GetOrderDetails.invoke() got an unexpected keyword argument 'foo'");
    assert.equal(
      once('get_order_details', { order_id: PENDING, data: 1 }),
      "Error: tau_bench.envs.retail.tools.get_order_details.GetOrderDetails.invoke() got multiple values for keyword argument 'data'",
    );
    assert.equal(once('foo_bar', {}), 'Unknown action foo_bar');
  });

  test('arguments are not type-checked: Python’s behaviour for odd types', () => {
    assert.equal(once('get_order_details', { order_id: 123 }), 'Error: order not found');
    assert.equal(once('get_order_details', { order_id: ['#W5918442'] }), "Error: unhashable type: 'list'");
    assert.equal(once('get_user_details', { user_id: {} }), "Error: unhashable type: 'dict'");
    assert.equal(once('exchange_delivered_order_items', { order_id: DELIVERED, item_ids: null, new_item_ids: [], payment_method_id: 'gift_card_8168843' }), "Error: 'NoneType' object is not iterable");
    assert.equal(once('find_user_id_by_email', { email: 5 }), "Error: 'int' object has no attribute 'lower'");
    assert.equal(once('calculate', { expression: 12 }), "Error: 'int' object is not iterable");
    assert.equal(once('calculate', { expression: ['1', 2] }), "Error: 'in <string>' requires string as left operand, not int");
    assert.equal(once('calculate', { expression: ['1', '+', '2'] }), 'Error: eval() arg 1 must be a string, bytes or code object');
    // A string where a list belongs is a sequence of characters.
    assert.equal(once('exchange_delivered_order_items', { order_id: DELIVERED, item_ids: 'x', new_item_ids: ['1'], payment_method_id: 'gift_card_8168843' }), 'Error: x not found');
  });
});

describe('verified invalid calls (§10)', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['cancel_pending_order', { order_id: DELIVERED, reason: 'no longer needed' }, 'Error: non-pending order cannot be cancelled'],
    ['cancel_pending_order', { order_id: '#W0000000', reason: 'no longer needed' }, 'Error: order not found'],
    ['cancel_pending_order', { order_id: PENDING, reason: 'changed my mind' }, 'Error: invalid reason'],
    ['modify_pending_order_payment', { order_id: PENDING, payment_method_id: 'paypal_0000000' }, 'Error: payment method not found'],
    ['modify_pending_order_payment', { order_id: PENDING, payment_method_id: 'credit_card_5051208' }, 'Error: the new payment method should be different from the current one'],
    ['modify_pending_order_items', { order_id: PENDING, item_ids: ['9999999999'], new_item_ids: ['1'], payment_method_id: 'credit_card_5051208' }, 'Error: 9999999999 not found'],
    ['modify_pending_order_items', { order_id: PENDING, item_ids: ['1725100896', '1725100896'], new_item_ids: ['1', '2'], payment_method_id: 'credit_card_5051208' }, 'Error: 1725100896 not found'],
    ['modify_pending_order_items', { order_id: PENDING, item_ids: ['1725100896'], new_item_ids: ['5312063289'], payment_method_id: 'credit_card_5051208' }, 'Error: new item 5312063289 not found or available'],
    ['modify_pending_order_items', { order_id: PENDING, item_ids: ['1725100896'], new_item_ids: [], payment_method_id: 'credit_card_5051208' }, 'Error: the number of items to be exchanged should match'],
    ['modify_pending_order_items', { order_id: PROCESSED, item_ids: [], new_item_ids: [], payment_method_id: 'x' }, 'Error: non-pending order cannot be modified'],
    ['modify_pending_order_address', { order_id: PROCESSED, address1: 'a', address2: 'b', city: 'c', state: 'd', country: 'e', zip: 'f' }, 'Error: non-pending order cannot be modified'],
    ['modify_pending_order_payment', { order_id: PROCESSED, payment_method_id: 'x' }, 'Error: non-pending order cannot be modified'],
    ['cancel_pending_order', { order_id: PROCESSED, reason: 'no longer needed' }, 'Error: non-pending order cannot be cancelled'],
    ['modify_user_address', { user_id: 'nobody', address1: 'a', address2: 'b', city: 'c', state: 'd', country: 'e', zip: 'f' }, 'Error: user not found'],
    ['return_delivered_order_items', { order_id: PENDING, item_ids: [], payment_method_id: 'credit_card_5051208' }, 'Error: non-delivered order cannot be returned'],
    ['return_delivered_order_items', { order_id: DELIVERED, item_ids: [], payment_method_id: 'paypal_1' }, 'Error: payment method not found'],
    ['return_delivered_order_items', { order_id: DELIVERED, item_ids: ['0000000000'], payment_method_id: 'gift_card_8168843' }, 'Error: some item not found'],
    ['return_delivered_order_items', { order_id: '#W9077205', item_ids: ['9370300555'], payment_method_id: 'paypal_4101143' }, 'Error: payment method should be either the original payment method or a gift card'],
    ['exchange_delivered_order_items', { order_id: PENDING, item_ids: [], new_item_ids: [], payment_method_id: 'credit_card_5051208' }, 'Error: non-delivered order cannot be exchanged'],
    ['exchange_delivered_order_items', { order_id: DELIVERED, item_ids: ['6777246137', 'x'], new_item_ids: ['1'], payment_method_id: 'gift_card_8168843' }, 'Error: x not found'],
    ['exchange_delivered_order_items', { order_id: DELIVERED, item_ids: ['6777246137'], new_item_ids: ['1'], payment_method_id: 'gift_card_8168843' }, 'Error: new item 1 not found or available'],
    ['find_user_id_by_email', { email: 'x@y.z' }, 'Error: user not found'],
    ['get_user_details', { user_id: 'x' }, 'Error: user not found'],
    ['get_product_details', { product_id: '123' }, 'Error: product not found'],
    ['get_order_details', { order_id: 'W5918442' }, 'Error: order not found'],
    ['think', { thought: 'hmm' }, ''],
    ['transfer_to_human_agents', { summary: 'angry customer' }, 'Transfer successful'],
  ];
  for (const [name, kwargs, want] of cases) {
    test(`${name}(${JSON.stringify(kwargs)}) → ${want || '(empty)'}`, () => assert.equal(once(name, kwargs), want));
  }

  test('gift cards too small: the three messages', () => {
    const exchange = (newItem: string) =>
      once('exchange_delivered_order_items', { order_id: DELIVERED, item_ids: ['4900661478'], new_item_ids: [newItem], payment_method_id: 'gift_card_8168843' });
    assert.match(exchange('1111254697'), /"exchange_price_difference": 68\.53\}$/); // within the card's 69
    assert.equal(exchange('1768466237'), 'Error: insufficient gift card balance to pay for the price difference'); // 86.8
    assert.equal(
      once('modify_pending_order_items', { order_id: '#W9318778', item_ids: ['2143041831'], new_item_ids: ['3624655057'], payment_method_id: 'gift_card_7728021' }),
      'Error: insufficient gift card balance to pay for the new item', // 118.54 > 68
    );
    assert.equal(once('modify_pending_order_payment', { order_id: '#W6426438', payment_method_id: 'gift_card_7219486' }), 'Error: insufficient gift card balance to pay for the order');
  });
});

describe('behaviour and observation format (§3, §4)', () => {
  test('cancel refunds every history entry; gift-card balances become floats (49 + 4079.45 → 4128.45)', () => {
    const db = fresh();
    const out = runRetailTool(db, 'cancel_pending_order', { order_id: '#W6779827', reason: 'ordered by mistake' });
    assert.match(out, /"status": "cancelled", "payment_history": \[\{"transaction_type": "payment", "amount": 4079\.45, "payment_method_id": "gift_card_7219486"\}, \{"transaction_type": "refund", "amount": 4079\.45, "payment_method_id": "gift_card_7219486"\}\], "cancel_reason": "ordered by mistake"\}$/);
    assert.equal(db.user('ethan_lopez_6291')!.payment_methods.gift_card_7219486.balance, 4128.45);
    assert.equal(fresh().user('ethan_lopez_6291')!.payment_methods.gift_card_7219486.balance, 49n);
    assert.match(runRetailTool(db, 'get_user_details', { user_id: 'ethan_lopez_6291' }), /"balance": 4128\.45,/);
    assert.match(runRetailTool(fresh(), 'get_user_details', { user_id: 'ethan_lopez_6291' }), /"balance": 49,/);
  });

  test('a payment change keeps the order pending; cancelling afterwards refunds three entries', () => {
    const db = fresh();
    const changed = runRetailTool(db, 'modify_pending_order_payment', { order_id: '#W6779827', payment_method_id: 'credit_card_9789590' });
    assert.match(changed, /"status": "pending", "payment_history": \[\{[^}]*\}, \{"transaction_type": "payment", "amount": 4079\.45, "payment_method_id": "credit_card_9789590"\}, \{"transaction_type": "refund", "amount": 4079\.45, "payment_method_id": "gift_card_7219486"\}\]\}$/);
    assert.equal(db.user('ethan_lopez_6291')!.payment_methods.gift_card_7219486.balance, 4128.45);
    assert.equal(
      runRetailTool(db, 'modify_pending_order_payment', { order_id: '#W6779827', payment_method_id: 'gift_card_7219486' }),
      'Error: there should be exactly one payment for a pending order',
    );
    runRetailTool(db, 'cancel_pending_order', { order_id: '#W6779827', reason: 'no longer needed' });
    const order = db.order('#W6779827')!;
    assert.equal(order.payment_history.length, 6);
    assert.deepEqual(order.payment_history.slice(3).map((p) => p.payment_method_id), ['gift_card_7219486', 'credit_card_9789590', 'gift_card_7219486']);
    assert.equal(db.user('ethan_lopez_6291')!.payment_methods.gift_card_7219486.balance, 12287.35); // credited twice
  });

  test('item changes: swapping A,B → B,A leaves the items, records a 0.0 refund; the gift card 69 becomes 69.0', () => {
    const db = fresh();
    const before = structuredClone(db.order('#W9318778')!.items);
    const out = runRetailTool(db, 'modify_pending_order_items', {
      order_id: '#W9318778',
      item_ids: ['5669664287', '3076708684'],
      new_item_ids: ['3076708684', '5669664287'],
      payment_method_id: 'gift_card_7728021',
    });
    const order = db.order('#W9318778')!;
    assert.deepEqual(order.items, before);
    assert.equal(order.status, 'pending (item modified)');
    assert.match(out, /\{"transaction_type": "refund", "amount": 0\.0, "payment_method_id": "gift_card_7728021"\}\]\}$/);
    const balance = db.user(order.user_id)!.payment_methods.gift_card_7728021.balance;
    assert.equal(typeof balance, 'number'); // an int balance minus a float difference is a float
    assert.match(runRetailTool(db, 'get_user_details', { user_id: order.user_id }), new RegExp(`"balance": ${Number(balance)}\\.0,`));
    // Empty lists: an int 0 refund, and the balance stays an int.
    const empty = fresh();
    const emptyOut = runRetailTool(empty, 'modify_pending_order_items', { order_id: '#W9318778', item_ids: [], new_item_ids: [], payment_method_id: 'gift_card_7728021' });
    assert.match(emptyOut, /\{"transaction_type": "refund", "amount": 0, "payment_method_id": "gift_card_7728021"\}\]\}$/);
    assert.equal(typeof empty.user(order.user_id)!.payment_methods.gift_card_7728021.balance, 'bigint');
    assert.equal(runRetailTool(db, 'modify_pending_order_items', { order_id: '#W9318778', item_ids: [], new_item_ids: [], payment_method_id: 'gift_card_7728021' }), 'Error: non-pending order cannot be modified');
  });

  test('item changes record the unrounded difference (float noise is part of the observation)', () => {
    const db = fresh();
    const out = runRetailTool(db, 'modify_pending_order_items', { order_id: PENDING, item_ids: ['1725100896'], new_item_ids: ['1325156478'], payment_method_id: 'credit_card_5051208' });
    // 298.52 - 289.66 in doubles; tau-bench prints the same digits.
    assert.match(out, /"status": "pending \(item modified\)", "payment_history": \[\{[^}]*\}, \{"transaction_type": "payment", "amount": 8\.859999999999957, "payment_method_id": "credit_card_5051208"\}\]\}$/);
    const item = db.order(PENDING)!.items[0];
    assert.deepEqual([item.item_id, item.price], ['1325156478', 298.52]);
    assert.deepEqual(Object.keys(item), ['name', 'product_id', 'item_id', 'price', 'options']);
  });

  test('exchange: difference rounded, both id lists sorted independently, keys appended after the history', () => {
    const db = fresh();
    const out = runRetailTool(db, 'exchange_delivered_order_items', {
      order_id: DELIVERED,
      item_ids: ['6700049080', '4900661478'],
      new_item_ids: ['7523669277', '4900661478'],
      payment_method_id: 'gift_card_8168843',
    });
    assert.match(out, /"status": "exchange requested", "payment_history": \[[^\]]*\], "exchange_items": \["4900661478", "6700049080"\], "exchange_new_items": \["4900661478", "7523669277"\], "exchange_payment_method_id": "gift_card_8168843", "exchange_price_difference": 56\.91\}$/);
    assert.deepEqual(db.order(DELIVERED)!.items.map((i) => i.item_id), data.orders[DELIVERED].items.map((i) => i.item_id));
    assert.equal(db.user('ava_moore_2033')!.payment_methods.gift_card_8168843.balance, 69n); // no money moves yet
  });

  test('returns: sorted items, the original method or any gift card; an empty list is accepted', () => {
    const out = once('return_delivered_order_items', { order_id: DELIVERED, item_ids: ['9624127908', '6777246137'], payment_method_id: 'gift_card_8168843' });
    assert.match(out, /"status": "return requested", .*"return_items": \["6777246137", "9624127908"\], "return_payment_method_id": "gift_card_8168843"\}$/);
    assert.match(once('return_delivered_order_items', { order_id: DELIVERED, item_ids: [], payment_method_id: 'gift_card_8168843' }), /"return_items": \[\]/);
  });

  test('address changes put state before country, for orders and users', () => {
    const address = { address1: '1 Main St', address2: 'Apt 2', city: 'São Paulo', state: 'SP', country: 'Brazil', zip: '01000' };
    const order = once('modify_pending_order_address', { order_id: PENDING, ...address });
    assert.ok(order.includes('"address": {"address1": "1 Main St", "address2": "Apt 2", "city": "S\\u00e3o Paulo", "state": "SP", "country": "Brazil", "zip": "01000"}, "items"'));
    const user = once('modify_user_address', { user_id: 'ava_moore_2033', ...address });
    assert.ok(user.startsWith('{"name": {"first_name": "Ava", "last_name": "Moore"}, "address": {"address1": "1 Main St", "address2": "Apt 2", "city": "S\\u00e3o Paulo", "state": "SP"'));
  });

  test('look-ups: e-mail case-insensitive, zip exact; products print variants in file order', () => {
    assert.equal(once('find_user_id_by_email', { email: 'AVA.MOORE6020@example.com' }), 'ava_moore_2033');
    assert.equal(once('find_user_id_by_name_zip', { first_name: 'ava', last_name: 'MOORE', zip: '78234' }), 'ava_moore_2033');
    assert.equal(once('find_user_id_by_name_zip', { first_name: 'Ava', last_name: 'Moore', zip: '78234 ' }), 'Error: user not found');
    const product = once('get_product_details', { product_id: '3377618313' });
    assert.ok(product.startsWith('{"name": "Action Camera", "product_id": "3377618313", "variants": {"6700049080": {"item_id": "6700049080", "options": {'));
    assert.deepEqual([...product.matchAll(/"(\d{10})": \{"item_id"/g)].slice(0, 4).map((m) => m[1]), ['6700049080', '4859937227', '1586641416', '5925362855']);
    const types = once('list_all_product_types', {});
    assert.ok(types.startsWith('{"Action Camera": "3377618313", "Air Purifier": "3821016478", "Backpack": "2524789262", '));
    assert.ok(types.endsWith(', "Wristwatch": "6066914160", "Yoga Mat": "4635925001"}'));
    assert.equal(Object.keys(JSON.parse(types)).length, 50);
    assert.ok(types.indexOf('"LED Light Bulb"') < types.indexOf('"Laptop"'));
    assert.equal(once('calculate', { expression: '155.33 - 147.05 + 268.77 - 235.13' }), '41.92');
  });
});

describe('workspace tools module (`tools`)', () => {
  const context = (state: Record<string, unknown>): ToolContext => ({ agent: 'agent', toolCallId: 'call_1', signal: new AbortController().signal, state });
  const handler = (name: string) => tools.find((t) => t.schema.function.name === name)!.handler;

  test('handlers act on the session the turn input names, and record the actions', async () => {
    const session = openSession(fresh());
    try {
      const state = { task: { [SESSION_FIELD]: session.id } };
      assert.match(String(await handler('cancel_pending_order')({ order_id: PENDING, reason: 'no longer needed' }, context(state))), /"status": "cancelled"/);
      assert.equal(session.database.order(PENDING)!.status, 'cancelled');
      assert.equal(await handler('transfer_to_human_agents')({ summary: 's' }, context(state)), 'Transfer successful');
      assert.equal(session.transferred, true);
      assert.match(String(await handler('get_order_details')({ order_id: PENDING }, context(state))), /^Error: the conversation was transferred/);
      assert.deepEqual(session.toolActions.map((a) => a.name), ['cancel_pending_order', 'transfer_to_human_agents']);
    } finally {
      closeSession(session.id);
    }
  });

  test('without an open session the handler fails with a message naming the environment', () => {
    assert.throws(() => handler('think')({ thought: 'x' }, context({ task: {} })), /need the tau-retail environment/);
  });
});
