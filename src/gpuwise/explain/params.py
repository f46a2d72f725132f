"""Step 1: the parameters, tensor by tensor from the model's shapes, as transformers builds it
(the exact blocks of :class:`~gpuwise.models.spec.ModelSpec`), and for LoRA the adapters."""

from __future__ import annotations

from gpuwise.explain.step import Line, Step, line, n
from gpuwise.i18n import Message
from gpuwise.memory.train import trainable_tensors
from gpuwise.models.lora import lora_linears
from gpuwise.models.spec import ModelSpec, ParamBlock
from gpuwise.timing.estimate import trainable_params
from gpuwise.workload import Workload


def _shape(dims: tuple[int, ...]) -> str:
    return " × ".join(f"{d:,}" for d in dims)


def block_formula(b: ParamBlock) -> Message:
    """How one tensor's parameters are counted: its shape, its bias, how many layers have it."""
    if b.experts and not b.bias and b.count > 1:
        return Message(
            "explain.params.f.experts",
            experts=n(b.experts),
            shape=_shape(b.shape[1:]),
            count=n(b.count),
        )
    shape = _shape(b.shape)
    if b.count == 1:
        if b.bias:
            return Message("explain.params.f.one_bias", shape=shape, bias=n(b.bias))
        return Message("explain.params.f.one", shape=shape)
    if b.bias:
        return Message(
            "explain.params.f.layers_bias", shape=shape, bias=n(b.bias), count=n(b.count)
        )
    return Message("explain.params.f.layers", shape=shape, count=n(b.count))


def blocks_of(spec: ModelSpec, w: Workload) -> tuple[ParamBlock, ...]:
    """The tensors a plan of ``w`` holds: the model a plan trains (with an encoder's masked-LM
    head), or the model ``generate()`` runs."""
    return spec.train_blocks if w.task == "train" else spec.blocks


def parameter_step(spec: ModelSpec, w: Workload) -> Step:
    blocks = blocks_of(spec, w)
    lines = [
        line(
            b.name,
            "explain.params.block",
            b.numel,
            "params",
            block_formula(b),
            part=Message(f"model.part.{b.part}"),
            name=b.name,
        )
        for b in blocks
    ]
    total = spec.trained_params if w.task == "train" else spec.params
    lines.append(
        line("total", "explain.params.total", total, "params", Message("explain.params.f.sum"))
    )
    if spec.kind == "encoder" and total != spec.params:
        lines.append(line("model_alone", "explain.params.model_alone", spec.params, "params"))
    if spec.is_moe:
        lines.append(
            line(
                "active",
                "explain.params.active",
                spec.active_params,
                "params",
                Message(
                    "explain.params.f.active",
                    k=n(spec.num_experts_per_tok),
                    experts=n(spec.num_experts),
                ),
            )
        )
    if w.task == "train" and w.is_lora:
        lines += _adapters(spec, w)
    return Step(
        "parameters",
        Message("explain.params.title"),
        Message("explain.params.idea"),
        tuple(lines),
        _notes(spec, w),
    )


def _adapters(spec: ModelSpec, w: Workload) -> list[Line]:
    """One line per adapted linear (its A and B matrices, as the plan counts them), and the
    trainable total."""
    tensors = trainable_tensors(spec, w)
    out = []
    linears = lora_linears(spec, w.lora_targets)
    for b, a_mat, b_mat in zip(linears, tensors[::2], tensors[1::2], strict=True):
        out.append(
            line(
                f"lora.{b.name}",
                "explain.params.lora_block",
                a_mat.numel * a_mat.count + b_mat.numel * b_mat.count,
                "params",
                Message(
                    "explain.params.f.lora",
                    rank=n(w.lora_rank),
                    inp=n(b.in_features),
                    out=n(b.out_features),
                    count=n(b.count),
                ),
                name=b.name,
            )
        )
    out.append(
        line(
            "trainable",
            "explain.params.trainable",
            trainable_params(spec, w),
            "params",
            Message("explain.params.f.lora_sum", rank=n(w.lora_rank)),
        )
    )
    return out


def _notes(spec: ModelSpec, w: Workload) -> tuple[Message, ...]:
    notes = []
    heads, kv, hd = spec.num_attention_heads, spec.num_kv_heads, spec.head_dim
    if spec.attention == "mla":
        notes.append(Message("explain.params.note.mla", rank=n(spec.kv_lora_rank or 0)))
    elif kv < heads:
        notes.append(
            Message(
                "explain.params.note.gqa",
                heads=n(heads),
                kv_heads=n(kv),
                head_dim=n(hd),
                kv_width=n(kv * hd),
                q_width=n(heads * hd),
            )
        )
    else:
        notes.append(Message("explain.params.note.mha", heads=n(heads), head_dim=n(hd)))
    key = "explain.params.note.gated" if spec.mlp == "gated" else "explain.params.note.plain"
    notes.append(Message(key, hidden=n(spec.hidden_size), inter=n(spec.intermediate_size)))
    blocks = blocks_of(spec, w)
    if any(b.part == "lm_head" for b in blocks):
        notes.append(
            Message(
                "explain.params.note.untied", vocab=n(spec.vocab_size), hidden=n(spec.hidden_size)
            )
        )
    elif spec.kind == "decoder":
        notes.append(
            Message(
                "explain.params.note.tied", vocab=n(spec.vocab_size), hidden=n(spec.hidden_size)
            )
        )
    else:
        notes.append(
            Message(
                "explain.params.note.encoder", trained=n(spec.trained_params), params=n(spec.params)
            )
        )
    if spec.is_moe:
        notes.append(
            Message(
                "explain.params.note.moe",
                experts=n(spec.num_experts),
                k=n(spec.num_experts_per_tok),
                layers=n(spec.moe_layers),
            )
        )
    return tuple(notes)
