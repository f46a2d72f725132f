"""Derive the analytic model's per-token activation terms from exact simulations.

For each model type and each mode (16-bit / amp / fp32 x full / lora x checkpointing or not),
small configs with independently varied dimensions are traced one step at a time
(scripts/trace_layers.py): the bytes each decoder layer keeps for backward, its transient peaks
in forward and backward, and the same for the parts before and after the layers (embeddings,
final norm, LM head, loss). Each quantity is an exact linear form in the basis below (bytes of
tensors whose shapes are products of these dimensions); least squares finds its coefficients and
the script reports the largest residual, which must be ~0 for the form to be exact.

    python scripts/derive_layer_terms.py [--types llama,gpt2] [--jobs 2]
writes src/gpuwise/memory/data/layer_terms/ (index.json, one <model type>.json per type).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / "src/gpuwise/memory/data/layer_terms"

#: Basis terms: name -> what it multiplies (T = batch * seq tokens).
BASIS = (
    "T*h",
    "T*q",
    "T*kv",
    "T*nh",
    "T*I",
    "T",
    "T*r",
    "T*V",
    "T*hd",
    "b*nh*s*s",
    "s*s",
    "s",
    "1",
    "s*hd",
    "b*V",
    "Wl",
    "Wh",
    "b*s*s",
    "Wa",
    "s*h",
    "h",
    "Wt",
)

PRESET = {
    "llama": "llama-3.2-1b",
    "mistral": "mistral-7b-v0.3",
    "qwen2": "qwen2.5-0.5b",
    "qwen3": "qwen3-8b",
    "gemma": "gemma-7b",
    "gemma2": "gemma-2-9b",
    "gemma3_text": "gemma-3-1b",
    "phi3": "phi-3-mini",
    "glm4": "glm-4-9b",
    "gpt2": "gpt2",
    "gpt_neox": "pythia-1.4b",
    "bert": "bert-base-uncased",
}
MODES = [
    (prec, method, ckpt)
    for prec in ("bf16", "amp-bf16", "fp32")
    for method in ("full", "lora")
    for ckpt in (False, True)
] + [("infer-bf16", "full", False), ("infer-fp32", "full", False)]


def mode_key(prec: str, method: str, ckpt: bool) -> str:
    if prec.startswith("infer"):
        return "infer/" + {"infer-bf16": "16", "infer-fp32": "32"}[prec]
    p = {"bf16": "16", "fp16": "16", "amp-bf16": "amp", "amp-fp16": "amp", "fp32": "32"}[prec]
    return f"{p}/{method}/{'ckpt' if ckpt else 'nockpt'}"


def small_config(model_type: str, rng: random.Random) -> tuple[dict[str, Any], dict[str, int]]:
    model_type, _, variant = model_type.partition("+")
    base = json.loads((ROOT / f"src/gpuwise/models/presets/{PRESET[model_type]}.json").read_text())
    cfg = {k: v for k, v in base.items() if k not in ("layer_types", "torch_dtype", "dtype")}
    nkv = rng.choice([1, 2, 4])
    nh = nkv * rng.choice([1, 2, 3])
    hd = rng.choice([8, 16, 24, 32])
    if variant == "sliding":  # degenerate tiny shapes take other mask paths: keep them real-like
        nkv, nh, hd = rng.choice([2, 4]), 0, rng.choice([16, 24, 32])
        nh = nkv * rng.choice([1, 2, 3])
    h = nh * rng.choice([8, 12, 16, 20, 28])
    if model_type in ("gpt2", "gpt_neox", "bert", "phi3", "qwen2"):
        nkv = nh if model_type in ("gpt2", "gpt_neox", "bert") else nkv
        h = nh * hd
    # realistic proportions (the MLP wider than the residual stream, the vocabulary much wider),
    # so that each transient peak happens at the same moment as in real models
    inter = int(h * rng.uniform(2.5, 4.0))
    vocab = int(h * rng.uniform(20, 60))
    if model_type == "gpt2":
        cfg.update(
            n_embd=h,
            n_inner=inter,
            n_head=nh,
            n_layer=3,
            vocab_size=vocab,
            n_positions=4096,
            n_ctx=4096,
        )
    else:
        cfg.update(
            hidden_size=h,
            intermediate_size=inter,
            num_attention_heads=nh,
            num_hidden_layers=3,
            vocab_size=vocab,
            max_position_embeddings=4096,
        )
        if model_type not in ("gpt_neox", "bert"):
            cfg["num_key_value_heads"] = nkv
        if model_type not in ("gpt_neox", "bert", "phi3", "qwen2"):
            cfg["head_dim"] = hd
        if model_type in ("gemma2", "gemma3_text"):
            cfg["query_pre_attn_scalar"] = hd
            cfg["sliding_window"] = 4096
            cfg["layer_types"] = ["full_attention"] * 3
        if model_type in ("mistral", "phi3", "qwen2", "qwen3"):
            cfg["sliding_window"] = None
        if variant == "sliding":  # every layer slides, over a window shorter than any seq
            cfg["sliding_window"] = 8
            if model_type in ("gemma2", "gemma3_text"):
                cfg["layer_types"] = ["sliding_attention"] * 3
            if model_type == "qwen2":
                cfg.update(use_sliding_window=True, max_window_layers=0)
    # tied or untied output layer, both drawn: a tied one's gradient is summed from two parts
    if model_type != "bert":
        cfg["tie_word_embeddings"] = rng.random() < 0.5
    for k in ("pad_token_id", "bos_token_id", "eos_token_id"):
        if isinstance(cfg.get(k), int) and cfg[k] >= vocab:
            cfg[k] = 0
    from gpuwise.models.build import spec_from_config

    spec = spec_from_config(cfg, name="derive", source="derive", where="derive")
    wl = sum(b.weight_numel for b in spec.train_blocks if b.linear and "*" in b.name)
    in_out = sum(b.shape[-2] + b.shape[-1] for b in spec.train_blocks if b.linear and "*" in b.name)
    dims = {
        "h": h,
        "q": nh * hd,
        "kv": nkv * hd,
        "nh": nh,
        "I": inter,
        "V": vocab,
        "hd": hd,
        "Wl": wl,
        "Wh": vocab * h,
        "Wt": vocab * h if spec.tie_word_embeddings else 0,
        "adapter_in_out": in_out,
    }
    return cfg, dims


def one_trace(job: tuple[str, tuple[str, str, bool], int]) -> dict[str, Any]:
    from trace_layers import trace

    from gpuwise.workload import Workload

    model_type, (prec, method, ckpt), seed = job
    rng = random.Random(seed)
    cfg, dims = small_config(model_type, rng)
    # sequences long enough that terms in seq^2 (masks, eager attention) are well determined
    b, s, r = rng.choice([1, 2, 3]), rng.choice([16, 40, 96, 200, 320]), rng.choice([2, 4, 8])
    if model_type.endswith("+sliding"):
        s = rng.choice([40, 96, 200, 320])  # well past the window of 8
    if prec.startswith("infer"):
        w = Workload(task="infer", batch=b, seq=s, precision=prec.split("-")[1])
    else:
        w = Workload(
            batch=b, seq=s, precision=prec, method=method, grad_checkpointing=ckpt, lora_rank=r
        )
    try:
        out = trace(cfg, w)
    except Exception as e:  # report, do not kill the pool
        return {"error": f"{model_type} {cfg}: {type(e).__name__}: {str(e)[:300]}"}
    # LoRA adapters of one layer (all-linear): autocast keeps 16-bit copies of them under amp
    wa = r * dims.pop("adapter_in_out") if method == "lora" else 0
    return {"dims": {**dims, "b": b, "s": s, "r": r, "Wa": wa}, **out}


def basis_row(d: dict[str, int]) -> list[float]:
    T = d["b"] * d["s"]
    return [
        T * d["h"],
        T * d["q"],
        T * d["kv"],
        T * d["nh"],
        T * d["I"],
        T,
        T * d["r"],
        T * d["V"],
        T * d["hd"],
        d["b"] * d["nh"] * d["s"] ** 2,
        d["s"] ** 2,
        d["s"],
        1,
        d["s"] * d["hd"],
        d["b"] * d["V"],
        d["Wl"],
        d["Wh"],
        d["b"] * d["s"] ** 2,
        d.get("Wa", 0),
        d["s"] * d["h"],
        d["h"],
        d["Wt"],
    ]


def windows(marks: list[tuple[str, int, int, int]]) -> dict[str, float]:
    """Quantities of the second step (or the one prefill), from the marks of trace() on a
    3-layer model. A layer's increment is taken between the starts of layers 1 and 2: by then
    layer 1's input is freed (when nothing saved it); layer 0's input, the embeddings, stays
    referenced through the forward, so its share goes to ``pre``. Peaks are above the live
    bytes at the start of their window."""
    first = [m[0] for m in marks].index("s1")
    second = marks[first:]
    at = {e: (cur, peak, g) for e, cur, peak, g in second}

    def cur(e: str) -> int:
        return at[e][0]

    def peak(e: str) -> int:
        return at[e][1]

    layer = cur("f2<") - cur("f1<")
    pre = cur("f1<") - cur("s1") - layer
    out = {
        "pre": pre,
        "pre_peak": peak("f0<") - cur("s1"),
        "layer": layer,
        "layer_fwd_peak": peak("f1>") - cur("f1<"),
        "head": cur("fwd_end") - cur("f2<") - layer,
        "head_fwd_peak": peak("fwd_end") - cur("f2<") - layer,
    }
    if "a1<" in at and "m1>" in at:
        # inference: the layer's transient peak is in one of its parts; each part's peak is one
        # linear form (the whole layer's is their maximum, which is not)
        for k, end in enumerate(("a1<", "a1>", "m1<", "m1>", "f1>")):
            out[f"layer_fwd_peak_{k}"] = peak(end) - cur("f1<")
    if "b2<" in at:
        # backward starts with the loss (fp32 gradients of the logits), then the LM head (its
        # input and weight gradients), then the final norm: three moments, each a linear form;
        # the analytic model takes their maximum. Peaks above the live bytes at the forward's end.
        h_start = "h<" if "h<" in at else "b2<"
        out.update(
            loss_bwd_peak=peak(h_start) - cur("fwd_end"),
            lmhead_bwd_peak=(peak("h>") - cur("fwd_end")) if "h>" in at else 0,
            head_bwd_peak=peak("b2<") - cur("fwd_end"),
            head_bwd_delta=cur("b2<") - cur("fwd_end"),
            # a layer's backward (with checkpointing: its recompute too), above its start, and
            # what it leaves (its gradients made, its kept activations freed)
            layer_bwd_peak=peak("b1>") - cur("b1<"),
            layer_bwd_delta=cur("b1>") - cur("b1<"),
            # the end of backward and the optimizer step, above weights + states + gradients
            end_extra=peak("bwd_end") - cur("s1") - at["bwd_end"][2],
            opt_extra=peak("opt_end") - cur("bwd_end"),
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--types", default=",".join(PRESET))
    ap.add_argument("--samples", type=int, default=2 * len(BASIS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--modes", default="", help="only these mode keys, e.g. 16/full/nockpt")
    a = ap.parse_args()
    out = Path(a.out)
    result = read_terms(out) if (out / "index.json").exists() else {"basis": BASIS, "terms": {}}
    modes = [m for m in MODES if not a.modes or mode_key(*m) in a.modes.split(",")]
    pool = ProcessPoolExecutor(a.jobs, mp_context=multiprocessing.get_context("spawn"))
    for t in a.types.split(","):
        jobs = [(t, m, 1000 + i) for m in modes for i in range(a.samples)]
        traces = list(pool.map(one_trace, jobs, chunksize=4))
        fit(jobs, traces, result)
        write_terms(result, out)
    pool.shutdown()


def read_terms(folder: Path) -> dict:
    """The table the folder holds: basis, provenance and every type's terms."""
    index = json.loads((folder / "index.json").read_text())
    terms = {t: json.loads((folder / f"{t}.json").read_text()) for t in index["types"]}
    return {"basis": index["basis"], "provenance": index.get("provenance"), "terms": terms}


