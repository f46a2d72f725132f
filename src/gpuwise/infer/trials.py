"""What the inference advice (llama.cpp's and vLLM's) does with a series of trial changes of
one kind: keep the first that fits, else the last tried, so the advice can say how far the
strongest one still falls short."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (the fast path's start-up)
    from collections.abc import Iterable
    from typing import Protocol, TypeVar

    class _Fits(Protocol):
        @property
        def fits(self) -> bool: ...

    C = TypeVar("C", bound=_Fits)


def first_fit(changes: Iterable[C]) -> C | None:
    """The first change that fits, else the last tried (None when none was)."""
    last = None
    for c in changes:
        if c.fits:
            return c
        last = c
    return last
