"""LiveBytes for one rank of a sharded job: DTensors, resized storages and finer kinds.

Three things the single-card counter does not meet:

- FSDP2's parameters, gradients and optimizer states are ``DTensor``s. A DTensor reports the
  storage of the *global* tensor, and the ops on its local shard run below the counter (a
  dispatch mode sees the DTensor op, not the local ops under it). The counter counts a
  DTensor's local tensor instead, which is the memory the rank holds.
- FSDP2 frees and re-allocates the unsharded parameters by resizing their storages
  (``storage.resize_(0)`` / ``resize_(n)``), which no op reports; :meth:`RankBytes.resized`
  is called around FSDP2's ``free_storage`` / ``alloc_storage``.
- Kinds get a detail after a dot (``weights.unsharded``, ``temporaries.reduce_scatter``, ...)
  so that what FSDP and DDP keep can be read apart; :meth:`RankBytes.breakdown` folds them
  into the plan's kinds.
"""

from __future__ import annotations

from typing import Any

import torch

from gpuwise.probe.live_bytes import KINDS, LiveBytes

#: The detailed kinds (folded into KINDS by the part before the dot).
DETAIL_KINDS = (
    *KINDS,
    "weights.unsharded",  # FSDP: all-gathered (unsharded) parameters, in param_dtype
    "gradients.unsharded",  # FSDP: a layer's full gradients, before its reduce-scatter
    "gradients.bucket",  # DDP: the reducer's bucket buffers
    "temporaries.all_gather",  # FSDP: the flat all-gather buffer of a layer
    "temporaries.reduce_scatter",  # FSDP: the flat reduce-scatter input (reduce_dtype)
)


def local(tensor: Any) -> Any:
    """The tensor whose storage the rank holds: a DTensor's local shard, else itself."""
    inner = getattr(tensor, "_local_tensor", None)
    return tensor if inner is None else inner


class RankBytes(LiveBytes):
    """Live bytes of one rank, by detailed kind."""

    def __init__(self) -> None:
        super().__init__()
        self.totals = dict.fromkeys(DETAIL_KINDS, 0)
        self.peak_totals = dict(self.totals)

    def track(self, tensor: torch.Tensor, kind: str | None = None) -> None:
        super().track(local(tensor), kind)

    def retag(self, tensor: torch.Tensor | None, kind: str) -> None:
        super().retag(None if tensor is None else local(tensor), kind)

    def key(self, tensor: torch.Tensor) -> int:
        return super().key(local(tensor))

    def resized(self, tensor: torch.Tensor) -> None:
        """``tensor``'s storage changed size in place (FSDP2's free / alloc of a parameter)."""
        storage = local(tensor).untyped_storage()
        entry = self.live.get(storage._cdata)
        if entry is None:
            if storage.nbytes():
                self.track(tensor)
            return
        delta = storage.nbytes() - entry[0]
        entry[0] += delta
        self.totals[entry[1]] += delta
        self.current += delta
        if self.current >= self.peak:
            self._new_peak()

    def breakdown(self) -> dict[str, int]:
        """The peak's bytes by the plan's kinds (details folded in)."""
        folded = dict.fromkeys(KINDS, 0)
        for kind, nbytes in self.peak_totals.items():
            folded[kind.split(".")[0]] += nbytes
        return folded

    def detail(self) -> dict[str, int]:
        """The peak's bytes by detailed kind (zeros left out)."""
        return {k: v for k, v in self.peak_totals.items() if v}
