"""Trace one simulated training step layer by layer: bytes kept, forward and backward peaks.

Used to derive and check the analytic activation terms (src/gpuwise/memory/data/layers.json):
    python scripts/trace_layers.py CONFIG.json --batch 2 --seq 64 [--precision amp-bf16] ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from gpuwise.models.build import spec_from_config
from gpuwise.probe import simulate as sim
from gpuwise.probe.live_bytes import LiveBytes
from gpuwise.workload import Workload

#: Attribute names of a decoder layer's attention and MLP modules, per family.
ATTENTION = ("self_attn", "attn", "attention")
MLP = ("mlp", "feed_forward")


def layers_of(model: Any) -> list[Any]:
    for name, mod in model.named_modules():
        if (
            isinstance(mod, torch.nn.ModuleList)
            and len(mod)
            and name.endswith(("layers", "h", "layer"))
        ):
            return list(mod)
    raise SystemExit("no layer list found")


def trace(config: dict[str, Any], w: Workload) -> dict[str, Any]:
    spec = spec_from_config(config, name="trace", source="trace", where="trace")
    counter = LiveBytes()
    marks: list[tuple[str, int, int, int]] = []  # (event, current, peak since last mark, grads)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}

    def mark(event: str) -> None:
        marks.append((event, counter.current, counter.peak, counter.totals["gradients"]))
        counter.peak = counter.current

    with FakeTensorMode(allow_non_fake_inputs=True):
        if w.task == "infer":
            model = sim._build(config, spec, dtype[w.stored_weight_dtype])
            model.eval()
            for p in model.parameters():
                counter.track(p, "weights")
            for i, layer in enumerate(layers_of(model)):
                layer.register_forward_pre_hook(lambda m, a, i=i: mark(f"f{i}<"))
                layer.register_forward_hook(lambda m, a, o, i=i: mark(f"f{i}>"))
                # the attention and the MLP: a layer's transient peaks in one of them
                for tag, names in (("a", ATTENTION), ("m", MLP)):
                    part = next((getattr(layer, n) for n in names if hasattr(layer, n)), None)
                    if part is not None:
                        part.register_forward_pre_hook(lambda m, a, i=i, t=tag: mark(f"{t}{i}<"))
                        part.register_forward_hook(lambda m, a, o, i=i, t=tag: mark(f"{t}{i}>"))
            with counter, torch.no_grad():
                mark("s1")
                ids = torch.randint(0, spec.vocab_size, (w.batch, w.seq))
                out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
                mark("fwd_end")
                del out
            return {"marks": marks, "tokens": w.batch * w.seq}
        model = sim._build(config, spec, dtype[w.param_dtype])
        model, opt = sim._prepare_training(model, spec, w)
        for p in model.parameters():
            counter.track(p, "weights")
        for b in model.buffers():
            counter.track(b, "weights")
        for i, layer in enumerate(layers_of(model)):
            layer.register_forward_pre_hook(lambda m, a, i=i: mark(f"f{i}<"))
            layer.register_forward_hook(lambda m, a, o, i=i: mark(f"f{i}>"))
            layer.register_full_backward_pre_hook(lambda m, g, i=i: mark(f"b{i}<"))
            layer.register_full_backward_hook(lambda m, gi, go, i=i: mark(f"b{i}>"))
        head = model.get_output_embeddings()
        head.register_full_backward_pre_hook(lambda m, g: mark("h<"))
        head.register_full_backward_hook(lambda m, gi, go: mark("h>"))
        trainable = [p for p in model.parameters() if p.requires_grad]
        for p in trainable:
            p.register_post_accumulate_grad_hook(lambda q: counter.retag(q.grad, "gradients"))
        with counter, sim.cuda_like_autocast(w):
            for step in range(2):
                mark(f"s{step}")
                ids = torch.randint(0, spec.vocab_size, (w.batch, w.seq))
                with sim._autocast(w, dtype[w.compute_dtype]):
                    loss = model(input_ids=ids, labels=ids).loss
                del ids
                mark("fwd_end")
                loss.backward()
                del loss
                mark("bwd_end")
                opt.step()
                mark("opt_end")
                opt.zero_grad(set_to_none=True)
                mark("zero")
    return {"marks": marks, "tokens": w.batch * w.seq}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--method", default="full")
    ap.add_argument("--grad-checkpointing", action="store_true")
    ap.add_argument("--lora-rank", type=int, default=16)
    a = ap.parse_args()
    config = json.loads(Path(a.config).read_text())
    w = Workload(
        batch=a.batch,
        seq=a.seq,
        precision=a.precision,
        method=a.method,
        grad_checkpointing=a.grad_checkpointing,
        lora_rank=a.lora_rank,
    )
    out = trace(config, w)
    prev = None
    for event, cur, peak, _ in out["marks"]:
        d = "" if prev is None else f"{cur - prev:+12d}"
        print(f"{event:8s} cur {cur:12d} {d}  peak-above-prev {peak - (prev or 0):+12d}")
        prev = cur
