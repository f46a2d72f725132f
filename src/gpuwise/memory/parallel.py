"""Peak memory of one card (rank) of a multi-card training step, and the host RAM offload needs.

The single-card phases (:func:`gpuwise.memory.train.train_phases`) give the activations and
transients of one micro-batch, which every rank runs as one card does. What changes per
strategy is the model state each rank holds, phase by phase:

- ``ddp``: a full replica; DDP's reducer keeps its gradient buckets, flat copies of every
  trainable gradient (``gradient_as_bucket_view=False``, the default), for the whole run.
- ``fsdp`` (FSDP2 ``fully_shard`` per decoder layer and on the root): weights, gradients and
  optimizer states are split over the shard group (dim-0 chunks, padded). The root's
  parameters (embeddings, final norm, LM head) are gathered through the forward and again
  from the start of the backward to its end; two layers are gathered at once in the forward
  and inside the backward (the running one and the prefetched one), one as the backward
  starts. A layer's backward holds its unsharded gradients and the reduce-scatter input, the
  last of which FSDP keeps until the next; an untied head's gradient waits through the whole
  backward, and the root's gradients are reduce-scattered after the last layer. Under
  ``amp-*`` the MixedPrecisionPolicy keeps fp32 shards and gathers 16-bit copies (adapters
  too), so autocast makes no weight copies; RMSNorm models then compute like the 16-bit model
  (less the fp32 adapter inputs, :func:`_mp_adapter_saving`), LayerNorm models keep
  autocast's fp32 norm outputs. Gradients are reduced to fp32 shards.
  Measured against rank 0 simulated with torch's fake process group
  (``docs/research/fsdp-ddp-memory.md``, ``tests/accuracy/test_parallel_accuracy.py``).
- DeepSpeed ZeRO: with ``bf16`` / ``fp16`` the model runs in 16 bits and the optimizer keeps
  fp32 master weights and fp32 Adam states (2 + 2 + 12 bytes per parameter, more than the
  single-card pure-bf16 step's 2 + 2 + 4); ``amp-*`` (DeepSpeed's ``torch_autocast``) and ``fp32``
  keep fp32 weights and gradients and fp32 states. Stage 1 splits the fp32
  state, stage 2 also the gradients (reduced in buckets of ``reduce_bucket_size`` elements),
  stage 3 also the 16-bit weights (a working set of ``stage3_prefetch_bucket_size`` plus the
  parameters below ``stage3_param_persistence_threshold``, which stay whole). Offload keeps the
  fp32 state and its gradient partition in host RAM (stage 3 offload: the 16-bit weights too).
  The bucket sizes are the ones ``--emit`` writes (:mod:`gpuwise.parallel.zero_buffers`).

The per-rank peak is the largest phase total, as for one card. Parameters shard by
``ceil(n / k)`` elements per rank (FSDP2 pads dim 0 to a multiple of the group).
"""

from __future__ import annotations

import math

from gpuwise.i18n import Message
from gpuwise.memory.optimizer import Tensor
from gpuwise.memory.rank import ACCUM_NOTE, RankMemory, accumulating, estimate_from
from gpuwise.memory.train import ModelState, TrainPhases, base_weight_bytes, train_phases
from gpuwise.models.lora import lora_linears
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.parallel.zero_buffers import deepspeed_buffers
from gpuwise.record import record
from gpuwise.units import DTYPE_BYTES, GIB
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

#: Layers FSDP2 keeps unsharded at once inside the forward and the backward: the running one
#: and the prefetched next one.
FSDP_UNSHARDED_LAYERS = 2


# -- helpers -------------------------------------------------------------------------------


def _shard(n: int, k: int) -> int:
    return math.ceil(n / k) if k > 1 else n


def _layered(spec: ModelSpec) -> tuple[list[Any], list[Any]]:
    """(blocks repeated per layer, blocks of the root module: embeddings, final norm, head)."""
    layers = [b for b in spec.train_blocks if b.count > 1 or spec.num_layers == 1]
    root = [b for b in spec.train_blocks if not (b.count > 1 or spec.num_layers == 1)]
    return layers, root


def _sixteen(w: Workload) -> Workload:
    """The workload as the 16-bit model computes it: amp-bf16 -> bf16 (FSDP's mixed precision
    on RMSNorm models)."""
    if w.amp and w.method != "qlora":
        return w.with_(precision=w.compute_dtype)
    return w


