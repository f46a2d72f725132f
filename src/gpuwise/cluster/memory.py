"""What one GPU of a cluster layout holds at its peak: weights, gradients, optimizer states,
activations, communication buffers and the CUDA context.

With ``tp = pp = cp = 1`` a layout is today's one-machine strategy over ``dp`` cards, and its
figure is that strategy's (:func:`gpuwise.memory.rank.per_rank_memory`: ddp, fsdp, fsdp-hybrid
for hsdp, zero1/2/3), to the byte. Otherwise (rules and sources in ``data/memory.json``):

- parameters of a pipeline stage: its layers (``layers // pp``, the first ``layers % pp``
  stages one more), the embeddings on the first stage, the final norm and LM head on the last
  (with tied embeddings the last stage keeps its own copy); attention and MLP linears,
  embeddings and head split by ``tp`` (Megatron column / row and vocab-parallel), norms whole;
- sharded over the data-parallel group as ``sharding`` says; the group is ``dp x cp`` (context
  parallel ranks hold the same weights, torchtitan's dp_shard_cp, Megatron's data-parallel
  group with context parallel), for hsdp the part of it inside one node;
- gradients and optimizer states at today's precision rules
  (:func:`gpuwise.memory.train.model_state` of each group of blocks); ZeRO (and Megatron's
  distributed optimizer) keeps fp32 master weights with 16-bit training, FSDP2 with bf16
  parameters none (as today's fsdp; torchtitan's fp32 masters are ``--precision amp-bf16``);
- activations per micro-batch per layer from today's per-layer terms
  (:mod:`gpuwise.memory.terms`) at ``seq / cp`` tokens, computed as the 16-bit model without
  autocast's weight copies, with the terms over head, KV, MLP and vocab widths divided by
  ``tp`` and the residual stream's by ``tp`` only with sequence parallel (whose gathered
  column-parallel inputs stay whole, as DTensor saves them);
- the schedule: a stage holds its in-flight micro-batches (1F1B; interleaved: Megatron-LM's
  warm-up counts); its peak is the largest of the last forward before a backward (with every
  gradient once a backward ran before it), the moment after the first backward when no steady
  state comes, and the optimizer step (with its temporaries); the last stage adds one
  micro-batch's fp32 logits and loss (vocab-parallel);
- torch's tensor parallel as it runs: the vocab-parallel embedding keeps a whole table's
  gradient, tied embeddings sum it into the head's shard at the end of the backward;
- NCCL buffers per communicator; the CUDA context and allocator overhead as today's plans.

Held to the rank simulated on fake tensors (:mod:`gpuwise.probe.simulate_cluster`,
docs/cluster-memory.md). The peak rank is the stage with the largest total (as a rule the
first: most micro-batches in flight and the embeddings; the last when the logits weigh more).
"""

from __future__ import annotations

import functools

from gpuwise.i18n import Message
from gpuwise.memory.estimate import overheads
from gpuwise.memory.train import activation_terms, model_state
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.record import field, record, replace
from gpuwise.units import DTYPE_BYTES, MIB
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout
    from gpuwise.i18n import Text
    from gpuwise.memory.terms import Dims, Terms

#: Dimensions of the activation terms that tensor parallel splits.
_TP_DIMS = frozenset({"I", "q", "kv", "nh", "V", "Wl", "Wh", "Wa", "Wt"})
#: Layers FSDP / ZeRO-3 hold unsharded at once (gpuwise/memory/parallel.py).
_UNSHARDED_LAYERS = 2


@record
class GpuMemory:
    """One GPU of a layout at its peak, in bytes: the worst rank's (or one stage's)."""

    weights: int
    gradients: int
    optimizer: int
    activations: int  # activations and the transients of the running layer / head
    comm_buffers: int  # NCCL buffers, DDP buckets, pipeline send/receive buffers
    cuda_context: int  # the CUDA context and the caching allocator's overhead
    total: int
    stage: int  # pipeline stage of that rank (0 = first)
    in_flight: int  # micro-batches (interleaved: model-chunk micro-batches) held at the peak
    notes: list = field(default_factory=list, compare=False)
    host: int = 0  # host RAM offloaded state needs (all ranks of a node), today's strategies
    temporaries: int = 0  # the optimizer step's temporaries, when the step is the peak


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The rules of data/memory.json (with their sources)."""
    data: dict[str, Any] = packaged_json("gpuwise.cluster", "data/memory.json")
    return data


def _one_machine(layout: Layout, cluster: Cluster) -> Any:
    """Today's strategy a tp = pp = cp = 1 layout is."""
    from gpuwise.parallel import Parallel

    m = layout.micro_batches
    if layout.dp == 1:
        return Parallel("single", 1, None, m)
    if layout.sharding == "ddp":
        return Parallel("ddp", layout.dp, None, m)
    if layout.sharding == "hsdp":
        return Parallel("fsdp-hybrid", layout.dp, _hsdp_group(layout, cluster), m)
    return Parallel(layout.sharding, layout.dp, None, m)


