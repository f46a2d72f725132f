"""How a training step is spread over several cards of one machine: the strategy and its knobs.

A :class:`Parallel` names what the engines call it (PyTorch DDP, FSDP2, DeepSpeed ZeRO) so that a
plan, the per-rank memory model, the time model and the emitted launch files all mean the same.
``Workload.batch`` is the micro-batch of one card; the global batch is
``batch x gpus x grad_accum`` (for hybrid sharding the data-parallel width is still ``gpus``).
"""

from __future__ import annotations

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.record import record

#: strategy -> (engine, what it shards, what it offloads to host RAM, one-line description)
STRATEGIES: dict[str, dict[str, object]] = {
    "single": {"engine": "torch", "shards": (), "offloads": (), "what": "one card, no sharding"},
    "ddp": {
        "engine": "torch",
        "shards": (),
        "offloads": (),
        "what": "PyTorch DDP: a full replica per card, gradients all-reduced",
    },
    "fsdp": {
        "engine": "torch",
        "shards": ("weights", "gradients", "optimizer"),
        "offloads": (),
        "what": "PyTorch FSDP2 full shard: weights, gradients and optimizer states sharded",
    },
    "fsdp-hybrid": {
        "engine": "torch",
        "shards": ("weights", "gradients", "optimizer"),
        "offloads": (),
        "what": "PyTorch FSDP2 hybrid shard: sharded within groups of --shard-size cards, "
        "replicated across groups",
    },
    "fsdp-offload": {
        "engine": "torch",
        "shards": ("weights", "gradients", "optimizer"),
        "offloads": ("weights", "gradients", "optimizer"),
        "what": "PyTorch FSDP2 with CPUOffloadPolicy: sharded weights, gradients and optimizer "
        "states live in host RAM; the optimizer steps on the CPU",
    },
    "zero1": {
        "engine": "deepspeed",
        "shards": ("optimizer",),
        "offloads": (),
        "what": "DeepSpeed ZeRO-1: optimizer states (and fp32 master weights) sharded",
    },
    "zero2": {
        "engine": "deepspeed",
        "shards": ("gradients", "optimizer"),
        "offloads": (),
        "what": "DeepSpeed ZeRO-2: gradients and optimizer states sharded",
    },
    "zero2-offload": {
        "engine": "deepspeed",
        "shards": ("gradients", "optimizer"),
        "offloads": ("optimizer",),
        "what": "DeepSpeed ZeRO-2 with optimizer offload: states in host RAM, CPU Adam",
    },
    "zero3": {
        "engine": "deepspeed",
        "shards": ("weights", "gradients", "optimizer"),
        "offloads": (),
        "what": "DeepSpeed ZeRO-3: weights, gradients and optimizer states sharded",
    },
    "zero3-offload": {
        "engine": "deepspeed",
        "shards": ("weights", "gradients", "optimizer"),
        "offloads": ("weights", "optimizer"),
        "what": "DeepSpeed ZeRO-3 with optimizer and parameter offload: both in host RAM",
    },
}

#: Cards one machine holds; gpuwise plans one machine (multi-node is not modelled).
MAX_GPUS = 8

#: Strategies that make sense on a single card (offload to host RAM).
ONE_CARD_OK = ("single", "fsdp-offload", "zero2-offload", "zero3-offload")


@record
class Parallel:
    """A strategy over ``gpus`` identical cards of one machine.

    ``shard_size``: cards per shard group for ``fsdp-hybrid`` (weights are sharded within a
    group and replicated across groups). ``grad_accum``: micro-batches per optimizer step.
    """

    strategy: str = "single"
    gpus: int = 1
    shard_size: int | None = None
    grad_accum: int = 1

    @property
    def engine(self) -> str:
        return str(STRATEGIES[self.strategy]["engine"])

    @property
    def description(self) -> str:
        return str(STRATEGIES[self.strategy]["what"])

    def shards(self, kind: str) -> bool:
        """Whether ``kind`` (weights, gradients, optimizer) is split across the shard group."""
        return kind in STRATEGIES[self.strategy]["shards"]  # type: ignore[operator]

    def offloads(self, kind: str) -> bool:
        """Whether ``kind`` lives in host RAM between uses."""
        return kind in STRATEGIES[self.strategy]["offloads"]  # type: ignore[operator]

    @property
    def shard_group(self) -> int:
        """Cards one copy of the sharded state is split over."""
        if self.strategy == "fsdp-hybrid":
            return self.shard_size or self.gpus
        return self.gpus

    @property
    def zero_stage(self) -> int | None:
        """DeepSpeed's ZeRO stage, None for the PyTorch strategies."""
        if self.engine != "deepspeed":
            return None
        return int(self.strategy[4])

    @property
    def global_batch_factor(self) -> int:
        """Sequences per optimizer step = micro-batch x this."""
        return self.gpus * self.grad_accum


def parallel_problem(p: Parallel) -> Message | None:
    """Why ``p`` is not a strategy gpuwise can plan (one line for the user), or None."""
    if p.strategy not in STRATEGIES:
        return Message(
            "parallel.unknown_strategy", strategy=repr(p.strategy), known=", ".join(STRATEGIES)
        )
    if not 1 <= p.gpus <= MAX_GPUS:
        return Message("parallel.gpus_range", most=MAX_GPUS, gpus=p.gpus)
    if p.gpus == 1 and p.strategy not in ONE_CARD_OK:
        return Message(
            "parallel.needs_two", strategy=p.strategy, one_card=", ".join(ONE_CARD_OK[1:])
        )
    if p.gpus > 1 and p.strategy == "single":
        return Message(
            "parallel.needs_strategy",
            gpus=p.gpus,
            strategies=", ".join(s for s in STRATEGIES if s != "single"),
        )
    if not 1 <= p.grad_accum <= 1 << 16:
        return Message("parallel.accum_range", accum=p.grad_accum)
    if p.strategy == "fsdp-hybrid":
        if p.gpus < 4:
            return Message("parallel.hybrid_gpus", gpus=p.gpus)
        k = p.shard_size
        if k is None or not 2 <= k < p.gpus or p.gpus % k:
            return Message("parallel.hybrid_shard", gpus=p.gpus, most=p.gpus // 2, size=k)
    elif p.shard_size is not None:
        return Message("parallel.shard_size_hybrid_only")
    return None


def validate_parallel(p: Parallel) -> Parallel:
    """``p`` if it is a strategy gpuwise can plan; a one-line GpuwiseError otherwise."""
    why = parallel_problem(p)
    if why is not None:
        raise GpuwiseError(why)
    return p