def _activation_parts(t: TrainPhases) -> dict[str, dict[str, int]]:
    """Each phase's activations and transients, without the model state (weights, gradients,
    optimizer states and the optimizer step's temporaries)."""
    out = {}
    for name, parts in t.phases.items():
        temporaries = parts.get("temporaries", 0)
        if name == "optimizer":
            temporaries -= t.state.step_tmp
        out[name] = {"activations": parts.get("activations", 0), "temporaries": temporaries}
    return out


def _grad_fraction(t: TrainPhases) -> dict[str, float]:
    """Share of all gradients each phase of the single-card step holds."""
    grads = t.state.grads or 1
    return {name: parts.get("gradients", 0) / grads for name, parts in t.phases.items()}


# -- DDP -----------------------------------------------------------------------------------


def ddp(spec: ModelSpec, w: Workload, p: Parallel) -> RankMemory:
    t = train_phases(spec, w)
    buckets = t.state.grads
    phases = {}
    for name, parts in (accumulating(t) if p.grad_accum > 1 else t.phases).items():
        new = dict(parts)
        new["gradients"] = parts.get("gradients", 0) + buckets
        phases[name] = new
    notes: list[Text] = [Message("memory.note.ddp", buckets=_gib(buckets))]
    if p.grad_accum > 1:
        notes.append(ACCUM_NOTE)
    return RankMemory(estimate_from(phases, t, notes), 0, p, notes)


# -- FSDP2 ---------------------------------------------------------------------------------


def fsdp(spec: ModelSpec, w: Workload, p: Parallel) -> RankMemory:
    t = _fsdp_activations(spec, w)
    single = train_phases(spec, w) if w.amp else t  # the state in the user's precision
    z = _fsdp_sizes(spec, w, single.state, p.shard_group)
    phases = _fsdp_phases(t, single, z, p)
    notes = _fsdp_notes(w, p, z, max(spec.num_layers, 1))
    host = 0
    if p.strategy == "fsdp-offload":
        host = z.stored_weights + single.state.grads + single.state.states
        notes.append(Message("memory.note.fsdp_offload"))
    return RankMemory(estimate_from(phases, t, notes), host, p, notes)


def _fsdp_activations(spec: ModelSpec, w: Workload) -> TrainPhases:
    """The single-card phases whose activations one FSDP2 rank keeps.

    Under amp the policy all-gathers 16-bit weights (adapters too) and autocast stays on: the
    amp activations without autocast's weight copies. Norms autocast runs in fp32 (LayerNorm)
    keep fp32 outputs as under amp; RMSNorm models (which cast back themselves) compute like
    the 16-bit model; with checkpointing a layer keeps only its input, the 16-bit residual
    stream."""
    if not (w.amp and (spec.norm == "rmsnorm" or w.grad_checkpointing)):
        return train_phases(spec, w, weight_copies=not w.amp)
    t = train_phases(spec, _sixteen(w))
    saving = _mp_adapter_saving(spec, w) * spec.num_layers
    if saving:
        for name in ("forward", "backward", "backward_layers"):
            kept = t.phases[name].get("activations", 0)
            t.phases[name]["activations"] = max(0, kept - saving)
    return t


@record
class _FsdpSizes:
    """What one FSDP2 rank of a shard group of ``k`` holds, in bytes. Weights: the stored
    model (``stored_weights``), its shard (``sharded_w``), the root's and one layer's unsharded
    copies (``root_u``, ``layer_u``) and what the forward holds gathered (``working``).
    Gradients: the root's (``g_root``, unsharded ``g_root_u``), one layer's (``g_layer``), the
    untied head's unsharded (``g_head_u``), a layer's reduce-scatter (``rs``), the shards
    (``sharded_g``; ``root_shard``). Optimizer: states and step temporaries of the shard.
    ``scale``: unsharded gradient bytes per stored byte (16-bit under mixed precision)."""

    stored_weights: int
    sharded_w: int
    root_u: int
    layer_u: int
    working: int
    g_root: int
    g_root_u: int
    root_shard: int
    g_layer: int
    g_head_u: int
    rs: int
    sharded_g: int
    states: int
    step_tmp: int
    scale: float


