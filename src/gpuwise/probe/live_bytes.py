"""A counter of live tensor-storage bytes, by kind, with the peak and what was live at it.

Every op that returns a tensor on a storage the counter has not seen adds that storage's bytes
under the current kind (the phase of the step sets it); a weak reference on the storage takes
them off again when the last tensor using it dies. This is what
``torch.distributed._tools.mem_tracker.MemTracker`` counts, without revisiting every module on
every op, so an 8B model's step costs seconds, not tens of minutes. Run it inside a
``FakeTensorMode``: shapes and dtypes are real, no memory is allocated.

Kinds (the plan's breakdown): ``weights`` (parameters and buffers), ``gradients`` (parameter
``.grad``), ``optimizer`` (optimizer states), ``activations`` (created in the forward pass and
kept for backward), ``kv_cache`` and ``temporaries`` (created in backward or in the optimizer
step and not kept).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

KINDS = ("weights", "gradients", "optimizer", "activations", "kv_cache", "temporaries")


class LiveBytes(TorchDispatchMode):
    """Counts live storage bytes per kind; remembers the largest total and its breakdown."""

    def __init__(self, keep_peak_keys: bool = False) -> None:
        super().__init__()
        self.kind = "activations"
        self.phase = "setup"
        self.live: dict[int, list[Any]] = {}  # storage key -> [nbytes, kind]
        self.totals = dict.fromkeys(KINDS, 0)
        self.current = 0
        self.peak = 0
        self.peak_totals = dict(self.totals)
        self.peak_phase = "setup"
        self.keep_peak_keys = keep_peak_keys
        self.peak_keys: frozenset[int] = frozenset()
        self.counting = True  # False while host copies are made (offloaded activations)

    # -- bookkeeping ---------------------------------------------------------------------
    def track(self, tensor: torch.Tensor, kind: str | None = None) -> None:
        """Count ``tensor``'s storage (once) under ``kind`` (default: the current kind)."""
        if not self.counting:
            return
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key in self.live:
            return
        nbytes = storage.nbytes()
        tag = kind or self.kind
        self.live[key] = [nbytes, tag]
        self.totals[tag] += nbytes
        self.current += nbytes
        weakref.finalize(storage, self._freed, key)
        if self.current >= self.peak:  # ties: a later step's breakdown (states tagged) wins
            self._new_peak()

    def retag(self, tensor: torch.Tensor | None, kind: str) -> None:
        """Move ``tensor``'s storage to ``kind`` (a gradient, an optimizer state)."""
        if tensor is None:
            return
        key = tensor.untyped_storage()._cdata
        entry = self.live.get(key)
        if entry is None:
            self.track(tensor, kind)
            return
        if entry[1] != kind:
            self.totals[entry[1]] -= entry[0]
            self.totals[kind] += entry[0]
            entry[1] = kind

    def to_host(self, tensor: torch.Tensor) -> torch.Tensor:
        """A copy of ``tensor`` that stands for one in host RAM: never counted (the CPU holds
        fake tensors of every "device"; this is how one leaves the card's count)."""
        self.counting = False
        try:
            return tensor.detach().clone()
        finally:
            self.counting = True

    def key(self, tensor: torch.Tensor) -> int:
        return int(tensor.untyped_storage()._cdata)

    def _freed(self, key: int) -> None:
        entry = self.live.pop(key, None)
        if entry is not None:
            self.totals[entry[1]] -= entry[0]
            self.current -= entry[0]

    def _new_peak(self) -> None:
        self.peak = self.current
        self.peak_totals = dict(self.totals)
        self.peak_phase = self.phase
        if self.keep_peak_keys:
            self.peak_keys = frozenset(self.live)

    # -- dispatch ------------------------------------------------------------------------
    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out
