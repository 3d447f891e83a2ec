/**
 * elkjs (graph layout) is 1.4 MB of JavaScript, two thirds of the extension bundle: loaded on the first layout rather
 * than at start-up. scripts/build.mjs gives it its own file (dist/elk.js) beside the extension and CLI bundles, so
 * activation does not even parse it; bundles without that split (tests) inline it behind the same dynamic import.
 */
import type { ELK } from 'elkjs/lib/elk-api';

let elk: Promise<ELK> | undefined;

export function loadElk(): Promise<ELK> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default());
  return elk;
}
