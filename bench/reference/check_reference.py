#!/usr/bin/env python3
"""Checks the PyTorch reference itself, independently of the TS engine:

1. stories260k (../shared/models/stories260k): logProb and per-token gradient·input against the shared fixture, which
   was computed by a float64 numpy port of llama2.c with central finite differences (so forward and gradient are both
   checked against code that is not ours).
2. For each architecture (random weights written here, in Python): autograd gradients against central finite
   differences of S, and the prefix trick (p > 0) against the full differentiated run (p = 0) on the shared tail.

Run from the repository root:  /usr/bin/python3 bench/reference/check_reference.py   (exit 1 on any failure)
"""
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch_attribute as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("AGENTCHORD_SHARED", os.path.join(REPO, "..", "shared"))
failures = []


def check(label, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {detail}")
    if not ok:
        failures.append(label)


def check_stories260k():
    model_dir = os.path.join(SHARED, "models", "stories260k")
    with open(os.path.join(model_dir, "reference_fixture.json")) as f:
        fixture = json.load(f)
    model = ref.Model(model_dir, torch.float64)
    for k, case in enumerate(fixture["cases"]):
        ids = case["ids"] + [case["next_token_argmax"]]
        req = {"inputIds": ids, "prefixLength": 0, "targetStart": len(ids) - 1, "spans": []}
        out = ref.attribute(model, req)
        lp_err = abs(out["logProb"] - case["next_token_logprob"])
        check(f"stories260k case {k} logProb", lp_err < 1e-9, f"|diff| {lp_err:.2e}")
        ours = np.array([t["gradInput"] for t in out["tokens"][:-1]])
        theirs = np.array(case["saliency_grad_times_input"])
        err = np.abs(ours - theirs).max() / np.abs(theirs).max()
        check(f"stories260k case {k} gradient·input", err < 1e-6, f"max diff / max value {err:.2e}")


def write_random_model(folder, arch, seed):
    """A tiny HF-layout model with random weights (independent of the product's writeRandomModel)."""
    rng = np.random.default_rng(seed)
    hidden, heads, kv, inter, vocab, layers = 32, 4, 2, 48, 64, 2
    head_dim = 16 if arch == "qwen3" else hidden // heads
    config = {"model_type": arch, "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv, "intermediate_size": inter, "vocab_size": vocab, "rms_norm_eps": 1e-6,
              "rope_theta": 10000.0, "tie_word_embeddings": arch == "qwen2", "head_dim": head_dim}
    shapes = {"model.embed_tokens.weight": (vocab, hidden), "model.norm.weight": (hidden,)}
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (vocab, hidden)
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (hidden,), p + "post_attention_layernorm.weight": (hidden,),
                       p + "self_attn.q_proj.weight": (heads * head_dim, hidden),
                       p + "self_attn.k_proj.weight": (kv * head_dim, hidden),
                       p + "self_attn.v_proj.weight": (kv * head_dim, hidden),
                       p + "self_attn.o_proj.weight": (hidden, heads * head_dim),
                       p + "mlp.gate_proj.weight": (inter, hidden), p + "mlp.up_proj.weight": (inter, hidden),
                       p + "mlp.down_proj.weight": (hidden, inter)})
        if arch == "qwen2":
            shapes.update({p + "self_attn.q_proj.bias": (heads * head_dim,), p + "self_attn.k_proj.bias": (kv * head_dim,),
                           p + "self_attn.v_proj.bias": (kv * head_dim,)})
        if arch == "qwen3":
            shapes.update({p + "self_attn.q_norm.weight": (head_dim,), p + "self_attn.k_norm.weight": (head_dim,)})
    header, blobs, offset = {}, [], 0
    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            arr = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            arr = (0.2 * rng.standard_normal(shape)).astype(np.float32)
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    header_bytes = json.dumps(header).encode()
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(blobs))


def log_prob_of(model, ids, embeds, t):
    with torch.no_grad():
        hidden = model.forward(embeds, 0, [])
        return float(model.target_log_prob(hidden[t - 1:-1], ids[t:]))


def check_architecture(arch, seed):
    with tempfile.TemporaryDirectory() as tmp:
        write_random_model(tmp, arch, seed)
        model = ref.Model(tmp, torch.float64)
        rng = np.random.default_rng(seed)
        ids_list = [int(i) for i in rng.integers(0, model.cfg.vocab, 12)]
        ids = torch.tensor(ids_list)
        t = 8
        full = ref.attribute(model, {"inputIds": ids_list, "prefixLength": 0, "targetStart": t, "spans": []})
        # Finite differences of S along each token's own embedding direction give g_i · e_i exactly (directional
        # derivative), which checks the gradient without perturbing every coordinate.
        embeds = model.embed[ids].clone()
        worst = 0.0
        for i in range(len(ids_list)):
            eps = 1e-6
            plus, minus = embeds.clone(), embeds.clone()
            plus[i] *= 1 + eps
            minus[i] *= 1 - eps
            fd = (log_prob_of(model, ids, plus, t) - log_prob_of(model, ids, minus, t)) / (2 * eps)
            worst = max(worst, abs(fd - full["tokens"][i]["gradInput"]))
        scale = max(abs(x["gradInput"]) for x in full["tokens"])
        check(f"{arch} gradient·input vs finite differences", worst / scale < 1e-6, f"max diff / max value {worst / scale:.2e}")
        p = 5
        cached = ref.attribute(model, {"inputIds": ids_list, "prefixLength": p, "targetStart": t, "spans": []})
        diff = max(max(abs(a["l1"] - b["l1"]), abs(a["gradInput"] - b["gradInput"]))
                   for a, b in zip(cached["tokens"], full["tokens"][p:]))
        diff = max(diff, abs(cached["logProb"] - full["logProb"]))
        check(f"{arch} prefix trick (p={p}) vs full run", diff < 1e-10, f"max |diff| {diff:.2e}")


def main():
    check_stories260k()
    for k, arch in enumerate(ref.SUPPORTED_TYPES):
        check_architecture(arch, 7 + k)
    print("all reference checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
