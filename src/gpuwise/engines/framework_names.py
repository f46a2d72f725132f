"""What the frameworks' configs call a plan's choices (``data/framework_emit.json``)."""

from __future__ import annotations

from gpuwise.packaged import packaged_json
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def names() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.engines", "data/framework_emit.json")
    return data


def hf_optim(w: Workload) -> str:
    """The ``optim`` of transformers' TrainingArguments for the plan's optimizer."""
    return str(names()["hf_optim"]["names"][w.optimizer])


def hf_targets(w: Workload) -> str | list[str]:
    """peft's ``target_modules``: ``all-linear`` or the module names."""
    return "all-linear" if w.lora_targets == ("all-linear",) else list(w.lora_targets)


def learning_rate(w: Workload) -> float:
    """A usual starting learning rate: 1e-4 for LoRA adapters, 1e-5 for every weight."""
    return 1.0e-4 if w.is_lora else 1.0e-5
