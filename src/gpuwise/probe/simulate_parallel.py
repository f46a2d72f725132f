"""``probe --simulate --strategy ddp|fsdp|fsdp-hybrid``: rank 0 of an N-card job, on the CPU.

One process stands for rank 0. torch's fake process group (``backend="fake"``) answers every
collective at once with outputs of the right shape and no communication, so the rank runs the
same Python code, holds the same tensors for the same time and frees them at the same moments
as a real rank of an N-card job; on fake tensors (``FakeTensorMode``, as the single-card
simulator) no memory is used and a 1B model's two steps take seconds. FSDP2 and DDP keep
their buffers alive by Python references rather than by the CUDA caching allocator's stream
records, so the live bytes counted here are what ``torch.cuda.max_memory_allocated`` reports
on a real rank (the allocator's reserve and the NCCL buffers are outside, as on one card).

The wrapping is the one accelerate and torchtitan apply to transformer models:

- ``fsdp``: FSDP2 ``fully_shard`` on every decoder layer, then on the whole model (the root:
  embeddings, final norm, LM head), ``reshard_after_forward=True``. ``amp-*``: the model in
  fp32 with ``MixedPrecisionPolicy(param_dtype=bf16/fp16, reduce_dtype=fp32)`` and the forward
  still under autocast (as accelerate runs it); ``bf16`` / ``fp16``: the model built in that
  dtype, no policy (gradients reduced in that dtype).
- ``fsdp-hybrid``: the same on a 2-D mesh (replicate across groups, shard within
  ``--shard-size`` cards).
- ``ddp``: ``DistributedDataParallel`` with its default buckets (25 MiB, first bucket 1 MiB),
  ``gradient_as_bucket_view=False`` unless asked.

The optimizer is built after wrapping, over the (sharded) trainable parameters, with the
single-card simulator's settings (AdamW ``foreach``). The step is the reference step, twice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.probe.simulate import Simulated, unsupported_reason
from gpuwise.probe.step import require_torch, torch_dtype
from gpuwise.workload import Workload

#: Strategies this simulator runs (DeepSpeed needs CUDA; offload moves memory to the host).
SIMULATED_STRATEGIES = ("ddp", "fsdp", "fsdp-hybrid")


@dataclass
class SimulatedRank(Simulated):
    """What one rank of the job held at its peak."""

    strategy: str = "ddp"
    gpus: int = 2
    shard_size: int | None = None
    #: bytes at the peak by detailed kind (``weights.unsharded``, ``gradients.bucket``, ...)
    detail: dict[str, int] = field(default_factory=dict)


def unsupported_parallel_reason(spec: ModelSpec, w: Workload, p: Parallel) -> Message | None:
    """Why this job's rank cannot be simulated here, or None when it can."""
    if p.engine == "deepspeed":
        return Message("probe.why.deepspeed")
    if p.strategy not in SIMULATED_STRATEGIES:
        return Message("probe.why.strategy", strategy=p.strategy)
    if w.task != "train":
        return Message("probe.why.parallel_infer")
    if w.optimizer not in ("adamw", "sgd"):
        return Message("probe.why.parallel_optimizer", optimizer=w.optimizer)
    return unsupported_reason(spec, w)


def simulate_parallel(
    config: dict[str, Any],
    spec: ModelSpec,
    w: Workload,
    p: Parallel,
    *,
    steps: int = 2,
    bucket_view: bool = False,
    real_tensors: bool = False,
) -> SimulatedRank:
    """Run ``steps`` reference steps of rank 0 of ``p`` on fake tensors; return its peak.

    ``bucket_view``: DDP's ``gradient_as_bucket_view``. ``real_tensors``: run on real CPU
    tensors instead (tiny models only: it checks that fake tensors change nothing).
    """
    reason = unsupported_parallel_reason(spec, w, p)
    if reason:
        raise GpuwiseError(Message("probe.error.cannot_simulate_job", reason=reason))
    torch = require_torch("probe --simulate")
    import transformers
    from torch._subclasses.fake_tensor import FakeTensorMode

    from gpuwise.probe.rank_bytes import RankBytes
    from gpuwise.probe.simulate import _build, _prepare_training, cuda_like_autocast

    started = time.perf_counter()
    counter = RankBytes()
    with _fake_process_group(p.gpus):
        mesh = _mesh(p)  # a device mesh reads rank tensors: built before fake mode
        tensors = (
            contextlib.nullcontext() if real_tensors else FakeTensorMode(allow_non_fake_inputs=True)
        )
        with tensors:
            model = _build(config, spec, torch_dtype(w.param_dtype))
            attn = str(getattr(model.config, "_attn_implementation", "unknown"))
            model, unwrapped_optimizer = _prepare_training(model, spec, w, counter)
            del unwrapped_optimizer  # rebuilt over the wrapped parameters; it holds the old ones
            with counter, _fsdp_tagging(counter):
                counter.kind = "weights"
                if p.strategy == "ddp":
                    model = _wrap_ddp(model, counter, bucket_view, p.gpus)
                else:
                    _wrap_fsdp(model, spec, w, mesh, torch_dtype(w.compute_dtype))
                for t in [*model.parameters(), *model.buffers()]:
                    counter.track(t, "weights")
                optimizer = _optimizer(model, w)
                with cuda_like_autocast(w):
                    _steps(
                        model, optimizer, spec, w, counter, torch_dtype(w.compute_dtype), steps, p
                    )
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if w.is_lora:
        import peft

        versions["peft"] = peft.__version__
    notes: list[Text] = [
        Message("probe.note.rank_real" if real_tensors else "probe.note.rank_fake", gpus=p.gpus)
    ]
    if p.strategy == "ddp":
        notes.append(f"DDP gradient_as_bucket_view={bucket_view}")
    return SimulatedRank(
        peak_allocated_bytes=counter.peak,
        breakdown=counter.breakdown(),
        peak_phase=counter.peak_phase,
        attn_implementation=attn,
        seconds=time.perf_counter() - started,
        versions=versions,
        notes=notes,
        strategy=p.strategy,
        gpus=p.gpus,
        shard_size=p.shard_group if p.strategy == "fsdp-hybrid" else None,
        detail=counter.detail(),
    )