def write_terms(result: dict, folder: Path) -> None:
    """One compact file per type (a plan parses only its own) and the index."""
    folder.mkdir(parents=True, exist_ok=True)
    for t, modes in result["terms"].items():
        (folder / f"{t}.json").write_text(json.dumps(modes, separators=(",", ":")) + "\n")
    index_file = folder / "index.json"
    index = json.loads(index_file.read_text()) if index_file.exists() else {}
    index.update(basis=result["basis"], types=sorted(result["terms"]))
    if result.get("provenance"):
        index["provenance"] = result["provenance"]
    index_file.write_text(json.dumps(index, indent=1) + "\n")


#: Terms in seq^2: only eager attention (its probability matrices) and sliding-window masks (a
#: float bias per layer, the mask itself) have them; elsewhere a fitted seq^2 coefficient is an
#: artefact of a transient peak that is not one linear form, and explodes at long contexts.
QUADRATIC = {"b*nh*s*s", "s*s", "b*s*s"}
EAGER = {"gemma2"}
#: What a decoder layer's tensors cannot depend on: the vocabulary, the LM head, the embeddings.
NOT_IN_LAYERS = {"T*V", "b*V", "Wh", "Wt", "s*hd", "s*h", "s"}


def basis_for(model_type: str, window: str) -> list[int]:
    """Indices of the basis terms a window's form may use."""
    base, _, variant = model_type.partition("+")
    allowed = []
    for i, term in enumerate(BASIS):
        if term in QUADRATIC and base not in EAGER and variant != "sliding":
            continue
        if window.startswith("layer") and term in NOT_IN_LAYERS:
            continue
        allowed.append(i)
    return allowed


