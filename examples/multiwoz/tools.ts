/**
 * The eight MultiWOZ tools over the real databases (src/evals/multiwoz/tools.ts): query_restaurant,
 * query_hotel, query_attraction, query_train, book_restaurant, book_hotel, book_train, book_taxi.
 * Queries match venues exactly as the standard evaluator does, and their arguments are the dialogue state.
 */
import { multiwozTools } from '../../src/evals/multiwoz/tools';
import { db } from './db';

export const tools = multiwozTools(db);
