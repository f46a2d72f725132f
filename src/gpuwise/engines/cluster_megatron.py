"""megatron.sh: Megatron-LM's ``pretrain_gpt.py`` (core_v0.16.1) for a TP / PP / CP layout.

The arguments of the layout (``--tensor-model-parallel-size``, ``--pipeline-model-parallel-size``,
``--context-parallel-size``, ``--sequence-parallel``, ``--num-layers-per-virtual-pipeline-stage``,
``--micro-batch-size``, ``--global-batch-size``, ``--seq-length``), of the model's shapes
(layers, hidden size, FFN width, heads, key-value groups, head size, vocabulary: the family's
switches in ``data/megatron_models.json``), of the precision (``--bf16`` / ``--fp16``: Megatron
keeps fp32 main weights in its optimizer) and of checkpointing (``--recompute-granularity full
--recompute-method uniform --recompute-num-layers 1``). The data-parallel group: ddp replicates,
zero1 is Megatron's distributed optimizer (``--use-distributed-optimizer``, optimizer states
sharded); Megatron-FSDP (the other shardings) needs ``CUDA_DEVICE_MAX_CONNECTIONS`` above 1,
which tensor and context parallelism forbid before Blackwell (``validate_args``), so those get
no megatron.sh. The batches are Megatron's synthetic ``--mock-data`` until the user names data.
"""

from __future__ import annotations

from typing import Any

from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster.layout import Layout

#: The shell variable megatron.sh names the Megatron-LM checkout by.
CHECKOUT_VAR = "MEGATRON_LM"
PRECISION = {"bf16": "--bf16", "amp-bf16": "--bf16", "fp16": "--fp16", "amp-fp16": "--fp16"}


def megatron_data() -> dict[str, Any]:
    return dict(packaged_json("gpuwise.engines", "data/megatron_models.json"))


def megatron_fits(spec: ModelSpec, w: Workload, layout: Layout) -> bool:
    """Whether megatron.sh is written: full training of a listed model family, sharding ddp or
    zero1, the layout splitting the model (tp, pp or cp > 1)."""
    return (
        w.method == "full"
        and spec.model_type in megatron_data()["model_types"]
        and layout.sharding in ("ddp", "zero1")
        and (layout.tp > 1 or layout.pp > 1 or layout.cp > 1)
    )


def megatron_args(spec: ModelSpec, w: Workload, layout: Layout) -> list[list[str]]:
    """pretrain_gpt.py's arguments, grouped a flag with its value."""
    data = megatron_data()
    args = [
        ["--tensor-model-parallel-size", str(layout.tp)],
        ["--pipeline-model-parallel-size", str(layout.pp)],
        ["--context-parallel-size", str(layout.cp)],
    ]
    if layout.sequence_parallel:
        args.append(["--sequence-parallel"])
    if layout.schedule == "interleaved":
        per_stage = spec.num_layers // (layout.pp * layout.virtual_stages)
        args.append(["--num-layers-per-virtual-pipeline-stage", str(per_stage)])
    if layout.sharding == "zero1":
        args.append(["--use-distributed-optimizer"])
    args += [
        ["--micro-batch-size", str(w.batch)],
        ["--global-batch-size", str(w.batch * layout.micro_batches * layout.dp)],
        ["--seq-length", str(w.seq)],
        ["--max-position-embeddings", str(max(w.seq, spec.max_position_embeddings or 0))],
        ["--num-layers", str(spec.num_layers)],
        ["--hidden-size", str(spec.hidden_size)],
        ["--ffn-hidden-size", str(spec.intermediate_size)],
        ["--num-attention-heads", str(spec.num_attention_heads)],
        ["--num-query-groups", str(spec.num_kv_heads)],
        ["--kv-channels", str(spec.head_dim)],
    ]
    common = [str(x) for x in data["common"]] + [
        str(x) for x in data["model_types"][spec.model_type]
    ]
    i = 0
    while i < len(common):  # each flag with its value, when it has one
        if i + 1 < len(common) and not common[i + 1].startswith("-"):
            args.append([common[i], common[i + 1]])
            i += 2
        else:
            args.append([common[i]])
            i += 1
    if not spec.tie_word_embeddings:
        args.append(["--untie-embeddings-and-output-weights"])
    if w.precision in PRECISION:
        args.append([PRECISION[w.precision]])
    if w.grad_checkpointing:
        args.append(["--recompute-granularity", "full"])
        args.append(["--recompute-method", "uniform"])
        args.append(["--recompute-num-layers", "1"])
    args += [["--tokenizer-type", "HuggingFaceTokenizer"], ["--mock-data"],
             ["--train-iters", "1000"], ["--lr", "1.0e-5"]]  # fmt: skip
    return args
