/**
 * Errors of the backend that name what is wrong with the user's input (a model folder, a request), as opposed to bugs.
 * At the bottom of src/backend: model/, tokenizer/, runtime/ and server/ all throw them.
 */

/** Thrown for bad user input about a model (unsupported model_type, missing tensor, shape mismatch...). */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}
