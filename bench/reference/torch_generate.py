#!/usr/bin/env python3
"""PyTorch reference for the generation benchmark: greedy decoding with a KV cache, same timing JSON as
bench/generation/runGenerate.ts (prefill = time to the first new token, decode = the rest). Benchmarks only.

Usage: torch_generate.py --model DIR --prompt promptIds.json --max-tokens N [--threads N]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402  (torch_attribute re-executes without the OpenBLAS variables if needed)
import torch_attribute as ref  # noqa: E402


@torch.no_grad()
def generate(model, prompt_ids, max_tokens, stamps):
    cache = []
    hidden = model.forward(model.embed[torch.tensor(prompt_ids)], 0, cache)
    position = len(prompt_ids)
    ids = []
    for _ in range(max_tokens):
        next_id = int(torch.argmax(hidden[-1] @ model.lm_head_t))
        stamps.append(time.perf_counter())
        ids.append(next_id)
        if len(ids) == max_tokens:
            break
        hidden = model.forward(model.embed[next_id].unsqueeze(0), position, cache)
        position += 1
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--max-tokens", type=int, required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with open(args.prompt) as f:
        prompt_ids = json.load(f)
    t0 = time.perf_counter()
    model = ref.Model(args.model, torch.float32)
    load_s = time.perf_counter() - t0
    generate(model, prompt_ids[:16], 2, [])  # warm-up, as on our side
    stamps = []
    start = time.perf_counter()
    ids = generate(model, prompt_ids, args.max_tokens, stamps)
    print(json.dumps({"loadSeconds": load_s, "promptTokens": len(prompt_ids), "prefillSeconds": stamps[0] - start,
                      "decodeTokens": len(stamps) - 1, "decodeSeconds": stamps[-1] - stamps[0],
                      "finishReason": "length", "ids": ids}))


if __name__ == "__main__":
    main()
