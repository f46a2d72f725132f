"""Which linear modules LoRA adapts, as peft chooses them.

peft's ``target_modules="all-linear"`` adapts every ``nn.Linear`` / ``Conv1D`` but the output
layer (``peft/tuners/tuners_utils.py``, ``_maybe_include_all_linear_layers``); a list of names
adapts the linears whose last name part is in it.
"""

from __future__ import annotations

import functools

from gpuwise.models.spec import ModelSpec, ParamBlock

#: Parts holding the output layer, which peft's ``all-linear`` never adapts.
OUTPUT_PARTS = ("lm_head",)

ALL_LINEAR = ("all-linear",)


def _is_output_layer(block: ParamBlock) -> bool:
    return block.part in OUTPUT_PARTS or block.name.endswith(".decoder")


@functools.lru_cache(maxsize=64)
def _target_names(spec: ModelSpec) -> tuple[str, ...]:
    names: list[str] = []
    for b in spec.train_blocks:
        if b.linear and not _is_output_layer(b):
            leaf = b.name.rsplit(".", 1)[-1]
            if leaf not in names:
                names.append(leaf)
    return tuple(names)


def lora_target_names(spec: ModelSpec) -> list[str]:
    """Module names (the last part, as peft matches them) of the linears LoRA can adapt: every
    ``nn.Linear`` / ``Conv1D`` but the output layer, as peft's ``all-linear`` chooses them."""
    return list(_target_names(spec))


def lora_linears(spec: ModelSpec, targets: tuple[str, ...]) -> list[ParamBlock]:
    """The parameter blocks LoRA adapts for ``--lora-targets`` (``("all-linear",)`` or names)."""
    chosen = set(lora_target_names(spec)) if targets == ALL_LINEAR else set(targets)
    return [
        b
        for b in spec.train_blocks
        if b.linear and not _is_output_layer(b) and b.name.rsplit(".", 1)[-1] in chosen
    ]
