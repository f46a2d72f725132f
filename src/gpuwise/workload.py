"""What the user wants to run: the Workload, its choices and the checks that reject bad ones.

The reference step each field refers to is defined in docs/reference-step.md.
``plan`` and ``probe`` share this module, so a workload means the same to both.
"""

from __future__ import annotations

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.lora import ALL_LINEAR, lora_target_names
from gpuwise.models.spec import ModelSpec
from gpuwise.record import record, replace

# The choices, as types for the type checker (typing is not imported at run time: see
# gpuwise/record.py) and as the tuples the checks below accept. A tuple holding a value its
# type does not is a type error.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Task = Literal["train", "infer"]
    Method = Literal["full", "lora", "qlora"]
    Precision = Literal["bf16", "fp16", "amp-bf16", "amp-fp16", "fp32"]
    Optimizer = Literal[
        "adamw", "adamw-fused", "adamw-8bit", "paged-adamw-8bit", "sgd", "adafactor"
    ]
    #: How the loss is computed: all logits at once in fp32 (the reference), in chunks of
    #: tokens recomputed in backward, or fused with its gradient as Liger-Kernel does.
    Loss = Literal["full", "chunked", "fused"]
    #: What the weights are stored in for inference.
    WeightDtype = Literal["bf16", "fp16", "fp32", "int8", "nf4", "fp8", "awq", "gptq"]
    #: What the KV cache is stored in.
    KvDtype = Literal["bf16", "fp16", "fp32", "fp8"]
    #: The dtype matrix products run in.
    ComputeDtype = Literal["bf16", "fp16", "fp32"]

TASKS: tuple[Task, ...] = ("train", "infer")
METHODS: tuple[Method, ...] = ("full", "lora", "qlora")
PRECISIONS: tuple[Precision, ...] = ("bf16", "fp16", "amp-bf16", "amp-fp16", "fp32")
OPTIMIZERS: tuple[Optimizer, ...] = (
    "adamw",
    "adamw-fused",
    "adamw-8bit",
    "paged-adamw-8bit",
    "sgd",
    "adafactor",
)
LOSSES: tuple[Loss, ...] = ("full", "chunked", "fused")
WEIGHT_DTYPES: tuple[WeightDtype, ...] = (
    "bf16",
    "fp16",
    "fp32",
    "int8",
    "nf4",
    "fp8",
    "awq",
    "gptq",
)
KV_DTYPES: tuple[KvDtype, ...] = ("bf16", "fp16", "fp32", "fp8")
#: Short names users type for --weight-dtype.
WEIGHT_DTYPE_ALIASES = {"int4": "nf4", "4bit": "nf4", "8bit": "int8", "float16": "fp16"}

#: Largest batch and sequence a plan accepts (far above any card's memory; keeps numbers sane).
MAX_BATCH = 1 << 20
MAX_SEQ = 1 << 24
MAX_LORA_RANK = 1 << 16