@contextlib.contextmanager
def _fake_process_group(world_size: int) -> Iterator[None]:
    """A fake process group of ``world_size`` ranks in which this process is rank 0."""
    import torch.distributed as dist
    from torch.testing._internal.distributed.fake_pg import FakeStore  # registers "fake"

    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _wrap_ddp(model: Any, counter: Any, bucket_view: bool, world_size: int) -> Any:
    """DDP with its default buckets; two stand-ins that change no memory:

    - the check that every rank has the same parameter shapes reads tensor data (fake
      tensors have none; one process has nothing to compare), so it is skipped, and so is
      the initial broadcast of the weights (``init_sync=False``);
    - the fake process group's all-reduce returns no tensor, which DDP's built-in hook
      requires, so a hook does what the built-in one does: divide the bucket in place and
      hand it back as the all-reduced result.
    """
    import torch
    from torch.nn.parallel import distributed

    def allreduce(state: Any, bucket: Any) -> Any:
        buffer = bucket.buffer()
        buffer.div_(world_size)
        done: Any = torch.futures.Future()
        done.set_result(buffer)
        return done

    allreduce.__annotations__.clear()  # DDP checks them against the real, not string, types
    verify = distributed._verify_param_shape_across_processes
    distributed._verify_param_shape_across_processes = lambda *args, **kwargs: None
    counter.kind = "gradients.bucket"  # the reducer allocates its buckets now
    try:
        wrapped = distributed.DistributedDataParallel(
            model, gradient_as_bucket_view=bucket_view, init_sync=False
        )
    finally:
        distributed._verify_param_shape_across_processes = verify
        counter.kind = "weights"
    wrapped.register_comm_hook(None, allreduce)
    wrapped.reducer = _NoRebuild(wrapped.reducer)
    return wrapped


class _NoRebuild:
    """DDP's reducer, without the rebuild of its buckets before the second forward.

    The rebuild regroups the parameters in the order their gradients arrived, after syncing
    the order across ranks by reading a tensor's data (fake tensors have none). The buckets
    hold every trainable parameter's gradient either way, so their total does not change.
    """

    def __init__(self, reducer: Any) -> None:
        self._reducer = reducer

    def _rebuild_buckets(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reducer, name)