def _fsdp_sizes(spec: ModelSpec, w: Workload, s: ModelState, k: int) -> _FsdpSizes:
    layers, root = _layered(spec)
    L = max(spec.num_layers, 1)
    compute = DTYPE_BYTES[w.compute_dtype] if w.method != "qlora" else None
    # QLoRA under FSDP keeps its unquantized weights in 16 bits (the launch files skip
    # prepare_model_for_kbit_training, whose fp32 copies FSDP cannot flatten with the rest)
    upcast = w.method != "qlora"

    def unsharded(blocks: list[Any]) -> int:
        # what all-gather materialises: the compute dtype under mixed precision, else as stored
        if compute is None or not w.amp:
            return base_weight_bytes(spec, w, tuple(blocks), upcast=upcast)
        return sum(b.numel * compute for b in blocks if b.dtype != "float32") + sum(
            b.numel * 4 for b in blocks if b.dtype == "float32"
        )

    w_layers = base_weight_bytes(spec, w, tuple(layers), upcast=upcast)
    w_root = base_weight_bytes(spec, w, tuple(root), upcast=upcast)
    adapters = s.weights - base_weight_bytes(spec, w)
    root_u = unsharded(root)
    adapters_u = round(adapters * (compute or 4) / 4) if w.amp else adapters
    layer_u = unsharded(layers) // L + adapters_u // L
    g_root = sum(_tensor_bytes(x) for x in s.trainable if x.count == 1 and L > 1)
    g_layer = (s.grads - g_root) // L
    # a layer's backward: its unsharded gradients (16-bit under mixed precision) and the
    # reduce-scatter input (in the reduce dtype: fp32 under amp, as stored otherwise)
    scale = (compute or 4) / 4 if w.amp else 1
    lm_head = tuple(b for b in root if b.part == "lm_head")
    g_head = 0 if w.is_lora else base_weight_bytes(spec, w, lm_head)
    return _FsdpSizes(
        stored_weights=w_layers + w_root + adapters,
        sharded_w=_shard(w_layers + w_root + adapters, k),
        root_u=root_u,
        layer_u=layer_u,
        working=root_u + min(FSDP_UNSHARDED_LAYERS, L) * layer_u,
        g_root=g_root,
        g_root_u=round(g_root * scale) if w.amp else g_root,
        root_shard=_shard(g_root, k),
        g_layer=g_layer,
        g_head_u=round(g_head * scale) if w.amp else g_head,
        rs=round(g_layer * scale) + g_layer,
        sharded_g=_shard(s.grads - g_root, k),
        states=_shard(s.states, k),
        step_tmp=_shard(s.step_tmp, k),
        scale=scale,
    )


def _fsdp_phases(
    t: TrainPhases, single: TrainPhases, z: _FsdpSizes, p: Parallel
) -> dict[str, dict[str, int]]:
    """Each phase of one rank: the activations of ``t``, the model state of ``z``."""
    s = single.state
    # with CPU offload each reduce-scattered gradient shard goes to host RAM at once
    kept_g = 0 if p.offloads("gradients") else z.sharded_g
    frac = _grad_fraction(single)
    acts = _activation_parts(t)
    # the root's reduce-scatter after the last layer: its unsharded gradients, the input copy
    # (reduce dtype) and the output shard, once the embedding's backward has finished
    # (the unsharded gradients are dropped once copied in, before the output is made)
    root_rs = z.g_root + max(0, z.root_shard - z.g_root_u)
    acts["root_reduce"] = {"activations": 0, "temporaries": root_rs}
    accum = kept_g + z.root_shard if p.grad_accum > 1 and kept_g else 0
    # unsharded at once: the root and two layers (the running one and the prefetched one);
    # as the backward starts only the last layer has been gathered again
    gathered = {
        "optimizer": 0,
        "backward": z.root_u + z.layer_u,
        "backward_end": z.root_u,
        "root_reduce": z.root_u,
    }
    on_gpu_w = z.sharded_w if not p.offloads("weights") else 0
    phases: dict[str, dict[str, int]] = {}
    for name, parts in acts.items():
        new = {
            "weights": on_gpu_w + gathered.get(name, z.working),
            "optimizer": z.states if not p.offloads("optimizer") else 0,
            "activations": parts["activations"],
            "temporaries": parts["temporaries"],
            "gradients": accum,
        }
        if name == "backward":
            new["gradients"] += min(z.g_root_u, round(frac[name] * s.grads * z.scale))
        elif name == "backward_layers":  # an untied head's gradient waits for the root's
            new["gradients"] += z.g_head_u + kept_g
            new["temporaries"] += z.rs
        elif name in ("backward_end", "root_reduce"):  # root gradients still unsharded
            new["gradients"] = z.g_root_u + kept_g
            if name == "backward_end":  # the first layer's reduce-scatter input, still held
                new["temporaries"] += z.g_layer
        elif name == "optimizer":
            new["gradients"] = 0 if p.offloads("gradients") else z.sharded_g + z.root_shard
            step_tmp = 0 if p.offloads("optimizer") else z.step_tmp
            new["temporaries"] = parts["temporaries"] + step_tmp
        phases[name] = new
    return phases