def _hsdp_group(layout: Layout, cluster: Cluster) -> int:
    """Ranks of one shard group under hsdp: the part of the dp x cp group inside one node
    (tensor parallel fills a node first, then context parallel, then data parallel)."""
    in_node = max(1, cluster.gpus_per_node // layout.tp)
    return max(1, min(layout.dp * layout.cp, in_node))


def shard_group(layout: Layout, cluster: Cluster) -> int:
    """Ranks the sharded state is split over."""
    if layout.sharding == "ddp":
        return 1
    if layout.sharding == "hsdp":
        return _hsdp_group(layout, cluster)
    return layout.dp * layout.cp


def stage_layers(layers: int, pp: int, stage: int) -> int:
    """Decoder layers of pipeline stage ``stage`` (the first ``layers % pp`` stages one more)."""
    return layers // pp + (1 if stage < layers % pp else 0)


def in_flight(layout: Layout, stage: int) -> int:
    """Micro-batches (interleaved: chunk micro-batches) stage ``stage`` holds at its peak."""
    p, m, v = layout.pp, layout.micro_batches, layout.virtual_stages
    if layout.schedule == "interleaved" and v > 1:
        return min((p - stage - 1) * 2 + (v - 1) * p + 1, m * v)
    return min(p - stage, m)


def gpu_memory(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout) -> GpuMemory:
    """The peak of the worst rank of ``layout`` on ``cluster`` (its stage, and why)."""
    if layout.tp == layout.pp == layout.cp == 1:
        return _today(spec, w, cluster, layout)
    stages = [stage_memory(spec, w, cluster, layout, s) for s in range(layout.pp)]
    worst = max(stages, key=lambda g: (g.total, -g.stage))
    if layout.pp == 1:
        return worst
    why = Message("cluster.memory.peak_stage", stage=worst.stage + 1, stages=layout.pp)
    return replace(worst, notes=[*worst.notes, why])


def _today(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout) -> GpuMemory:
    from gpuwise.errors import GpuwiseError
    from gpuwise.memory.rank import Unsupported, per_rank_memory

    p = _one_machine(layout, cluster)
    try:
        r = per_rank_memory(spec, w, p)
    except Unsupported as why:  # layout_problem says these first; one line all the same
        raise GpuwiseError(why.args[0]) from None
    b = r.breakdown
    e = r.estimate
    # the optimizer step's temporaries apart; a layer's or the head's transients with the
    # activations, as a layout's
    step = e.peak_phase == "optimizer"
    temporaries = b.get("temporaries", 0) if step else 0
    acts = b.get("activations", 0) + b.get("kv_cache", 0) + b.get("temporaries", 0) - temporaries
    notes: list[Text] = [Message("cluster.memory.as_today", strategy=p.strategy), *r.notes]
    return GpuMemory(
        weights=b.get("weights", 0),
        gradients=b.get("gradients", 0),
        optimizer=b.get("optimizer", 0),
        activations=acts,
        comm_buffers=0,
        cuda_context=e.context_bytes + e.allocator_bytes,
        total=r.required_bytes,
        stage=0,
        in_flight=1,
        notes=notes,
        host=r.host_bytes,
        temporaries=temporaries,
    )


# -- parameters ----------------------------------------------------------------------------


def _groups(spec: ModelSpec) -> dict[str, tuple[Any, ...]]:
    """The model's blocks by how a layout places and splits them."""
    L = spec.num_layers
    out: dict[str, list[Any]] = {"split": [], "whole": [], "embed": [], "norm": [], "head": []}
    for b in spec.train_blocks:
        in_layers = b.count > 1 or L == 1
        if b.part == "embedding" and not in_layers:
            out["embed"].append(b)
        elif b.part in ("lm_head", "mlm_head"):
            out["head"].append(b)
        elif in_layers:
            out["split" if b.linear or b.experts else "whole"].append(b)
        else:
            out["norm"].append(b)
    return {k: tuple(v) for k, v in out.items()}


@record
class _State:
    weights: float
    grads: float
    states: float
    trainable: float  # parameters the optimizer steps (for fp32 master weights)
    step_tmp: float = 0.0  # the optimizer step's temporaries
    #: LoRA under tensor parallel: the share of the adapters every rank holds whole (A of a
    #: column-parallel linear, B of a row-parallel one; the other half is split as its base)
    replicated: float = 0.0


def _state_of(spec: ModelSpec, w: Workload, blocks: tuple[Any, ...]) -> _State:
    if not blocks:
        return _State(0, 0, 0, 0)
    s = model_state(replace(spec, train_blocks=blocks), w)
    n = sum(t.numel * t.count for t in s.trainable)
    return _State(s.weights, s.grads, s.states, n, s.step_tmp)


def _group_states(spec: ModelSpec, w: Workload) -> dict[str, _State]:
    """Each group's weights, gradients and states (the same for every batch, context and
    layout: worked out once per model and training recipe)."""
    return _group_states_of(
        spec, w.method, w.precision, w.optimizer, w.lora_rank, w.lora_targets, w.upcast
    )


@functools.lru_cache(maxsize=64)
def _group_states_of(
    spec: ModelSpec,
    method: str,
    precision: str,
    optimizer: str,
    lora_rank: int,
    lora_targets: tuple[str, ...],
    upcast: bool,
) -> dict[str, _State]:
    w = Workload(
        method=method,  # type: ignore[arg-type]
        precision=precision,  # type: ignore[arg-type]
        optimizer=optimizer,  # type: ignore[arg-type]
        lora_rank=lora_rank,
        lora_targets=lora_targets,
        upcast=upcast,
    )
    out = {name: _state_of(spec, w, blocks) for name, blocks in _groups(spec).items()}
    if w.is_lora and out["split"].trainable:
        out["split"] = replace(out["split"], replicated=_lora_replicated(spec, w))
    return out


def _lora_replicated(spec: ModelSpec, w: Workload) -> float:
    """The share of the adapters' parameters tensor parallel leaves whole on every rank:
    A (rank x in) of a column-parallel linear, B (out x rank) of a row-parallel one (the
    input of a row-parallel linear is split, its output whole), as Megatron / NeMo split
    them (and gpuwise.probe.simulate_cluster runs them)."""
    from gpuwise.cluster.time import time_data
    from gpuwise.models.lora import lora_linears

    row = set(time_data()["row_parallel"]["value"])
    whole = total = 0
    for b in lora_linears(spec, w.lora_targets):
        a_numel, b_numel = w.lora_rank * b.in_features, b.out_features * w.lora_rank
        total += (a_numel + b_numel) * b.count
        whole += (b_numel if b.name.rsplit(".", 1)[-1] in row else a_numel) * b.count
    return whole / total if total else 0.0


def _stage_state(spec: ModelSpec, w: Workload, layout: Layout, stage: int) -> _State:
    """Weights, gradients and states of one tensor-parallel rank of ``stage``, unsharded."""
    groups = _groups(spec)
    states = _group_states(spec, w)
    L = max(spec.num_layers, 1)
    share = stage_layers(L, layout.pp, stage) / L
    first, last = stage == 0, stage == layout.pp - 1
    parts: list[tuple[str, float, int]] = [("split", share, layout.tp), ("whole", share, 1)]
    if first:
        parts.append(("embed", 1.0, layout.tp))
    if last:
        parts += [("norm", 1.0, 1), ("head", 1.0, layout.tp)]
        if spec.tie_word_embeddings and not groups["head"] and layout.pp > 1:
            parts.append(("embed", 1.0, layout.tp))  # the last stage's own copy
    total = _State(0, 0, 0, 0)
    for name, fraction, split in parts:
        s = states[name]
        k = fraction / split
        # trainable tensors: split as the linears, but for the adapters' whole halves
        kt = fraction * (s.replicated + (1 - s.replicated) / split)
        adapters = s.grads if w.is_lora else 0.0  # LoRA: the adapters' own weights
        total = _State(
            total.weights + (s.weights - adapters) * k + adapters * kt,
            total.grads + s.grads * kt,
            total.states + s.states * kt,
            total.trainable + s.trainable * kt,
            total.step_tmp + s.step_tmp * kt,
        )
    tied = spec.tie_word_embeddings and not groups["head"]
    if first and layout.tp > 1 and (not tied or layout.pp > 1) and not w.is_lora:
        # torch's vocabulary-parallel embedding (DTensor RowwiseParallel) leaves a whole
        # table's gradient on every rank (data/memory.json: embedding_gradient)
        whole = states["embed"].grads * (1 - 1 / layout.tp)
        total = replace(total, grads=total.grads + whole)
    return total


def _tied_table_transient(
    spec: ModelSpec, w: Workload, layout: Layout, stage: int, sharding: str
) -> float:
    """Tied embeddings on one stage under tensor parallel: at the end of the backward the
    embedding's whole-table gradient and the head's shard are summed into a new shard (bytes
    beyond the gradients held then; data/memory.json: tied_embedding_gradient)."""
    tied = spec.tie_word_embeddings and not _groups(spec)["head"]
    if not (tied and layout.tp > 1 and layout.pp == 1 and stage == 0 and not w.is_lora):
        return 0.0
    if sharding not in ("ddp", "zero1"):
        return 0.0  # sharded gradients: not measured
    e = _group_states(spec, w)["embed"].grads
    return e * (1 + 1 / layout.tp)


def _root_weights(spec: ModelSpec, w: Workload, layout: Layout, stage: int) -> float:
    """Weights of the stage's root parameters (embeddings; final norm and head) on one
    tensor-parallel rank: what FSDP holds gathered through the forward and the backward."""
    states = _group_states(spec, w)
    out = 0.0
    if stage == 0:
        out += states["embed"].weights / layout.tp
    if stage == layout.pp - 1:
        out += states["norm"].weights + states["head"].weights / layout.tp
        if spec.tie_word_embeddings and not _groups(spec)["head"] and layout.pp > 1:
            out += states["embed"].weights / layout.tp
    return out


def _layer_weights(spec: ModelSpec, w: Workload, layout: Layout) -> tuple[float, float]:
    """(weights, gradients) of one decoder layer of one tensor-parallel rank."""
    states = _group_states(spec, w)
    L = max(spec.num_layers, 1)
    split, whole = states["split"], states["whole"]
    return (
        (split.weights / layout.tp + whole.weights) / L,
        (split.grads / layout.tp + whole.grads) / L,
    )


# -- activations ---------------------------------------------------------------------------


def _factor(term: str, tp: int, sp: bool) -> float:
    factors = term.split("*")
    if any(f in _TP_DIMS for f in factors):
        return 1 / tp
    if "T" in factors and (len(factors) == 1 or "h" in factors):
        return 1 / tp if sp else 1.0  # the residual stream and per-token scalars
    return 1.0


def _eval(terms: Terms, window: str, d: Dims, tp: int, sp: bool) -> int:
    """``window`` of ``terms`` at ``d``, split as tensor parallel splits it. A transient
    derived in parts (``window_0``, ...) is its largest part."""
    names = [
        n for n in terms.forms if n.startswith(f"{window}_") and n[len(window) + 1 :].isdigit()
    ] or [window]
    values = d.values
    best = 0.0
    for name in names:
        form = terms.forms.get(name, {})
        best = max(best, sum(c * values[t] * _factor(t, tp, sp) for t, c in form.items()))
    return max(0, round(best))


def _gathered_inputs(spec: ModelSpec, w: Workload, token_hidden: float, tp: int) -> int:
    """Sequence parallel as DTensor runs it: the input of the column-parallel linears is
    gathered to the whole sequence, and what saves it for the backward saves it whole (the
    base linears' own input when they train, twice a layer: attention's and the MLP's; each
    adapter's fp32 copy of it under LoRA), where a layer's terms count it split by tp
    (data/memory.json: sequence_parallel_gathered)."""
    from gpuwise.memory.terms import compute_class
    from gpuwise.memory.train import ADAPTER_PER_TOKEN
    from gpuwise.models.lora import lora_linears

    if w.is_lora:
        column = set(rules()["sequence_parallel_gathered"]["column_parallel"])
        copies = sum(
            1
            for b in lora_linears(spec, w.lora_targets)
            if b.count == spec.num_layers and b.name.rsplit(".", 1)[-1] in column
        )
        per_token = copies * ADAPTER_PER_TOKEN[compute_class(w.precision)][0]
    else:
        per_token = 2 * DTYPE_BYTES[w.compute_dtype]
    return round(per_token * token_hidden * (1 - 1 / tp))


@record
class _Acts:
    per_layer: int  # kept per layer per micro-batch
    layer_peak: int  # the running layer's transient (forward or backward)
    pre: int  # embeddings' output etc. (first stage), per micro-batch
    head: int  # kept by the head per micro-batch (last stage)
    head_peak: int  # the head and loss transient (last stage)
    boundary: int  # one micro-batch's activation a stage sends / receives


def _activations(spec: ModelSpec, w: Workload, layout: Layout) -> _Acts:
    return _activations_of(spec, w, layout.tp, layout.cp, layout.sequence_parallel)


@functools.lru_cache(maxsize=256)
def _activations_of(spec: ModelSpec, w: Workload, tp: int, cp: int, sp: bool) -> _Acts:
    """One micro-batch's activations on one rank. Megatron-LM and torchtitan run the layers
    in the 16-bit compute dtype with 16-bit weights where they compute (fp32 master weights
    live in the optimizer; FSDP2's MixedPrecisionPolicy): under ``amp-*`` the 16-bit model's
    terms, and no autocast copies of the weights."""
    if w.amp and w.method != "qlora":
        w = w.with_(precision=w.compute_dtype)
    like = rules()["split_terms_like"]["types"].get(spec.model_type)
    terms_spec = replace(spec, model_type=like) if like and tp > 1 else spec
    stack, d = activation_terms(terms_spec, w, weight_copies=False)
    d = replace(d, s=max(1, w.seq // cp))
    t = stack.full if stack.n_full else stack.sliding
    L = max(spec.num_layers, 1)
    kept = stack.n_full * _eval(stack.full, "layer", d, tp, sp) + stack.n_sliding * _eval(
        stack.sliding, "layer", d, tp, sp
    )
    per_layer = kept // L
    gathered = _gathered_inputs(spec, w, d.value("T*h"), tp) if sp and tp > 1 else 0
    if not w.grad_checkpointing:
        per_layer += gathered
    fwd = _eval(t, "layer_fwd_peak", d, tp, sp)
    bwd = _eval(t, "layer_bwd_peak", d, tp, sp)
    if w.grad_checkpointing:  # the recomputed layer holds them through its backward
        bwd += gathered
    head_fwd = _eval(t, "head_fwd_peak", d, tp, sp)
    loss_bwd = _eval(t, "loss_bwd_peak", d, tp, sp)
    if tp > 1:
        # the vocabulary-parallel loss makes one fp32 gradient of its logits' shard where
        # the whole-vocabulary loss makes two (data/memory.json: vocab_parallel_loss)
        loss_bwd = max(0, loss_bwd - 4 * w.batch * d.s * spec.vocab_size // tp)
    head_bwd = max(
        loss_bwd,
        _eval(t, "lmhead_bwd_peak", d, tp, sp),
        _eval(t, "head_bwd_peak", d, tp, sp),
    )
    tokens = w.batch * d.s
    hidden = DTYPE_BYTES[w.compute_dtype] * spec.hidden_size * tokens
    return _Acts(
        per_layer=per_layer,
        layer_peak=max(fwd - per_layer, bwd, 0),
        pre=_eval(t, "pre", d, tp, sp),
        head=_eval(t, "head", d, tp, sp),
        head_peak=max(head_fwd - _eval(t, "head", d, tp, sp), head_bwd, 0),
        boundary=hidden // (tp if sp else 1),
    )


# -- one stage -----------------------------------------------------------------------------


def stage_memory(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout, stage: int
) -> GpuMemory:
    """One rank of pipeline stage ``stage`` at its peak (the steady state of the schedule:
    its in-flight micro-batches held, one layer or the head running)."""
    if layout.tp == layout.pp == layout.cp == 1:
        return _today(spec, w, cluster, layout)
    notes: list[Text] = []
    s = _stage_state(spec, w, layout, stage)
    k = shard_group(layout, cluster)
    sharding = layout.sharding
    master, kept_states = 0.0, s.states
    if sharding.startswith("zero") and w.method == "full" and w.precision in ("bf16", "fp16"):
        # DeepSpeed ZeRO and Megatron's distributed optimizer: fp32 master weights and fp32
        # states beside 16-bit training (2 + 2 + 12 bytes a parameter with AdamW), as today's
        # zero strategies
        master = 4 * s.trainable
        kept_states = s.states * 4 / DTYPE_BYTES[w.param_dtype]
        notes.append(Message("cluster.memory.master"))
    weights, grads, states = s.weights, s.grads, kept_states + master
    step_tmp = s.step_tmp
    if sharding in ("zero1", "zero2", "zero3", "fsdp", "hsdp"):
        states /= k
        step_tmp /= k
    if sharding in ("zero2", "zero3", "fsdp", "hsdp"):
        grads /= k
    a = _activations(spec, w, layout)
    held = in_flight(layout, stage)
    first, last = stage == 0, stage == layout.pp - 1
    # a backward has run before the peak (gradients exist) once micro-batches outnumber the
    # ones in flight (1F1B's steady state); else the peak is the last forward's, before any
    steady = (
        layout.micro_batches * (layout.virtual_stages if layout.schedule == "interleaved" else 1)
        > held
    )
    gathered = 0.0
    if sharding in ("zero3", "fsdp", "hsdp"):
        weights /= k
        layer_w, layer_g = _layer_weights(spec, w, layout)
        # FSDP2 (today's fsdp): the root's parameters gathered through forward and backward,
        # the running layer and the prefetched one (at the head: one layer's all-gather)
        layers_gathered = 1 if last else _UNSHARDED_LAYERS
        gathered = _root_weights(spec, w, layout, stage) + layers_gathered * layer_w
        gathered += layer_g if steady else 0
        notes.append(Message("cluster.memory.gathered", count=layers_gathered))
    v = layout.virtual_stages if layout.schedule == "interleaved" else 1
    layers_here = stage_layers(max(spec.num_layers, 1), layout.pp, stage)
    one = a.per_layer * layers_here / v + (a.pre if first else a.boundary)  # one micro-batch
    running = a.layer_peak
    acts = held * one
    if last:
        acts += a.head
        running = max(running, a.head_peak)
    acts += running
    at_peak_grads = grads if steady else 0.0
    # without a steady state, the backward of the first micro-batch leaves every gradient
    # beside the other micro-batches still in flight
    after_first = weights + gathered + grads + states + (held - 1) * one + a.layer_peak
    after = not steady and held > 1 and after_first > weights + gathered + states + acts
    if after:
        acts, at_peak_grads = (held - 1) * one + a.layer_peak, grads
    # the optimizer step: weights, every gradient, the states and the step's temporaries
    step = weights + grads + states + step_tmp
    temporaries = 0.0
    table = _tied_table_transient(spec, w, layout, stage, sharding)
    if table and weights + grads + states + table > max(
        step, weights + gathered + at_peak_grads + states + acts
    ):
        acts, gathered, at_peak_grads, temporaries = 0.0, 0.0, grads, table
        notes.append(Message("cluster.memory.peak_tied_table"))
    elif step > weights + gathered + at_peak_grads + states + acts:
        acts, gathered, at_peak_grads, temporaries = 0.0, 0.0, grads, step_tmp
        notes.append(Message("cluster.memory.peak_optimizer"))
    elif after:
        notes.append(Message("cluster.memory.after_first_backward", held=held - 1))
    elif not steady:
        notes.append(Message("cluster.memory.no_grads_yet"))
    grads = at_peak_grads
    # NCCL buffers for each group with more than one rank, the pipeline's send / receive
    # buffers, DDP's reducer buckets (a copy of the gradients, as today's ddp)
    groups = sum(n > 1 for n in (layout.tp, layout.cp, layout.pp, layout.dp))
    comm = groups * int(rules()["nccl_buffer_mib_per_communicator"]["value"]) * MIB
    if layout.pp > 1:
        comm += 2 * a.boundary
    if sharding == "ddp" and layout.dp > 1:
        comm += round(s.grads)
    parts = (
        round(weights + gathered),
        round(grads),
        round(states),
        round(acts),
        round(temporaries),
    )
    peak = sum(parts) + comm
    context, allocator = overheads(peak)
    if layout.pp > 1:
        if v > 1:
            notes.append(
                Message(
                    "cluster.memory.in_flight_chunks",
                    held=held,
                    stage=stage + 1,
                    v=v,
                    m=layout.micro_batches,
                )
            )
        else:
            notes.append(Message("cluster.memory.in_flight", held=held, stage=stage + 1))
    return GpuMemory(
        weights=parts[0],
        gradients=parts[1],
        optimizer=parts[2],
        activations=parts[3],
        comm_buffers=comm,
        cuda_context=context + allocator,
        total=peak + context + allocator,
        stage=stage,
        in_flight=held,
        notes=notes,
        temporaries=parts[4],
    )


__all__ = ["GpuMemory", "gpu_memory", "in_flight", "stage_layers", "stage_memory"]