def _mesh(p: Parallel) -> Any:
    """The CPU device mesh of ``p`` (None for DDP): 1-D, or (replicate, shard) for hybrid."""
    from torch.distributed.device_mesh import init_device_mesh

    if p.strategy == "ddp":
        return None
    if p.strategy == "fsdp-hybrid":
        k = p.shard_group
        return init_device_mesh("cpu", (p.gpus // k, k), mesh_dim_names=("replicate", "shard"))
    return init_device_mesh("cpu", (p.gpus,))


def _wrap_fsdp(model: Any, spec: ModelSpec, w: Workload, mesh: Any, compute: Any) -> None:
    import torch
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = (
        MixedPrecisionPolicy(param_dtype=compute, reduce_dtype=torch.float32)
        if w.amp
        else MixedPrecisionPolicy()
    )
    for layer in decoder_layers(model, spec):
        fully_shard(layer, mesh=mesh, reshard_after_forward=True, mp_policy=policy)
    fully_shard(model, mesh=mesh, reshard_after_forward=True, mp_policy=policy)


def decoder_layers(model: Any, spec: ModelSpec) -> list[Any]:
    """The model's stack of ``num_layers`` blocks (``model.model.layers``, ``transformer.h``)."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == spec.num_layers:
            return list(module)
    raise GpuwiseError(Message("probe.error.no_layers", layers=spec.num_layers, name=spec.name))


def _optimizer(model: Any, w: Workload) -> Any:
    import torch

    params = [q for q in model.parameters() if q.requires_grad]
    if w.optimizer == "sgd":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=True)
    return torch.optim.AdamW(params, lr=1e-5, foreach=True)


def _steps(
    model: Any,
    optimizer: Any,
    spec: ModelSpec,
    w: Workload,
    counter: Any,
    compute: Any,
    steps: int,
    p: Parallel,
) -> None:
    """The reference step on rank 0; FSDP's sharded gradients are tagged by _fsdp_tagging."""
    from gpuwise.probe.simulate import _train_steps

    _train_steps(
        model,
        optimizer,
        spec,
        w,
        counter,
        compute,
        steps,
        tag_gradients=p.strategy == "ddp",
        tag_scalar_states=False,
    )


@contextlib.contextmanager
def _fsdp_tagging(counter: Any) -> Iterator[None]:
    """Tell the counter what FSDP2 is doing: storage resizes and the kind of its buffers.

    - ``FSDPParamGroup.unshard`` allocates the flat all-gather buffer (``temporaries.all_gather``);
    - ``wait_for_unshard`` copies it out into per-parameter buffers, the unsharded parameters
      (``weights.unsharded``), which resharding frees by resizing their storage to 0;
    - autograd accumulates a layer's full gradient into the unsharded parameter
      (``gradients.unsharded``); ``post_backward`` copies them into the flat reduce-scatter
      input (``temporaries.reduce_scatter``) and keeps the output shard as the gradient
      (``gradients``).
    """
    from torch.distributed.fsdp._fully_shard import _fsdp_param, _fsdp_param_group

    group = _fsdp_param_group.FSDPParamGroup
    param = _fsdp_param.FSDPParam
    hooked: set[int] = set()

    def resizing(original: Callable[[Any], None]) -> Callable[[Any], None]:
        def wrapper(tensor: Any) -> None:
            original(tensor)
            counter.resized(tensor)

        return wrapper

    def as_kind(original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            before, counter.kind = counter.kind, kind
            try:
                return original(self, *args, **kwargs)
            finally:
                counter.kind = before

        return wrapper

    def init_unsharded(self: Any) -> None:
        original_init_unsharded(self)
        unsharded = getattr(self, "_unsharded_param", None)
        if unsharded is not None and unsharded.requires_grad and id(unsharded) not in hooked:
            hooked.add(id(unsharded))
            unsharded.register_post_accumulate_grad_hook(
                lambda q: counter.retag(q.grad, "gradients.unsharded")
            )

    def post_backward(self: Any, *args: Any, **kwargs: Any) -> Any:
        before, counter.kind = counter.kind, "temporaries.reduce_scatter"
        try:
            return original_post_backward(self, *args, **kwargs)
        finally:
            counter.kind = before
            for fsdp_param in self.fsdp_params:
                counter.retag(fsdp_param.sharded_param.grad, "gradients")

    saved = {
        (_fsdp_param, "alloc_storage"): _fsdp_param.alloc_storage,
        (_fsdp_param, "free_storage"): _fsdp_param.free_storage,
        (_fsdp_param_group, "alloc_storage"): _fsdp_param_group.alloc_storage,
        (group, "unshard"): group.unshard,
        (group, "wait_for_unshard"): group.wait_for_unshard,
        (group, "post_backward"): group.post_backward,
        (param, "init_unsharded_param"): param.init_unsharded_param,
    }
    original_init_unsharded = param.init_unsharded_param
    original_post_backward = group.post_backward
    _fsdp_param.alloc_storage = resizing(_fsdp_param.alloc_storage)  # type: ignore[assignment]
    _fsdp_param.free_storage = resizing(_fsdp_param.free_storage)  # type: ignore[assignment]
    _fsdp_param_group.alloc_storage = _fsdp_param.alloc_storage
    group.unshard = as_kind(group.unshard, "temporaries.all_gather")  # type: ignore[method-assign]
    group.wait_for_unshard = as_kind(  # type: ignore[method-assign]
        group.wait_for_unshard, "weights.unsharded"
    )
    group.post_backward = post_backward  # type: ignore[method-assign]
    param.init_unsharded_param = init_unsharded  # type: ignore[method-assign]
    try:
        yield
    finally:
        for (owner, name), value in saved.items():
            setattr(owner, name, value)