def _fsdp_notes(w: Workload, p: Parallel, z: _FsdpSizes, layers: int) -> list[Text]:
    k = p.shard_group
    notes: list[Text] = [
        Message(
            "memory.note.fsdp",
            ways=k,
            root=_gib(z.root_u),
            layers=min(FSDP_UNSHARDED_LAYERS, layers),
            layer=_gib(z.layer_u),
        )
    ]
    if w.method == "qlora":
        notes.append(Message("memory.note.fsdp_qlora"))
    if w.amp:
        notes.append(Message("memory.note.fsdp_amp"))
    elif w.precision in ("bf16", "fp16") and w.method != "qlora":
        notes.append(Message("memory.note.fsdp_16bit", precision=w.precision))
    if p.strategy == "fsdp-hybrid":
        notes.append(Message("memory.note.hybrid", size=k, copies=p.gpus // k))
    return notes


def _mp_adapter_saving(spec: ModelSpec, w: Workload) -> int:
    """Bytes one layer keeps less under FSDP's mixed precision than the 16-bit model with
    fp32 adapters whose terms stand for it: there every adapter keeps its own fp32 copy of
    its input and an fp32 rank-wide output (4 x in + 4 x r per token); under the policy the
    adapters are 16-bit, so adapters sharing an input keep it once (2 x in: q/k/v, gate/up;
    the attention output projection's input is the attention output, which SDPA keeps
    anyway) and a 16-bit rank-wide output (2 x r). Measured against the fake-process-group
    simulation (docs/research/fsdp-ddp-memory.md); without checkpointing only."""
    if not w.is_lora or w.grad_checkpointing or w.method == "qlora":
        return 0
    chosen = [b for b in lora_linears(spec, w.lora_targets) if b.count == spec.num_layers]
    if not chosen:
        return 0
    fp32_case = sum(4 * b.in_features + 4 * w.lora_rank for b in chosen)
    attention = [b for b in chosen if b.part == "attention"]
    mlp = [b for b in chosen if b.part == "mlp"]
    all_attention = [b for b in spec.train_blocks if b.part == "attention" and b.linear]
    all_mlp = [b for b in spec.train_blocks if b.part == "mlp" and b.linear]
    out_proj = all_attention[-1] if all_attention else None
    down = all_mlp[-1] if all_mlp else None
    kept = 2 * w.lora_rank * len(chosen)
    attn_in = [b for b in attention if b is not out_proj]
    mlp_in = [b for b in mlp if b is not down]
    kept += 2 * attn_in[0].in_features if attn_in else 0
    kept += 2 * mlp_in[0].in_features if mlp_in else 0
    kept += 2 * down.in_features if down in mlp else 0
    return max(0, fp32_case - kept) * w.tokens


# -- DeepSpeed ZeRO ------------------------------------------------------------------------


def zero(spec: ModelSpec, w: Workload, p: Parallel) -> RankMemory:
    n = p.gpus
    stage = p.zero_stage or 0
    # DeepSpeed's bf16 / fp16 run a 16-bit model; amp-* (torch_autocast) and fp32 keep fp32.
    # Under amp, stages 1-2 keep whole fp32 weights, and autocast's 16-bit copy of each one is
    # saved for backward as on one card; stage 3's memory-efficient linear (zero.Init patches
    # F.linear with LinearFunctionForZeroStage3: deepspeed/runtime/zero/linear.py, on by
    # default, memory_efficient_linear in zero/config.py; DeepSpeed edaa722) saves the fp32
    # input and weight and casts inside, so no copy is kept: activations as FSDP's
    # (simulated with that Function under autocast, Qwen2.5-0.5B full at 1 x 1024: 2.07 GiB
    # kept for backward against 2.12 GiB of these terms, 3.03 GiB with autocast's copies)
    copies = not (w.amp and stage >= 3)
    t = train_phases(spec, w, weight_copies=copies)
    elem = 4 if w.amp or w.precision == "fp32" else 2
    total = spec.trained_params
    trainable = sum(x.numel * x.count for x in t.state.trainable)
    frozen = total if w.is_lora else 0
    weights16 = (total + (trainable if w.is_lora else 0)) * elem
    grads16 = trainable * elem
    master = 4 if elem == 2 else 0  # fp32 master weights when the model runs in 16 bits
    moments = {"sgd": 4, "adamw": 8, "adamw-fused": 8}[w.optimizer]
    fp32_state = trainable * (master + moments)
    fp32_grads = trainable * 4 if elem == 2 else 0  # the fp32 gradient partition of the step
    buf = deepspeed_buffers(spec, p)  # the bucket sizes --emit writes into ds_config.json

    notes: list[Text] = [
        Message(
            "memory.note.zero_master" if master else "memory.note.zero",
            stage=stage,
            bytes=master + moments,
        )
    ]
    if master and w.precision in ("bf16", "fp16"):
        # DeepSpeed's 16-bit optimizers step fp32 partitions (stage_1_and_2.py
        # single_partition_of_fp32_groups, stage3.py fp32_partitioned_groups_flat,
        # bf16_optimizer.py fp32_groups_flat_partition): the same flag on one card or FSDP
        # keeps bf16 states and no master weights
        notes.append(
            Message("memory.note.zero_16bit_master", precision=w.precision, bytes=master + moments)
        )
    if w.amp:
        notes.append(Message("memory.note.zero3_amp" if stage >= 3 else "memory.note.zero12_amp"))
    if stage >= 3:
        threshold = int(buf["stage3_param_persistence_threshold"])
        persist = sum(b.numel * elem for b in spec.train_blocks if b.numel // b.count < threshold)
        largest = max((b.numel // b.count for b in spec.train_blocks), default=0) * elem
        working = max(int(buf["stage3_prefetch_bucket_size"]) * elem, largest) + largest
        w_gpu = _shard(weights16, n) + persist + working
    else:
        w_gpu = weights16
    if p.offloads("weights"):
        w_gpu -= _shard(weights16, n)
    reduce_bucket = 2 * int(buf["reduce_bucket_size"]) * elem  # double-buffered (overlap_comm)
    if p.offloads("optimizer"):  # each reduced partition goes to host RAM as it is made
        g_gpu = min(reduce_bucket, grads16)
    elif stage == 1:
        g_gpu = grads16
    else:
        g_gpu = _shard(grads16, n) + min(reduce_bucket, grads16)
    s_gpu = 0 if p.offloads("optimizer") else _shard(fp32_state, n)
    step_gpu = 0 if p.offloads("optimizer") else _shard(fp32_grads, n)
    if stage >= 3:  # stage 3 steps its partition in sub-groups of sub_group_size elements
        step_gpu = min(step_gpu, 4 * int(buf["sub_group_size"]))

    frac = _grad_fraction(t)
    acts = _activation_parts(t)
    phases = {}
    for name, parts in acts.items():
        grads = round(frac[name] * g_gpu)
        if name == "forward" and p.grad_accum > 1:
            grads = g_gpu
        phases[name] = {
            "weights": w_gpu,
            "optimizer": s_gpu,
            "gradients": grads,
            "activations": parts["activations"],
            "temporaries": parts["temporaries"] + (step_gpu if name == "optimizer" else 0),
        }
    host = 0
    if p.offloads("optimizer"):
        host += fp32_state + fp32_grads
        notes.append(Message("memory.note.optimizer_offload", size=_gib(fp32_state + fp32_grads)))
    if p.offloads("weights"):
        host += weights16
        notes.append(Message("memory.note.param_offload", size=_gib(weights16)))
    if frozen:
        key = "memory.note.zero_lora_fp32" if elem == 4 else "memory.note.zero_lora_16"
        notes.append(Message(key))
    return RankMemory(estimate_from(phases, t, notes), host, p, notes)


def _tensor_bytes(x: Tensor) -> int:
    return x.numel * DTYPE_BYTES[x.dtype] * x.count


def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB"
