"""ds_config.json for the ZeRO strategies, with every buffer size an explicit number.

Keys as DeepSpeed 0.19.8 reads them (``runtime/zero/config.py``, ``runtime/zero/offload_config.py``,
``runtime/precision_config.py``, ``runtime/config.py``); switches and precision sections in
``data/deepspeed_defaults.json``; the buffer sizes come from
:func:`gpuwise.parallel.zero_buffers.deepspeed_buffers`, which the per-rank memory model counts.
"""

from __future__ import annotations

import copy
from typing import Any

from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.parallel import Parallel
from gpuwise.parallel.zero_buffers import deepspeed_buffers
from gpuwise.workload import Workload


def defaults() -> dict[str, Any]:
    return dict(packaged_json("gpuwise.engines", "data/deepspeed_defaults.json"))


def _offload(device: str) -> dict[str, object]:
    return {"device": device, "pin_memory": bool(defaults()["switches"]["pin_memory"])}


def deepspeed_config(spec: ModelSpec, w: Workload, p: Parallel) -> dict[str, object]:
    """The mapping ds_config.json holds."""
    stage = p.zero_stage
    if stage is None:
        raise ValueError(f"{p.strategy} is not a DeepSpeed strategy")
    switches = defaults()["switches"]
    zero: dict[str, object] = {
        "stage": stage,
        "overlap_comm": bool(switches["overlap_comm"]),
        "contiguous_gradients": bool(switches["contiguous_gradients"]),
        "reduce_scatter": bool(switches["reduce_scatter"]),
    }
    if p.offloads("optimizer"):
        zero["offload_optimizer"] = _offload("cpu")
    if p.offloads("weights"):
        zero["offload_param"] = _offload("cpu")
    zero.update(deepspeed_buffers(spec, p))
    if stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    cfg: dict[str, object] = {
        "train_batch_size": w.batch * p.gpus * p.grad_accum,
        "train_micro_batch_size_per_gpu": w.batch,
        "gradient_accumulation_steps": p.grad_accum,
        "gradient_clipping": float(switches["gradient_clipping"]),
        "zero_optimization": zero,
    }
    cfg.update(copy.deepcopy(defaults()["precision"][w.precision]["section"]))
    if w.precision == "fp16":
        cfg["fp16"] = {"enabled": True, "loss_scale": 0, "initial_scale_power": 16}
    cfg["steps_per_print"] = 100
    cfg["wall_clock_breakdown"] = False
    return cfg


def precision_meaning(w: Workload) -> str:
    """What the emitted precision section does, in a sentence."""
    return str(defaults()["precision"][w.precision]["meaning"])
