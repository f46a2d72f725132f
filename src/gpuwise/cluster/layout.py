"""How a training job is laid out on a cluster: tensor, pipeline, context and data parallel sizes.

``--layout`` text: comma-separated items, each ``name=value`` or the flag ``sp``::

    tp=8,pp=2,cp=1,shard=fsdp,sp,schedule=interleaved,v=2,mb=16

``tp``, ``pp``, ``cp`` default to 1 and ``dp`` to what fills the cluster (world / (tp*pp*cp));
``shard`` (or ``sharding``) is one of :data:`SHARDINGS`, ``schedule`` one of :data:`SCHEDULES`,
``v`` (``virtual_stages``) the model chunks per pipeline rank (interleaved only; giving it
implies ``schedule=interleaved``), ``mb`` (``micro_batches``) the micro-batches per optimizer
step per replica. ``auto`` asks for the search (:func:`parse_layout` gives None).

:func:`layout_problem` says, as one line, why a layout cannot run a model on a cluster.
"""

from __future__ import annotations

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster
    from gpuwise.models.spec import ModelSpec
    from gpuwise.workload import Workload

SHARDINGS = ("ddp", "fsdp", "hsdp", "zero1", "zero2", "zero3")
SCHEDULES = ("1f1b", "interleaved")
#: Largest tp, pp, cp, dp or v a layout may name; largest micro-batch count.
MAX_SIZE = 1024
MAX_MICRO_BATCHES = 65536
#: What each name of the text means.
_ALIASES = {
    "tp": "tp",
    "pp": "pp",
    "cp": "cp",
    "dp": "dp",
    "shard": "sharding",
    "sharding": "sharding",
    "schedule": "schedule",
    "v": "virtual_stages",
    "virtual_stages": "virtual_stages",
    "mb": "micro_batches",
    "micro_batches": "micro_batches",
    "sp": "sequence_parallel",
    "sequence_parallel": "sequence_parallel",
}
_ACCEPTED = (
    "tp=N, pp=N, cp=N, dp=N, shard=ddp|fsdp|hsdp|zero1|zero2|zero3, sp, "
    "schedule=1f1b|interleaved, v=N, mb=N"
)


@record
class Layout:
    """One way to lay a training job out: the parallel sizes and how the replicas shard."""

    tp: int = 1  # tensor parallel (Megatron column/row split), inside a node
    pp: int = 1  # pipeline stages
    cp: int = 1  # context parallel (ring attention over the sequence)
    dp: int = 1  # data-parallel replicas; world = tp * pp * cp * dp
    sharding: str = "ddp"  # over the data-parallel group; hsdp: shard in a node, replicate across
    sequence_parallel: bool = False  # Megatron sequence parallel (needs tp > 1)
    schedule: str = "1f1b"
    virtual_stages: int = 1  # model chunks per pipeline rank (interleaved only)
    micro_batches: int = 1  # micro-batches per optimizer step per replica (the pipeline's m)

    @property
    def world(self) -> int:
        """GPUs the layout uses."""
        return self.tp * self.pp * self.cp * self.dp

    def text(self) -> str:
        """The ``--layout`` text that gives this layout back."""
        parts = [f"tp={self.tp}", f"pp={self.pp}", f"cp={self.cp}", f"dp={self.dp}"]
        parts.append(f"shard={self.sharding}")
        if self.sequence_parallel:
            parts.append("sp")
        if self.virtual_stages != 1:
            parts.append(f"v={self.virtual_stages}")  # v implies the interleaved schedule
        elif self.schedule != "1f1b":
            parts.append(f"schedule={self.schedule}")
        parts.append(f"mb={self.micro_batches}")
        return ",".join(parts)


def _bad(problem: Message) -> GpuwiseError:
    return GpuwiseError(Message("cluster.layout.bad", problem=problem, accepted=_ACCEPTED))