@record
class Workload:
    """One step the plan describes (docs/reference-step.md), with its defaults.

    ``precision_given=False``: the user named no precision, so each card is planned in its own
    (:func:`gpuwise.plan.precision.for_card`, rules in ``plan/data/precision.json``: bf16 with
    native bf16, amp-fp16 on Volta / Turing, fp32 without tensor cores); ``precision`` then
    holds bf16 until a card's replaces it, and the memory and time of a card are worked out
    only for the workload resolved for it."""

    task: Task = "train"
    method: Method = "full"
    precision: Precision = "bf16"
    batch: int = 1
    seq: int = 2048
    grad_checkpointing: bool = False
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("all-linear",)
    optimizer: Optimizer = "adamw"
    weight_dtype: WeightDtype | None = None  # infer: None = the precision's 16-bit dtype
    kv_dtype: KvDtype | None = None  # infer: None = same as the compute dtype
    allow_long_context: bool = False
    precision_given: bool = True  # False: each card's own (see above)
    # the memory tricks (gpuwise/memory/data/tricks.json says what each does, from its source)
    loss: Loss = "full"
    ckpt_offload: bool = False  # --grad-checkpointing offload: layer inputs go to host RAM
    upcast: bool = True  # False: --no-upcast, QLoRA keeps embeddings / head / norms 16-bit
    packing: bool = False  # --packing: examples concatenated, FlashAttention 2 varlen
    # torchtune's optimizer_in_bwd (its full recipe's default, set by --framework torchtune):
    # each parameter is stepped as its gradient is made, so no full set of gradients exists
    optimizer_in_bwd: bool = False
    # LLaMA-Factory's full fine-tune (set by --framework llamafactory): the trainable weights in
    # fp32 where the card's own precision would be pure 16-bit, i.e. amp (plan/precision.py)
    master_fp32: bool = False

    @property
    def tricks(self) -> tuple[str, ...]:
        """The tricks that are on, by name (``loss-chunked``, ``no-upcast``: the keys of
        gpuwise/memory/data/tricks.json)."""
        out = []
        if self.loss != "full":
            out.append(f"loss-{self.loss}")
        if self.ckpt_offload:
            out.append("ckpt-offload")
        if not self.upcast:
            out.append("no-upcast")
        if self.packing:
            out.append("packing")
        if self.optimizer == "paged-adamw-8bit":
            out.append("paged-adamw-8bit")
        if self.optimizer_in_bwd:
            out.append("optimizer-in-bwd")
        return tuple(out)

    @property
    def compute_dtype(self) -> ComputeDtype:
        """The dtype matrix products run in: bf16, fp16 or fp32."""
        if self.precision in ("bf16", "amp-bf16"):
            return "bf16"
        if self.precision in ("fp16", "amp-fp16"):
            return "fp16"
        return "fp32"

    @property
    def amp(self) -> bool:
        return self.precision.startswith("amp-")

    @property
    def param_dtype(self) -> ComputeDtype:
        """The dtype the model is built in (fp32 for amp-* and fp32; qlora keeps 16-bit)."""
        if self.amp or self.precision == "fp32":
            return "fp32"
        return self.compute_dtype

    @property
    def tokens(self) -> int:
        return self.batch * self.seq

    @property
    def is_lora(self) -> bool:
        return self.method in ("lora", "qlora")

    @property
    def stored_weight_dtype(self) -> WeightDtype:
        """The dtype of the stored weights for inference."""
        if self.weight_dtype is not None:
            return self.weight_dtype
        return self.compute_dtype

    @property
    def cache_dtype(self) -> KvDtype:
        return self.kv_dtype or self.compute_dtype

    def with_(self, **changes: object) -> Workload:
        return replace(self, **changes)


def _one_of(value: object, allowed: tuple[str, ...], flag: str) -> None:
    if value not in allowed:
        raise GpuwiseError(
            Message(
                "workload.unknown_choice", flag=flag, value=repr(value), allowed=", ".join(allowed)
            )
        )


def normalise_weight_dtype(value: str | None) -> WeightDtype | None:
    """``--weight-dtype`` as typed (any case, ``int4`` for nf4) -> the dtype it names."""
    if value is None:
        return None
    key = value.strip().lower()
    key = WEIGHT_DTYPE_ALIASES.get(key, key)
    for known in WEIGHT_DTYPES:
        if key == known:
            return known
    # the other names people type (bfloat16, fp8_e4m3); the error names every type
    # --weight-dtype takes, the GGUF ones too (llama.cpp's; gpuwise.infer.engine)
    from gpuwise.models.weight_types import ALIASES, WEIGHT_TYPES, normalise

    try:
        typed = normalise(value)
    except GpuwiseError:
        typed = None
    for known in WEIGHT_DTYPES:
        if typed == known:
            return known
    raise GpuwiseError(
        Message(
            "workload.unknown_weight_dtype",
            value=repr(value),
            allowed=", ".join(WEIGHT_TYPES),
            aliases=", ".join(ALIASES),
        )
    )


