/**
 * Scripted replies for the tau-retail example against OpenAITestServer: every request is answered from what it
 * says, never from the order requests arrive in. The system prompt tells who is asking (the user simulator, the
 * optimizer, or which agent of examples/tau-retail/prompts); the conversation tells which customer it is and how far
 * the episode has got.
 *
 * Two customers of the train split, each cancelling one pending order in two turns:
 *   train-4   Juan Rossi: the team cancels with the reason he gave -> reward 1;
 *   train-16  Olivia Silva: the manager passes on the wrong reason ("no longer needed" instead of "ordered by
 *             mistake") -> the database differs from the ground truth's -> reward 0, a loss, a proposal.
 */
import type { RecordedRequest, ScriptedReply } from '../../../support/openaiTestServer';
import { reply } from '../../../support/openaiTestServer';

export interface Customer {
  sampleId: string;
  name: string;
  first: string;
  last: string;
  zip: string;
  orderId: string;
  /** The reason the team passes to cancel_pending_order. */
  reasonUsed: string;
  opening: string;
  confirmation: string;
}

export const CUSTOMERS: Customer[] = [
  {
    sampleId: 'train-4',
    name: 'Juan Rossi',
    first: 'Juan',
    last: 'Rossi',
    zip: '77209',
    orderId: '#W7602708',
    reasonUsed: 'no longer needed',
    opening: "Hi, I'm Juan Rossi, zip code 77209. I'd like to cancel my order #W7602708.",
    confirmation: 'Yes, please cancel it. I no longer need it.',
  },
  {
    sampleId: 'train-16',
    name: 'Olivia Silva',
    first: 'Olivia',
    last: 'Silva',
    zip: '32240',
    orderId: '#W7613749',
    reasonUsed: 'no longer needed', // the ground truth says "ordered by mistake"
    opening: 'Hello, Olivia Silva here, zip 32240. Please cancel order #W7613749.',
    confirmation: 'Yes, go ahead: I ordered it by mistake.',
  },
];

export const STOP = '###STOP###';

/** The sentence the optimizer adds to the manager's prompt. */
export const OPTIMIZER_ADDITION = 'When a customer cancels an order, pass on the reason exactly as the customer gave it.';

/** Text of a message, whatever shape the client sent. */
function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

export function routeReply(request: RecordedRequest): ScriptedReply {
  const messages = request.body.messages as Array<{ role: string; content: unknown; tool_calls?: unknown[] }>;
  const system = text(messages[0]?.content);

  if (system.startsWith('You are a user interacting with an agent.')) {
    const customer = CUSTOMERS.find((c) => system.includes(c.name));
    if (!customer) return reply.error(400, { message: 'router: a user-simulator request for an unknown customer' });
    const linesWritten = messages.filter((m) => m.role === 'assistant').length;
    return reply.text([customer.opening, customer.confirmation][linesWritten] ?? STOP);
  }

  if (system.startsWith('You improve the prompts of a multi-agent system.')) {
    const request = text(messages[1]?.content);
    const current = /## manager[^\n]*\n[\s\S]*?Prompt:\n<<<\n([\s\S]*?)\n>>>/.exec(request)?.[1];
    if (!current) return reply.text('{"reasoning": "the manager is not blamed", "agent_prompts": {}}');
    return reply.text(
      JSON.stringify({ reasoning: 'The manager passed on the wrong cancellation reason.', agent_prompts: { manager: `${current}\n\n${OPTIMIZER_ADDITION}\n` } }),
    );
  }

  // An agent of the example: its input (blocks) says which customer and which turn.
  const input = messages.filter((m) => m.role === 'user').map((m) => text(m.content)).join('\n');
  const customer = CUSTOMERS.find((c) => input.includes(c.name));
  if (!customer) return reply.error(400, { message: `router: no known customer in the input of "${system.slice(0, 60)}"` });
  const confirming = input.includes(customer.confirmation);
  const last = messages[messages.length - 1];
  const toolResult = last.role === 'tool' ? text(last.content) : undefined;
  const agent = /^You are the ([a-z-]+)/.exec(system)?.[1];

  switch (agent) {
    case 'manager':
      return reply.text(
        confirming
          ? `order_modification: cancel order ${customer.orderId}, reason "${customer.reasonUsed}"; the customer confirmed.`
          : `user_resolution: find the user id of ${customer.first} ${customer.last}, zip ${customer.zip}\nretrieval: get the details of order ${customer.orderId}`,
      );
    case 'user-resolution':
      if (confirming) return reply.text('IDLE');
      if (toolResult !== undefined) return reply.text(`The customer's user id is ${toolResult}.`);
      return reply.toolCalls([{ id: 'call_user', name: 'find_user_id_by_name_zip', arguments: { first_name: customer.first, last_name: customer.last, zip: customer.zip } }]);
    case 'retrieval':
      if (confirming) return reply.text('IDLE');
      if (toolResult !== undefined) return reply.text(`Order ${customer.orderId} is ${JSON.parse(toolResult).status}.`);
      return reply.toolCalls([{ id: 'call_order', name: 'get_order_details', arguments: { order_id: customer.orderId } }]);
    case 'order-modification':
      if (!confirming) return reply.text('IDLE');
      if (toolResult !== undefined) return reply.text(`Cancelled ${customer.orderId}: status ${JSON.parse(toolResult).status}.`);
      return reply.toolCalls([{ id: 'call_cancel', name: 'cancel_pending_order', arguments: { order_id: customer.orderId, reason: customer.reasonUsed } }]);
    case 'post-delivery':
    case 'user-profile':
      return reply.text('IDLE');
    case 'responder':
      return reply.text(
        confirming
          ? `Your order ${customer.orderId} has been cancelled; the refund goes to the original payment method.`
          : `Thank you, ${customer.first}. Order ${customer.orderId} is pending. Shall I cancel it? Please tell me the reason and reply yes.`,
      );
    default:
      return reply.error(400, { message: `router: unknown system prompt "${system.slice(0, 60)}"` });
  }
}
