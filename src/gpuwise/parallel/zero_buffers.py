"""The buffers DeepSpeed ZeRO allocates on each card, sized from the model.

The rules (``data/zero_buffers.json``, with their sources) are what transformers' DeepSpeed
integration makes of ``"auto"``; the launch files write the same numbers into ds_config.json, so
the per-rank memory model and the run count the same buffers.
"""

from __future__ import annotations

from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.parallel import Parallel

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass


def deepspeed_buffers(spec: ModelSpec, p: Parallel) -> dict[str, int]:
    """The buffer sizes (elements) of this model under ``p``'s ZeRO stage.

    ZeRO-1/2: ``reduce_bucket_size`` and ``allgather_bucket_size``; ZeRO-3:
    ``reduce_bucket_size``, ``stage3_prefetch_bucket_size``,
    ``stage3_param_persistence_threshold``, ``stage3_max_live_parameters``,
    ``stage3_max_reuse_distance`` and ``sub_group_size``. Empty for non-DeepSpeed strategies.
    """
    stage = p.zero_stage
    if stage is None:
        return {}
    d = packaged_json("gpuwise.parallel", "data/zero_buffers.json")
    h = spec.hidden_size
    out: dict[str, int] = {}
    for key, rule in d["rules"].items():
        if stage not in rule.get("stages", (1, 2, 3)):
            continue
        if "hidden_size_squared" in rule:
            out[key] = int(rule["hidden_size_squared"] * h * h)
        else:
            out[key] = int(rule["hidden_size"] * h)
    if stage == 3:
        out.update({k: int(v) for k, v in d["fixed"].items()})
    return out
