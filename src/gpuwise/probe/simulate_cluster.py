"""One rank of a tensor- / pipeline-parallel layout, run on fake tensors on the CPU.

The check of the analytic per-GPU memory of a cluster layout (``gpuwise.cluster.memory``):
one process stands for one rank, as in :mod:`gpuwise.probe.simulate_parallel` (torch's fake
process group answers every collective at once with outputs of the right shape; fake tensors
hold no memory), and :class:`~gpuwise.probe.rank_bytes.RankBytes` counts the bytes the rank
holds, by kind, through forward, backward and the optimizer step.

What is run (docs/research/tp-pp-memory.md has what it measured):

- **Tensor parallel** on a fake 2-D mesh ``(dp, tp)``: the transformers model parallelized
  with DTensor ``parallelize_module`` as torchtitan does it for Llama: ColwiseParallel for
  ``q/k/v/gate/up``, RowwiseParallel for ``o/down``, the embedding split over the vocabulary
  (RowwiseParallel), the LM head over the vocabulary (ColwiseParallel, logits left sharded)
  and the loss computed on the sharded logits (``loss_parallel``: no rank holds all the
  logits). Without sequence parallel the norms' weights are replicated DTensors; with it the
  norms run on the sequence shard (SequenceParallel) and the residual stream between the
  blocks is split over the sequence. LoRA: an adapter's A (column layers) or B (row layers)
  is replicated and the other split as its base layer, as Megatron / NeMo split them.
- **Data parallel** over the ``dp`` dimension: FSDP2 ``fully_shard`` of every decoder layer
  and of the root (``fsdp`` / ``zero3`` / ``hsdp``: resharded after forward; ``zero2``: kept
  unsharded between forward and backward); ``ddp`` (and ``zero1``) with ``dp > 1`` are not
  run here.
- **Pipeline parallel**: stage ``s`` of ``p`` on its own, a model holding only its layers
  (the first stage the embeddings, the last the final norm, the LM head and the loss), the
  stage's input a received activation tensor, its output's gradient a received tensor, run
  through the 1F1B schedule of ``m`` micro-batches by hand: ``min(p - s - 1, m)`` warm-up
  forwards, then one forward and one backward in turn, then the remaining backwards, so
  ``min(p - s, m)`` micro-batches' activations are held at once. torch.distributed.pipelining
  is not used: its stages exchange tensors by point-to-point sends between processes, which
  one process on a fake group cannot stand for; the hand-run schedule holds the same tensors
  (the stage's input and output of every micro-batch in flight) for the same time.

Not run here: context parallel (``cp > 1``), the interleaved schedule, ``ddp`` / ``zero1``
with ``dp > 1``; and whatever the single-card simulator does not run (MoE, bitsandbytes, ...).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.models.spec import ModelSpec
from gpuwise.probe.simulate import Simulated, unsupported_reason
from gpuwise.probe.step import require_torch, torch_dtype
from gpuwise.workload import Workload

#: Model families whose module names the tensor-parallel plan below knows.
TP_FAMILIES = ("llama", "qwen2", "qwen3", "mistral")
#: Data-parallel shardings run over the ``dp`` dimension of the mesh (FSDP2).
FSDP_SHARDINGS = ("fsdp", "zero3", "hsdp", "zero2")


@dataclass
class SimulatedClusterRank(Simulated):
    """What one rank of a layout held at its peak."""

    layout: str = ""
    stage: int = 0
    stages: int = 1
    #: the stage's decoder layers (first, last + 1)
    layers: tuple[int, int] = (0, 0)
    #: micro-batches whose forward had run and backward not yet, at the peak
    in_flight: int = 0
    #: bytes at the peak by detailed kind (``weights.unsharded``, ...)
    detail: dict[str, int] = field(default_factory=dict)
    #: the largest total reached in each phase (``forward``, ``backward``, ``optimizer``)
    phase_peaks: dict[str, int] = field(default_factory=dict)


def stage_layers(layers: int, stages: int, stage: int) -> tuple[int, int]:
    """The decoder layers ``[first, last)`` of pipeline ``stage``: an even split, the first
    ``layers % stages`` stages taking one more (torch.distributed.pipelining's and
    torchtitan's split when the layers do not divide)."""
    base, extra = divmod(layers, stages)
    first = stage * base + min(stage, extra)
    return first, first + base + (1 if stage < extra else 0)


def in_flight(stages: int, stage: int, micro_batches: int) -> int:
    """Micro-batches stage ``stage`` holds at once in 1F1B: ``min(p - s, m)``."""
    return min(stages - stage, micro_batches)


def unsupported_cluster_reason(spec: ModelSpec, w: Workload, layout: Any) -> Message | None:
    """Why this layout's rank cannot be simulated here, or None when it can."""
    if w.task != "train":
        return Message("probe.why.parallel_infer")
    if w.optimizer not in ("adamw", "sgd"):
        return Message("probe.why.parallel_optimizer", optimizer=w.optimizer)
    if layout.cp > 1:
        return Message("simcluster.why.cp")
    if layout.schedule != "1f1b" or layout.virtual_stages != 1:
        return Message("simcluster.why.interleaved")
    if layout.dp > 1 and layout.sharding not in FSDP_SHARDINGS:
        return Message("simcluster.why.sharding", sharding=layout.sharding)
    if layout.tp > 1 and spec.model_type not in TP_FAMILIES:
        return Message(
            "simcluster.why.tp_family", family=spec.model_type, known=", ".join(TP_FAMILIES)
        )
    if layout.tp > 1 and w.loss != "full":
        return Message("simcluster.why.tp_loss", loss=w.loss)
    if layout.pp > spec.num_layers:
        return Message("simcluster.why.pp_layers", pp=layout.pp, layers=spec.num_layers)
    return unsupported_reason(spec, w)


def simulate_cluster(
    config: dict[str, Any],
    spec: ModelSpec,
    w: Workload,
    layout: Any,
    *,
    stage: int = 0,
    steps: int = 2,
    real_tensors: bool = False,
) -> SimulatedClusterRank:
    """Rank 0 of the tensor- and data-parallel groups of pipeline ``stage``: ``steps``
    optimizer steps of ``layout.micro_batches`` micro-batches of ``w.batch`` x ``w.seq``.
    ``real_tensors``: on real CPU tensors instead (tiny models only: it checks that fake
    tensors change nothing)."""
    reason = unsupported_cluster_reason(spec, w, layout)
    if reason:
        raise GpuwiseError(Message("probe.error.cannot_simulate_job", reason=reason))
    if not 0 <= stage < layout.pp:
        raise GpuwiseError(Message("simcluster.error.stage", stage=stage, stages=layout.pp))
    require_torch("probe --simulate")
    started = time.perf_counter()
    import transformers

    # transformers' and peft's deprecation and config notes are no news to the user here
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return _simulate(config, spec, w, layout, stage, steps, real_tensors, started)
    finally:
        transformers.logging.set_verbosity(verbosity)


def _simulate(
    config: dict[str, Any],
    spec: ModelSpec,
    w: Workload,
    layout: Any,
    stage: int,
    steps: int,
    real_tensors: bool,
    started: float,
) -> SimulatedClusterRank:
    torch = require_torch("probe --simulate")
    import transformers
    from torch._subclasses.fake_tensor import FakeTensorMode

    from gpuwise.probe.simulate import _prepare_training, cuda_like_autocast
    from gpuwise.probe.simulate_parallel import _fake_process_group, _fsdp_tagging

    counter = _schedule_counter()
    first, last = stage_layers(spec.num_layers, layout.pp, stage)
    world = layout.dp * layout.tp
    with _fake_process_group(world):
        mesh = _mesh(layout)
        tensors = (
            contextlib.nullcontext() if real_tensors else FakeTensorMode(allow_non_fake_inputs=True)
        )
        with tensors:
            model = _build_stage(config, spec, w, layout.pp, stage, last - first)
            attn = str(getattr(model.config, "_attn_implementation", "unknown"))
            model, unwrapped_optimizer = _prepare_training(model, spec, w, counter)
            del unwrapped_optimizer  # rebuilt over the parallelized parameters
            fsdp = layout.dp > 1
            with counter, _fsdp_tagging(counter) if fsdp else contextlib.nullcontext():
                counter.kind = "weights"
                if layout.tp > 1:
                    _tensor_parallel(model, w, mesh["tp"], layout.sequence_parallel)
                if fsdp:
                    _fully_shard(model, spec, w, mesh["dp"], layout.sharding, last - first)
                for t in [*model.parameters(), *model.buffers()]:
                    counter.track(t, "weights")
                if not fsdp:
                    for q in model.parameters():
                        if q.requires_grad:
                            q.register_post_accumulate_grad_hook(
                                lambda param: counter.retag(param.grad, "gradients")
                            )
                optimizer = _optimizer(model, w)
                counter.restart()
                run = _Stage(model, spec, w, layout, stage, counter)
                with cuda_like_autocast(w), _loss_parallel(layout.tp > 1):
                    for _ in range(steps):
                        run.step(optimizer)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if w.is_lora:
        import peft

        versions["peft"] = peft.__version__
    notes: list[Text] = [
        Message(
            "simcluster.note.rank",
            tp=layout.tp,
            dp=layout.dp,
            stage=stage + 1,
            stages=layout.pp,
            first=first,
            last=last - 1,
        )
    ]
    return SimulatedClusterRank(
        peak_allocated_bytes=counter.peak,
        breakdown=counter.breakdown(),
        peak_phase=counter.peak_phase,
        attn_implementation=attn,
        seconds=time.perf_counter() - started,
        versions=versions,
        notes=notes,
        layout=_layout_text(layout),
        stage=stage,
        stages=layout.pp,
        layers=(first, last),
        in_flight=counter.peak_in_flight,
        detail=counter.detail(),
        phase_peaks=dict(counter.phase_peaks),
    )


def analytic_tensor_bytes(planned: Any, layout: Any) -> int:
    """What the cluster plan's figure (a ``GpuMemory``) says tensors hold, to set beside a
    simulated rank: its total less the CUDA context and allocator overhead and less NCCL's
    own buffers (``nccl_buffer_mib_per_communicator`` for each group of more than one rank),
    which no tensor holds; the pipeline's send / receive buffers stay in."""
    from gpuwise.cluster.memory import rules
    from gpuwise.units import MIB

    groups = sum(n > 1 for n in (layout.tp, layout.cp, layout.pp, layout.dp))
    nccl = groups * int(rules()["nccl_buffer_mib_per_communicator"]["value"]) * MIB
    return int(planned.total - planned.cuda_context - nccl)


def _layout_text(layout: Any) -> str:
    text = getattr(layout, "text", None)
    return str(text()) if callable(text) else repr(layout)


def _schedule_counter() -> Any:
    """RankBytes that also remembers the micro-batches in flight at the peak and each
    phase's largest total."""
    from gpuwise.probe.rank_bytes import RankBytes

    class ScheduleBytes(RankBytes):
        def __init__(self) -> None:
            super().__init__()
            self.in_flight = 0
            self.peak_in_flight = 0
            self.phase_peaks: dict[str, int] = {}

        def track(self, tensor: Any, kind: str | None = None) -> None:
            super().track(tensor, kind)
            self._phase_peak()

        def resized(self, tensor: Any) -> None:
            super().resized(tensor)
            self._phase_peak()

        def restart(self) -> None:
            """Forget the peak of the setup: the whole model is built on this rank before
            it is split (a real job builds each rank's share only); what is held now, the
            rank's share, is where the step starts."""
            self.peak = 0
            self._new_peak()
            self.phase_peaks = {self.phase: self.current}

        def _phase_peak(self) -> None:
            if self.current > self.phase_peaks.get(self.phase, -1):
                self.phase_peaks[self.phase] = self.current

        def _new_peak(self) -> None:
            super()._new_peak()
            self.peak_in_flight = self.in_flight

    return ScheduleBytes()


def _mesh(layout: Any) -> Any:
    """The fake 2-D device mesh ``(dp, tp)`` (built before fake mode: it reads rank tensors)."""
    from torch.distributed.device_mesh import init_device_mesh

    return init_device_mesh("cpu", (layout.dp, layout.tp), mesh_dim_names=("dp", "tp"))


@contextlib.contextmanager
def _loss_parallel(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    from torch.distributed.tensor.parallel import loss_parallel

    with loss_parallel():
        yield


# -- the stage's model -------------------------------------------------------------------------


def _build_stage(
    config: dict[str, Any], spec: ModelSpec, w: Workload, stages: int, stage: int, layers: int
) -> Any:
    """The model of pipeline ``stage`` on fake tensors: its ``layers`` decoder layers; the
    embeddings on the first stage only; the final norm, LM head (untied from the embeddings
    when they are on another stage) and loss on the last only."""
    import transformers

    from gpuwise.probe.step import hf_config

    if stages == 1:
        from gpuwise.probe.simulate import _build

        return _build(config, spec, torch_dtype(w.param_dtype))
    config = dict(config)
    config["num_hidden_layers"] = layers
    config["tie_word_embeddings"] = False  # the head is the last stage's own copy
    if isinstance(config.get("layer_types"), list):
        offset = stage_layers(spec.num_layers, stages, stage)[0]
        config["layer_types"] = config["layer_types"][offset : offset + layers]
    cfg = hf_config(config, spec, zero_attention_dropout=True)
    dtype = torch_dtype(w.param_dtype)
    if stage == stages - 1:
        model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=dtype)
        body = getattr(model, model.base_model_prefix)
    else:
        model = transformers.AutoModel.from_config(cfg, dtype=dtype)
        body = model
        import torch

        body.norm = torch.nn.Identity()
    if stage > 0:
        body.embed_tokens = None
    return model


class _Stage:
    """Runs one optimizer step of the stage through the 1F1B schedule."""

    def __init__(
        self, model: Any, spec: ModelSpec, w: Workload, layout: Any, stage: int, counter: Any
    ) -> None:
        self.model = model
        self.spec = spec
        self.w = w
        self.layout = layout
        self.stage = stage
        self.counter = counter
        self.first = stage == 0
        self.last = stage == layout.pp - 1
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        prefix = getattr(inner, "base_model_prefix", "model")
        self.body = getattr(inner, prefix) if self.last else inner
        self.compute = torch_dtype(w.compute_dtype)

    def step(self, optimizer: Any) -> None:
        import torch

        p, m = self.layout.pp, self.layout.micro_batches
        warmup = min(p - self.stage - 1, m)
        held: list[tuple[Any, Any]] = []
        counter = self.counter
        for _ in range(warmup):
            held.append(self._forward())
        for _ in range(m - warmup):
            held.append(self._forward())
            self._backward(*held.pop(0))
        while held:
            self._backward(*held.pop(0))
        counter.phase, counter.kind = "optimizer", "temporaries"
        optimizer.step()
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, torch.Tensor) and value.dim() > 0:
                    counter.retag(value, "optimizer")
        counter.phase = "zero_grad"
        optimizer.zero_grad(set_to_none=True)

    def _forward(self) -> tuple[Any, Any]:
        """One micro-batch's forward: (what backward starts from, the received input)."""
        import torch

        from gpuwise.probe.simulate import _autocast
        from gpuwise.probe.tricks import causal_lm_loss

        counter, w, spec = self.counter, self.w, self.spec
        counter.phase, counter.kind = "forward", "activations"
        counter.in_flight += 1
        ids = torch.randint(0, spec.vocab_size, (w.batch, w.seq))
        received = None
        with _autocast(w, self.compute):
            if self.first and self.last:
                out = causal_lm_loss(self.model, ids, w)
            elif self.first:
                out = self.body(input_ids=ids).last_hidden_state
            else:
                received, embeds = self._received()
                if self.last:
                    out = self.model(inputs_embeds=embeds, labels=ids).loss
                else:
                    out = self.body(inputs_embeds=embeds).last_hidden_state
        del ids
        return _local(out), received

    def _received(self) -> tuple[Any, Any]:
        """The activation tensor the previous stage sends (a leaf that will get a gradient),
        and what the model takes as input (a DTensor split over the sequence under sp)."""
        import torch

        w, h = self.w, self.spec.hidden_size
        seq = w.seq
        sp = self.layout.tp > 1 and self.layout.sequence_parallel
        if sp:
            seq //= self.layout.tp
        received = torch.empty(w.batch, seq, h, dtype=self.compute, requires_grad=True)
        if not sp:
            return received, received
        from torch.distributed.tensor import DTensor, Shard

        mesh = _tp_mesh_of(self.model)
        return received, DTensor.from_local(received, mesh, [Shard(1)], run_check=False)

    def _backward(self, out: Any, received: Any) -> None:
        import torch

        counter = self.counter
        counter.phase, counter.kind = "backward", "temporaries"
        if self.last:
            out.backward()
        else:
            out.backward(torch.empty_like(out))  # the gradient the next stage sends back
        del out
        if received is not None:
            received.grad = None  # sent to the previous stage
        counter.in_flight -= 1