def fit(jobs: list[Any], traces: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """Least-squares coefficients of every quantity, per model type and mode, into ``result``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (t, m, _), tr in zip(jobs, traces, strict=False):
        if "error" in tr:
            print("skipped:", tr["error"], flush=True)
            continue
        groups.setdefault((t, mode_key(*m)), []).append(tr)
    for (t, key), trs in sorted(groups.items()):
        if len(trs) <= len(BASIS):
            raise SystemExit(f"{t} {key}: {len(trs)} traces cannot determine {len(BASIS)} terms")
        X = np.array([basis_row(tr["dims"]) for tr in trs])
        quantities = [windows(tr["marks"]) for tr in trs]
        entry = {}
        worst = 0.0
        for q in quantities[0]:
            y = np.array([qq[q] for qq in quantities], dtype=float)
            cols = basis_for(t, q)
            coef, *_ = np.linalg.lstsq(X[:, cols], y, rcond=None)
            fitted = X[:, cols] @ coef
            err = float(np.max(np.abs(fitted - y) / np.maximum(np.abs(y), 1)))
            worst = max(worst, err)
            entry[q] = {
                BASIS[i]: round(float(c), 4)
                for i, c in zip(cols, coef, strict=True)
                if abs(c) > 1e-6
            }
            entry[q + "_max_rel_residual"] = round(err, 6)
        result["terms"].setdefault(t, {})[key] = entry
        print(f"{t:12s} {key:20s} worst residual {worst:.2e}", flush=True)


if __name__ == "__main__":
    main()