def validate(w: Workload, spec: ModelSpec) -> Workload:
    """Reject a workload that cannot run on this model; returns it unchanged when it can."""
    _one_of(w.task, TASKS, "--task")
    _one_of(w.method, METHODS, "--method")
    _one_of(w.precision, PRECISIONS, "--precision")
    _one_of(w.optimizer, OPTIMIZERS, "--optimizer")
    _one_of(w.loss, LOSSES, "--loss")
    if w.weight_dtype is not None:
        _one_of(w.weight_dtype, WEIGHT_DTYPES, "--weight-dtype")
    if w.kv_dtype is not None:
        _one_of(w.kv_dtype, KV_DTYPES, "--kv-dtype")
    if not 1 <= w.batch <= MAX_BATCH:
        raise GpuwiseError(Message("workload.batch_range", batch=w.batch, most=f"{MAX_BATCH:,}"))
    if not 1 <= w.seq <= MAX_SEQ:
        raise GpuwiseError(Message("workload.seq_range", seq=w.seq, most=f"{MAX_SEQ:,}"))
    limit = spec.max_position_embeddings
    if limit and w.seq > limit and not w.allow_long_context:
        raise GpuwiseError(
            Message("workload.seq_too_long", seq=w.seq, model=spec.name, limit=limit)
        )
    _check_tricks(w, spec)
    if w.task == "train":
        if w.weight_dtype is not None or w.kv_dtype is not None:
            raise GpuwiseError(Message("workload.dtype_for_infer"))
        if w.method == "qlora" and w.precision_given and w.precision not in ("bf16", "fp16"):
            raise GpuwiseError(Message("workload.qlora_precision", precision=w.precision))
        if w.is_lora:
            if not 1 <= w.lora_rank <= MAX_LORA_RANK:
                raise GpuwiseError(
                    Message("workload.rank_range", rank=w.lora_rank, most=f"{MAX_LORA_RANK:,}")
                )
            if w.lora_rank > spec.hidden_size:
                raise GpuwiseError(
                    Message("workload.rank_above_hidden", rank=w.lora_rank, hidden=spec.hidden_size)
                )
            _check_targets(w.lora_targets, spec)
    else:
        if w.method != "full":
            raise GpuwiseError(Message("workload.method_for_train", method=w.method))
        if w.grad_checkpointing:
            raise GpuwiseError(Message("workload.ckpt_for_train"))
        if spec.kind == "encoder":
            raise GpuwiseError(
                Message("workload.encoder_infer", model=spec.name, model_type=spec.model_type)
            )
    return w


def _check_tricks(w: Workload, spec: ModelSpec) -> None:
    """A trick that does not apply to this workload is refused, naming what it needs."""
    if w.task == "infer":
        given = [
            flag
            for flag, on in (
                (f"--loss {w.loss}", w.loss != "full"),
                ("--no-upcast", not w.upcast),
                ("--packing", w.packing),
                ("--grad-checkpointing offload", w.ckpt_offload),
                ("--optimizer-in-bwd", w.optimizer_in_bwd),
            )
            if on
        ]
        if given:
            raise GpuwiseError(Message("workload.trick_for_train", flag=given[0]))
        return
    if not w.upcast and w.method != "qlora":
        raise GpuwiseError(Message("workload.no_upcast_needs_qlora", method=w.method))
    if w.ckpt_offload and not w.grad_checkpointing:
        raise GpuwiseError(Message("workload.offload_needs_ckpt"))
    if w.loss != "full" and spec.kind == "encoder":
        raise GpuwiseError(Message("workload.loss_for_decoder", loss=w.loss, model=spec.name))


def _check_targets(targets: tuple[str, ...], spec: ModelSpec) -> None:
    if not targets:
        raise GpuwiseError(Message("workload.targets_empty"))
    if targets == ALL_LINEAR:
        return
    if "all-linear" in targets:
        raise GpuwiseError(Message("workload.targets_all_linear_mixed"))
    known = lora_target_names(spec)
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise GpuwiseError(
            Message(
                "workload.targets_unknown",
                targets=", ".join(unknown),
                model=spec.name,
                known=", ".join(known),
            )
        )