def _local(t: Any) -> Any:
    to_local = getattr(t, "to_local", None)
    return to_local() if callable(to_local) else t


def _tp_mesh_of(model: Any) -> Any:
    for q in model.parameters():
        mesh = getattr(q, "device_mesh", None)
        if mesh is not None:
            return mesh
    raise GpuwiseError(Message("simcluster.error.no_mesh"))


# -- tensor parallel ---------------------------------------------------------------------------


def _tensor_parallel(model: Any, w: Workload, mesh: Any, sequence_parallel: bool) -> None:
    """Split the model's blocks, embeddings and head over ``mesh`` (see the module doc)."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        PrepareModuleInput,
        RowwiseParallel,
        SequenceParallel,
        parallelize_module,
    )

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = {name for name, _ in inner.named_modules()}
    lora = w.is_lora
    sp = sequence_parallel
    row_out: dict[str, Any] = {"output_layouts": Shard(1), "use_local_output": False} if sp else {}
    plan: dict[str, Any] = {}
    replicated: list[str] = []

    def column(name: str) -> None:
        if lora and f"{name}.base_layer" in names:
            plan[f"{name}.base_layer"] = ColwiseParallel()
            plan[f"{name}.lora_B.default"] = ColwiseParallel()
            replicated.append(f"{name}.lora_A.default")
        elif name in names:
            plan[name] = ColwiseParallel()

    def row(name: str) -> None:
        if lora and f"{name}.base_layer" in names:
            plan[f"{name}.base_layer"] = RowwiseParallel(**row_out)
            plan[f"{name}.lora_A.default"] = RowwiseParallel(**row_out)
            replicated.append(f"{name}.lora_B.default")
        elif name in names:
            plan[name] = RowwiseParallel(**row_out)

    layers = [n for n in names if _is_layer(n)]
    body = "model." if "model.layers" in {n.rsplit(".", 1)[0] for n in layers} else ""
    embed = f"{body}embed_tokens"
    final_norm = f"{body}norm"
    for layer in sorted(layers):
        for proj in ("q_proj", "k_proj", "v_proj"):
            column(f"{layer}.self_attn.{proj}")
        for proj in ("gate_proj", "up_proj"):
            column(f"{layer}.mlp.{proj}")
        row(f"{layer}.self_attn.o_proj")
        row(f"{layer}.mlp.down_proj")
        norms = [f"{layer}.input_layernorm", f"{layer}.post_attention_layernorm"]
        if sp:
            for norm in norms:
                plan[norm] = SequenceParallel()
            plan[f"{layer}.self_attn"] = PrepareModuleInput(
                input_kwarg_layouts={"hidden_states": Shard(1)},
                desired_input_kwarg_layouts={"hidden_states": Replicate()},
                use_local_output=True,
            )
            plan[f"{layer}.mlp"] = PrepareModuleInput(
                input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),)
            )
        else:
            replicated += norms
        replicated += [
            n for n in names if n.startswith(f"{layer}.self_attn.") and n.endswith("_norm")
        ]
    if embed in names and getattr(_module(inner, embed), "weight", None) is not None:
        plan[embed] = RowwiseParallel(input_layouts=Replicate(), **row_out)
    if "lm_head" in names:
        plan["lm_head"] = ColwiseParallel(
            input_layouts=Shard(1) if sp else Replicate(),
            output_layouts=Shard(-1),
            use_local_output=False,
        )
        norm = _module(inner, final_norm)
        if norm is not None and any(True for _ in norm.parameters()):
            if sp:
                plan[final_norm] = SequenceParallel()
            else:
                replicated.append(final_norm)
    elif sp and final_norm in names:
        pass  # an Identity on a stage before the last
    tied = (
        "lm_head" in names
        and embed in names
        and inner.lm_head.weight is getattr(_module(inner, embed), "weight", None)
    )
    parallelize_module(inner, mesh, plan)
    for name in replicated:
        if name in names:
            _replicate(_module(inner, name), mesh)
    if tied:  # both split over the vocabulary (dim 0): one tensor again, as before
        inner.lm_head.weight = _module(inner, embed).weight


def _is_layer(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and parts[-2] == "layers" and parts[-1].isdigit()


def _module(root: Any, name: str) -> Any:
    try:
        return root.get_submodule(name)
    except AttributeError:
        return None


def _replicate(module: Any, mesh: Any) -> None:
    """``module``'s parameters as replicated DTensors; a plain input is taken as replicated
    and a replicated output handed back as a plain tensor (norms, LoRA's unsplit halves)."""
    import torch
    from torch.distributed.tensor import DTensor, Replicate, distribute_module

    def inputs(mod: Any, args: Any, device_mesh: Any) -> Any:
        return tuple(
            DTensor.from_local(x, device_mesh, [Replicate()], run_check=False)
            if isinstance(x, torch.Tensor) and not isinstance(x, DTensor)
            else x
            for x in args
        )

    def outputs(mod: Any, out: Any, device_mesh: Any) -> Any:
        if isinstance(out, DTensor) and all(p.is_replicate() for p in out.placements):
            return out.to_local()
        return out

    distribute_module(module, mesh, None, inputs, outputs)


# -- data parallel -----------------------------------------------------------------------------


def _fully_shard(
    model: Any, spec: ModelSpec, w: Workload, mesh: Any, sharding: str, layers: int
) -> None:
    """FSDP2 over the data-parallel dimension: each decoder layer, then the root."""
    import torch
    from torch.distributed.fsdp import MixedPrecisionPolicy

    policy = (
        MixedPrecisionPolicy(param_dtype=torch_dtype(w.compute_dtype), reduce_dtype=torch.float32)
        if w.amp
        else MixedPrecisionPolicy()
    )
    reshard = sharding != "zero2"
    with _concatenate_outside_fake():
        _fully_shard_modules(model, mesh, reshard, policy, layers)


def _fully_shard_modules(model: Any, mesh: Any, reshard: bool, policy: Any, layers: int) -> None:
    import torch
    from torch.distributed.fsdp import fully_shard

    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == layers:
            for layer in module:
                fully_shard(layer, mesh=mesh, reshard_after_forward=reshard, mp_policy=policy)
            break
    fully_shard(model, mesh=mesh, reshard_after_forward=reshard, mp_policy=policy)


@contextlib.contextmanager
def _concatenate_outside_fake() -> Iterator[None]:
    """FSDP2 over a tensor-parallel DTensor joins the dp and tp meshes into one
    (``DeviceMesh._concatenate``), which looks this rank up in the mesh's rank tensor with
    ``nonzero``: a real tensor, so that lookup runs outside fake mode."""
    from torch._subclasses.fake_tensor import unset_fake_temporarily
    from torch.distributed.device_mesh import DeviceMesh

    original = DeviceMesh._concatenate

    def concatenate(meshes: Any) -> Any:
        with unset_fake_temporarily():
            return original(meshes)

    DeviceMesh._concatenate = staticmethod(concatenate)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        DeviceMesh._concatenate = staticmethod(original)  # type: ignore[method-assign]


def _optimizer(model: Any, w: Workload) -> Any:
    import torch

    params = [q for q in model.parameters() if q.requires_grad]
    if w.optimizer == "sgd":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=True)
    return torch.optim.AdamW(params, lr=1e-5, foreach=True)
