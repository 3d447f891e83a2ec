#!/usr/bin/env python3
"""Independent PyTorch reference for `agentchord attribute` (benchmarks and golden fixtures only, never run time).

Reads a Hugging Face model folder (config.json + safetensors, no `transformers` library) of type llama, qwen2, qwen3
or mistral and answers the same request JSON with the same output JSON as the CLI:

  request: {"inputIds": [...], "prefixLength": p, "targetStart": t, "spans": [{"id", "start", "end"}]} (or a list)
  output:  {"logProb": S, "tokens": [{"l1", "gradInput"} for positions p..n-1],
            "connections": {id: {"meanL1", "maxL1", "meanGradInput", "maxGradInput"}}}

S = sum_{i >= t} log p(ids[i] | ids[<i]) with p < t < n; gradients are taken w.r.t. the tail input embeddings only.
The prefix trick is the same as ours: positions [0, p) run once under no_grad into a KV cache, only the tail is differentiated.

Usage: torch_attribute.py --model DIR --request FILE|- [--dtype float32|float64] [--threads N] [--repeat R] [--timing]
                          [--checkpoint]
  --repeat R runs the whole request set R times (output of the last run); --timing prints one JSON line with the
  load and per-run seconds to stderr.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

# These two variables (set on the team's machines for another BLAS) make Debian's OpenBLAS misdetect the CPU and run
# far slower; torch must start without them, so re-execute once with them removed.
if os.environ.get("OPENBLAS_CORETYPE") is not None or os.environ.get("OPENBLAS_L2_SIZE") is not None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.utils.checkpoint  # noqa: E402

SUPPORTED_TYPES = ("llama", "qwen2", "qwen3", "mistral")

# safetensors dtype names -> numpy dtypes. BF16 is read as raw 16-bit patterns and widened by hand below; as int16,
# because torch 1.13 cannot make a tensor of numpy uint16 (the shift below moves the sign-extended bits out anyway).
NUMPY_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16}


class InputError(Exception):
    """Bad user input (model folder or request); the message names the file/field at fault."""


# ---------------------------------------------------------------------------------------------------------------------
# Loading: config.json + (sharded) safetensors. The format is tiny: 8-byte little-endian header length, JSON header
# {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw little-endian data.
# ---------------------------------------------------------------------------------------------------------------------


def read_safetensors(path, names_wanted=None):
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    data_start = 8 + header_len
    # Copy-on-write map: tensors share the page cache, and torch gets writable arrays (no warning).
    raw = np.memmap(path, dtype=np.uint8, mode="c", offset=data_start)
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__" or (names_wanted is not None and name not in names_wanted):
            continue
        if meta["dtype"] not in NUMPY_DTYPES:
            raise InputError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        begin, end = meta["data_offsets"]
        arr = raw[begin:end].view(NUMPY_DTYPES[meta["dtype"]]).reshape(meta["shape"])
        t = torch.from_numpy(arr)
        if meta["dtype"] == "BF16":  # bf16 is the top half of an fp32
            t = (t.to(torch.int32) << 16).view(torch.float32)
        tensors[name] = t
    return tensors


def load_weights(model_dir):
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(read_safetensors(os.path.join(model_dir, shard)))
        return tensors
    single = os.path.join(model_dir, "model.safetensors")
    if not os.path.exists(single):
        raise InputError(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json exists")
    return read_safetensors(single)


class Config:
    def __init__(self, model_dir):
        path = os.path.join(model_dir, "config.json")
        with open(path) as f:
            c = json.load(f)
        self.model_type = c.get("model_type")
        if self.model_type not in SUPPORTED_TYPES:
            raise InputError(f"{path}: model_type {self.model_type!r} is not one of {', '.join(SUPPORTED_TYPES)}")
        try:
            self.hidden = c["hidden_size"]
            self.layers = c["num_hidden_layers"]
            self.heads = c["num_attention_heads"]
            self.vocab = c["vocab_size"]
            self.intermediate = c["intermediate_size"]
        except KeyError as e:
            raise InputError(f"{path}: missing field {e.args[0]}") from None
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.rope_theta = c.get("rope_theta", 10000.0)
        self.tie = bool(c.get("tie_word_embeddings", False))  # the HF default for all four types
        # Qwen2 always has q/k/v bias; llama/mistral may declare attention_bias; qwen3 has none by default.
        self.qkv_bias = self.model_type == "qwen2" or bool(c.get("attention_bias", False))
        self.qk_norm = self.model_type == "qwen3"
        # Sliding window: mistral uses it when set; qwen2/qwen3 only with use_sliding_window.
        window = c.get("sliding_window")
        if self.model_type in ("qwen2", "qwen3") and not c.get("use_sliding_window", False):
            window = None
        self.sliding_window = window
        scaling = c.get("rope_scaling")
        if scaling and scaling.get("rope_type", scaling.get("type")) not in (None, "default"):
            raise InputError(f"{path}: rope_scaling {scaling} is not supported by the reference")
        if self.heads % self.kv_heads:
            raise InputError(f"{path}: num_attention_heads {self.heads} is not a multiple of num_key_value_heads")


class Model:
    """The decoder with frozen weights. All matmuls batched over heads; grouped-query attention without copying K/V."""

    def __init__(self, model_dir, dtype):
        self.cfg = cfg = Config(model_dir)
        self.dtype = dtype
        raw = load_weights(model_dir)

        def w(name, shape=None):
            if name not in raw:
                raise InputError(f"{model_dir}: tensor {name} is missing from the safetensors files")
            t = raw[name]
            if shape is not None and tuple(t.shape) != tuple(shape):
                raise InputError(f"{model_dir}: tensor {name} has shape {tuple(t.shape)}, expected {tuple(shape)}")
            return t.to(dtype).contiguous()

        H, D, Hq, Hkv, I = cfg.hidden, cfg.head_dim, cfg.heads, cfg.kv_heads, cfg.intermediate
        self.embed = w("model.embed_tokens.weight", (cfg.vocab, H))
        self.layers = []
        for i in range(cfg.layers):
            p = f"model.layers.{i}."
            layer = {
                "ln1": w(p + "input_layernorm.weight", (H,)),
                "ln2": w(p + "post_attention_layernorm.weight", (H,)),
                # q, k, v fused into one (H, (Hq + 2 Hkv) D) matrix: one matmul instead of three.
                "wqkv": torch.cat([w(p + "self_attn.q_proj.weight", (Hq * D, H)),
                                   w(p + "self_attn.k_proj.weight", (Hkv * D, H)),
                                   w(p + "self_attn.v_proj.weight", (Hkv * D, H))]).t().contiguous(),
                "wo": w(p + "self_attn.o_proj.weight", (H, Hq * D)).t().contiguous(),
                "w_gate_up": torch.cat([w(p + "mlp.gate_proj.weight", (I, H)),
                                        w(p + "mlp.up_proj.weight", (I, H))]).t().contiguous(),
                "w_down": w(p + "mlp.down_proj.weight", (H, I)).t().contiguous(),
            }
            if cfg.qkv_bias:
                layer["bqkv"] = torch.cat([w(p + "self_attn.q_proj.bias", (Hq * D,)),
                                           w(p + "self_attn.k_proj.bias", (Hkv * D,)),
                                           w(p + "self_attn.v_proj.bias", (Hkv * D,))])
            if cfg.qk_norm:
                layer["q_norm"] = w(p + "self_attn.q_norm.weight", (D,))
                layer["k_norm"] = w(p + "self_attn.k_norm.weight", (D,))
            self.layers.append(layer)
        self.norm = w("model.norm.weight", (H,))
        if cfg.tie or "lm_head.weight" not in raw:
            if not cfg.tie:
                raise InputError(f"{model_dir}: tie_word_embeddings is false but lm_head.weight is missing")
            self.lm_head_t = self.embed.t()
        else:
            self.lm_head_t = w("lm_head.weight", (cfg.vocab, H)).t().contiguous()
        del raw
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        self.inv_freq = inv_freq  # angles are formed in float64 then cast (HF forms them in float32)

    # --- building blocks (Hugging Face semantics) ---

    def rms_norm(self, x, weight):
        # HF computes the statistics in float32 at least; our dtype is float32 or float64.
        var = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(var + self.cfg.eps))

    def rope_tables(self, start, length):
        pos = torch.arange(start, start + length, dtype=torch.float64)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos().to(self.dtype), emb.sin().to(self.dtype)

    @staticmethod
    def apply_rope(x, cos, sin):
        # Rotate-half convention: pairs (i, i + D/2).
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    def attention_mask(self, start, length):
        """Additive mask (length, start + length): causal, plus the sliding window where the config has one."""
        q_pos = torch.arange(start, start + length).unsqueeze(1)
        k_pos = torch.arange(0, start + length).unsqueeze(0)
        allowed = k_pos <= q_pos
        if self.cfg.sliding_window:
            allowed &= (q_pos - k_pos) < self.cfg.sliding_window
        mask = torch.zeros(allowed.shape, dtype=self.dtype)
        mask.masked_fill_(~allowed, float("-inf"))
        return mask

    def forward(self, x, start, cache, checkpoint=False):
        """x: (len, hidden) input embeddings at positions start..start+len-1. cache: per layer [K, V] of earlier
        positions (each (Hkv, past, D)), extended in place. Returns the final normed hidden states (len, hidden).
        checkpoint: recompute each layer in the backward pass from its input instead of keeping its activations
        (torch.utils.checkpoint; for inputs whose activations do not fit in memory)."""
        L = x.shape[0]
        cos, sin = self.rope_tables(start, L)
        mask = self.attention_mask(start, L)
        for li, layer in enumerate(self.layers):
            past = cache[li] if li < len(cache) else None
            if checkpoint:
                # The keys/values of the tail are not needed after this pass: only the hidden states flow on.
                x = torch.utils.checkpoint.checkpoint(lambda h, lyr=layer, p=past: self.layer_forward(lyr, h, cos, sin, mask, p)[0],
                                                      x, use_reentrant=False)
                continue
            x, k, v = self.layer_forward(layer, x, cos, sin, mask, past)
            if past is not None:
                cache[li] = [k, v]
            else:
                cache.append([k, v])
        return self.rms_norm(x, self.norm)

    def layer_forward(self, layer, x, cos, sin, mask, past):
        """One decoder layer; past: [K, V] of earlier positions or None. Returns (x, K, V) with K, V extended."""
        cfg = self.cfg
        L, D, Hq, Hkv = x.shape[0], cfg.head_dim, cfg.heads, cfg.kv_heads
        group = Hq // Hkv
        scale = 1.0 / math.sqrt(D)
        h = self.rms_norm(x, layer["ln1"])
        qkv = h @ layer["wqkv"]
        if "bqkv" in layer:
            qkv = qkv + layer["bqkv"]
        q, k, v = qkv.split([Hq * D, Hkv * D, Hkv * D], dim=-1)
        q = q.view(L, Hq, D).transpose(0, 1)  # (Hq, L, D)
        k = k.view(L, Hkv, D).transpose(0, 1)
        v = v.view(L, Hkv, D).transpose(0, 1)
        if cfg.qk_norm:
            q = self.rms_norm(q, layer["q_norm"])
            k = self.rms_norm(k, layer["k_norm"])
        q = self.apply_rope(q, cos, sin)
        k = self.apply_rope(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], dim=1)
            v = torch.cat([past[1], v], dim=1)
        # GQA: query head h uses KV head h // group; grouping the queries avoids materialising repeated K/V.
        qg = q.reshape(Hkv, group * L, D)
        scores = (qg @ k.transpose(1, 2)) * scale  # (Hkv, group*L, T)
        scores = scores.view(Hkv, group, L, -1) + mask
        probs = torch.softmax(scores, dim=-1).view(Hkv, group * L, -1)
        attn = (probs @ v).view(Hq, L, D).transpose(0, 1).reshape(L, Hq * D)
        x = x + attn @ layer["wo"]
        h = self.rms_norm(x, layer["ln2"])
        gate, up = (h @ layer["w_gate_up"]).chunk(2, dim=-1)
        x = x + (F.silu(gate) * up) @ layer["w_down"]
        return x, k, v

    def target_log_prob(self, hidden, ids):
        """sum_j log softmax(hidden[j] @ lm_head)[ids[j]]."""
        logits = hidden @ self.lm_head_t
        return torch.log_softmax(logits, dim=-1).gather(1, ids.unsqueeze(1)).sum()


# ---------------------------------------------------------------------------------------------------------------------
# Attribution
# ---------------------------------------------------------------------------------------------------------------------


def validate(req, where, vocab):
    for key in ("inputIds", "prefixLength", "targetStart", "spans"):
        if key not in req:
            raise InputError(f"{where}: missing field {key}")
    ids, p, t = req["inputIds"], req["prefixLength"], req["targetStart"]
    n = len(ids)
    if not all(isinstance(i, int) and 0 <= i < vocab for i in ids):
        raise InputError(f"{where}.inputIds: every id must be an integer in [0, {vocab})")
    if not (isinstance(p, int) and 0 <= p < n):
        raise InputError(f"{where}.prefixLength: {p} must be in [0, {n}) (the tail must not be empty)")
    if not (isinstance(t, int) and p < t < n):
        raise InputError(f"{where}.targetStart: {t} must be in ({p}, {n}): after prefixLength (the first target is "
                         "predicted from the tail) and before the end")
    for k, s in enumerate(req["spans"]):
        if not (p <= s.get("start", -1) < s.get("end", -1) <= n):
            raise InputError(f"{where}.spans[{k}] ({s.get('id')}): need prefixLength <= start < end <= {n}")


def attribute(model, req, checkpoint=False):
    ids_list, p, t = req["inputIds"], req["prefixLength"], req["targetStart"]
    ids = torch.tensor(ids_list, dtype=torch.long)
    cache = []
    if p > 0:
        with torch.no_grad():
            model.forward(model.embed[ids[:p]], 0, cache)  # fills the KV cache; its outputs are not needed
    tail_embed = model.embed[ids[p:]].clone().requires_grad_(True)
    hidden = model.forward(tail_embed, p, cache, checkpoint=checkpoint)
    # Tail row j predicts position p + j + 1, so target t is predicted by row t - 1 - p (>= 0 as t > p).
    log_prob = model.target_log_prob(hidden[t - 1 - p:-1], ids[t:])
    log_prob.backward()
    with torch.no_grad():
        g = tail_embed.grad
        l1 = g.abs().sum(-1).tolist()
        grad_input = (g * tail_embed).sum(-1).tolist()
    result = {
        "logProb": float(log_prob),
        "tokens": [{"l1": a, "gradInput": b} for a, b in zip(l1, grad_input)],
        "connections": {},
    }
    for s in req["spans"]:
        span_l1 = l1[s["start"] - p:s["end"] - p]
        span_gi = grad_input[s["start"] - p:s["end"] - p]
        result["connections"][s["id"]] = {
            "meanL1": sum(span_l1) / len(span_l1),
            "maxL1": max(span_l1),
            "meanGradInput": sum(span_gi) / len(span_gi),
            "maxGradInput": max(span_gi),
        }
    return result


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--request", required=True, help="request JSON file, or - for stdin")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (default: torch's choice)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timing", action="store_true", help="print load/run seconds as one JSON line on stderr")
    ap.add_argument("--checkpoint", action="store_true",
                    help="recompute each layer of the tail pass in the backward pass (torch.utils.checkpoint): what a "
                         "PyTorch user does when the plain pass's activations do not fit in memory")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(True)
    try:
        if args.request == "-":
            requests = json.load(sys.stdin)
        else:
            with open(args.request) as f:
                requests = json.load(f)
        t0 = time.perf_counter()
        model = Model(args.model, torch.float64 if args.dtype == "float64" else torch.float32)
        load_s = time.perf_counter() - t0
        single = isinstance(requests, dict)
        batch = [requests] if single else requests
        for k, r in enumerate(batch):
            validate(r, args.request if single else f"{args.request}[{k}]", model.cfg.vocab)
        runs = []
        for _ in range(max(1, args.repeat)):
            t1 = time.perf_counter()
            results = [attribute(model, r, args.checkpoint) for r in batch]
            runs.append(time.perf_counter() - t1)
    except (InputError, OSError, json.JSONDecodeError) as e:
        print(f"torch_attribute: {e}", file=sys.stderr)
        return 2
    json.dump(results[0] if single else results, sys.stdout)
    sys.stdout.write("\n")
    if args.timing:
        print(json.dumps({"loadSeconds": load_s, "runSeconds": runs, "threads": torch.get_num_threads()}),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
