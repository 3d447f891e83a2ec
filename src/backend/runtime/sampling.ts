/** Next-token choice for generation: greedy, or temperature + nucleus (top-p) sampling with a seeded RNG. */

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** temperature 0 = greedy; otherwise softmax(logits / temperature), restricted to the top-p nucleus. */
export function pickToken(logits: ArrayLike<number>, temperature: number, topP: number, random: () => number): number {
  if (temperature <= 0) return argmax(logits);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const probs = Array.from(logits, (l, id) => ({ id, p: Math.exp((l - max) / temperature) }));
  const total = probs.reduce((s, x) => s + x.p, 0);
  probs.sort((a, b) => b.p - a.p);
  // The nucleus: the most likely tokens whose probabilities first reach topP (at least one token).
  const nucleus = [];
  let mass = 0;
  for (const x of probs) {
    nucleus.push(x);
    mass += x.p / total;
    if (mass >= topP) break;
  }
  let r = random() * nucleus.reduce((s, x) => s + x.p, 0);
  for (const x of nucleus) {
    r -= x.p;
    if (r <= 0) return x.id;
  }
  return nucleus[nucleus.length - 1].id;
}
