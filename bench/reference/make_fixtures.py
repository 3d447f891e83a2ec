#!/usr/bin/env python3
"""Regenerates the golden attribution fixtures in test/fixtures/attribution/ from the float64 PyTorch reference.

Each fixture names a tiny random model by its writeRandomModel spec (seed included), so the unit test
(test/unit/backend/runtime/golden.test.ts) rebuilds the identical model instead of committing weights. The models
are written by the product's own generator (bench/fixtures/makeModels.ts) into a temp folder.

Run from the repository root:  /usr/bin/python3 bench/reference/make_fixtures.py
"""
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402  (torch_attribute re-executes without the OpenBLAS variables if needed)
import torch_attribute as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO, "test", "fixtures", "attribution")

COMMON = {"hiddenSize": 64, "numLayers": 2, "numHeads": 4, "intermediateSize": 96, "vocabSize": 320}
FIXTURES = [
    {"name": "llama_tied", "spec": {"arch": "llama", **COMMON, "numKvHeads": 2, "tie": True, "seed": 101}},
    {"name": "llama_untied", "spec": {"arch": "llama", **COMMON, "numKvHeads": 2, "tie": False, "seed": 102}},
    {"name": "qwen2", "spec": {"arch": "qwen2", **COMMON, "numKvHeads": 2, "seed": 103}},
    # head_dim 32 with 4 heads: q_proj is 128 wide while hidden is 64.
    {"name": "qwen3", "spec": {"arch": "qwen3", **COMMON, "numKvHeads": 2, "headDim": 32, "seed": 104}},
    {"name": "mistral", "spec": {"arch": "mistral", **COMMON, "numKvHeads": 1, "seed": 105}},
]
SEQ_LEN = 24


MODEL_FILES = ["config.json", "model.safetensors"]


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def requests_for(seed, vocab):
    """Three requests on one random sequence: no prefix; prefix 8; prefix 8 with the first target right after it
    (targetStart = prefixLength + 1, the smallest allowed: targets overlap the spans)."""
    rng = random.Random(seed)
    ids = [rng.randrange(vocab) for _ in range(SEQ_LEN)]
    spans_all = [{"id": "a", "start": 0, "end": 4}, {"id": "b", "start": 4, "end": 12}, {"id": "c", "start": 12, "end": 16}]
    spans_tail = [{"id": "b", "start": 8, "end": 12}, {"id": "c", "start": 12, "end": 16}, {"id": "d", "start": 16, "end": 17}]
    return [
        ("no_prefix", {"inputIds": ids, "prefixLength": 0, "targetStart": 16, "spans": spans_all}),
        ("prefix_8", {"inputIds": ids, "prefixLength": 8, "targetStart": 16, "spans": spans_tail}),
        ("prefix_8_target_9", {"inputIds": ids, "prefixLength": 8, "targetStart": 9, "spans": spans_tail}),
    ]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="agentchord-fixtures-") as tmp:
        specs_file = os.path.join(tmp, "specs.json")
        with open(specs_file, "w") as f:
            json.dump(FIXTURES, f)
        subprocess.run(["node", "bench/lib/runTs.mjs", "bench/fixtures/makeModels.ts", specs_file, tmp],
                       cwd=REPO, check=True)
        for fx in FIXTURES:
            model = ref.Model(os.path.join(tmp, fx["name"]), torch.float64)
            cases = []
            for name, req in requests_for(fx["spec"]["seed"], fx["spec"]["vocabSize"]):
                ref.validate(req, f"{fx['name']}/{name}", model.cfg.vocab)
                cases.append({"name": name, "request": req, "expected": ref.attribute(model, req)})
            doc = {
                "generatedBy": "bench/reference/make_fixtures.py (float64 PyTorch reference)",
                "model": fx["spec"],
                # Lets the test tell "the generator changed, regenerate the fixtures" from "the engine is wrong".
                "modelSha256": {f: sha256_of(os.path.join(tmp, fx["name"], f)) for f in MODEL_FILES},
                "cases": cases,
            }
            path = os.path.join(OUT_DIR, fx["name"] + ".json")
            with open(path + ".tmp", "w") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
            os.replace(path + ".tmp", path)
            print(f"wrote {os.path.relpath(path, REPO)}")


if __name__ == "__main__":
    main()