def _shown(text: str, limit: int = 30) -> str:
    import json

    shown = text if text.isprintable() else json.dumps(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def parse_layout(text: str, world: int) -> Layout | None:
    """The layout ``text`` names on ``world`` GPUs; None for ``auto``. One line when it is bad."""
    if not isinstance(text, str):
        raise _bad(Message("cluster.layout.empty"))
    stripped = text.strip()
    if stripped.lower() == "auto":
        return None
    if not stripped:
        raise _bad(Message("cluster.layout.empty"))
    given: dict[str, object] = {}
    for item in stripped.split(","):
        item = item.strip()
        if not item:
            raise _bad(Message("cluster.layout.empty_item"))
        name, eq, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        field = _ALIASES.get(name)
        if field is None:
            raise _bad(Message("cluster.layout.unknown_name", name=_shown(name)))
        if field in given:
            raise _bad(Message("cluster.layout.twice", name=_shown(name)))
        if field == "sequence_parallel":
            if eq:
                raise _bad(Message("cluster.layout.flag_value", name=_shown(name)))
            given[field] = True
            continue
        if not eq or not value:
            raise _bad(Message("cluster.layout.no_value", name=_shown(name)))
        if field == "sharding":
            if value.lower() not in SHARDINGS:
                raise _bad(
                    Message(
                        "cluster.layout.bad_choice",
                        name=name,
                        got=_shown(value),
                        known=", ".join(SHARDINGS),
                    )
                )
            given[field] = value.lower()
        elif field == "schedule":
            if value.lower() not in SCHEDULES:
                raise _bad(
                    Message(
                        "cluster.layout.bad_choice",
                        name=name,
                        got=_shown(value),
                        known=", ".join(SCHEDULES),
                    )
                )
            given[field] = value.lower()
        else:
            most = MAX_MICRO_BATCHES if field == "micro_batches" else MAX_SIZE
            # ASCII digits only: int() takes '١' and '²'-like digits and underscores
            if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= most:
                raise _bad(
                    Message("cluster.layout.bad_size", name=name, got=_shown(value), most=most)
                )
            given[field] = int(value)
    if given.get("virtual_stages", 1) != 1 and "schedule" not in given:
        given["schedule"] = "interleaved"
    tp, pp, cp = (int(given.get(k, 1)) for k in ("tp", "pp", "cp"))  # type: ignore[call-overload]
    if "dp" not in given:
        if world % (tp * pp * cp):
            raise GpuwiseError(
                Message(
                    "cluster.layout.no_dp", tp=tp, pp=pp, cp=cp, product=tp * pp * cp, world=world
                )
            )
        given["dp"] = max(1, world // (tp * pp * cp))
    return Layout(**given)  # type: ignore[arg-type]


def _divides(part: int, whole: int) -> bool:
    return whole % part == 0


def layout_problem(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout
) -> Message | None:
    """Why ``layout`` cannot train ``spec`` on ``cluster`` (one line), or None when it can."""
    tp, pp, cp, dp = layout.tp, layout.pp, layout.cp, layout.dp
    if layout.world != cluster.world:
        return Message(
            "cluster.layout.world",
            tp=tp,
            pp=pp,
            cp=cp,
            dp=dp,
            product=layout.world,
            world=cluster.world,
            nodes=cluster.nodes,
            gpus=cluster.gpus_per_node,
        )
    if not _divides(tp, cluster.gpus_per_node):
        return Message("cluster.layout.tp_node", tp=tp, gpus=cluster.gpus_per_node)
    heads, kv = spec.num_attention_heads, spec.num_kv_heads
    if not _divides(tp, heads):
        return Message("cluster.layout.tp_heads", tp=tp, count=heads)
    if not _divides(tp, kv):
        return Message("cluster.layout.tp_kv_heads", tp=tp, count=kv)
    if not _divides(tp, spec.intermediate_size):
        return Message("cluster.layout.tp_ffn", tp=tp, width=spec.intermediate_size)
    if pp > spec.num_layers:
        return Message("cluster.layout.pp_layers", pp=pp, layers=spec.num_layers)
    if layout.schedule == "interleaved":
        if pp < 2:
            return Message("cluster.layout.interleaved_pp")
        if layout.virtual_stages < 2:
            return Message("cluster.layout.interleaved_v")
        if not _divides(pp * layout.virtual_stages, spec.num_layers):
            return Message(
                "cluster.layout.interleaved_layers",
                pp=pp,
                v=layout.virtual_stages,
                chunks=pp * layout.virtual_stages,
                layers=spec.num_layers,
            )
        if not _divides(pp, layout.micro_batches):
            return Message("cluster.layout.interleaved_mb", mb=layout.micro_batches, pp=pp)
    elif layout.virtual_stages != 1:
        return Message("cluster.layout.v_needs_interleaved", v=layout.virtual_stages)
    if cp > 1 and not _divides(2 * cp, w.seq):
        return Message("cluster.layout.cp_seq", cp=cp, seq=w.seq, unit=2 * cp)
    if layout.sequence_parallel and tp < 2:
        return Message("cluster.layout.sp_tp")
    if layout.sharding in ("zero2", "zero3") and pp > 1:
        return Message("cluster.layout.zero_pp", sharding=layout.sharding)
    if layout.sharding == "hsdp" and cluster.nodes < 2:
        return Message("cluster.layout.hsdp_nodes")
    if w.task != "train":
        return Message("cluster.layout.train_only")
    if w.method == "qlora" and (tp > 1 or pp > 1 or cp > 1):
        return Message("cluster.layout.qlora_model_parallel")
    if layout.sharding.startswith("zero"):
        from gpuwise.memory.rank import ZERO_OPTIMIZERS

        if w.method == "qlora":
            return Message("cluster.layout.qlora_zero", sharding=layout.sharding)
        if w.optimizer not in ZERO_OPTIMIZERS:
            return Message(
                "cluster.layout.zero_optimizer",
                sharding=layout.sharding,
                optimizer=w.optimizer,
                usable=", ".join(ZERO_OPTIMIZERS),
            )
    return None


__all__ = ["SCHEDULES", "SHARDINGS", "Layout", "layout_problem", "parse_layout"]
