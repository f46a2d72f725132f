"""What a plan assumes when the user does not say (``data/defaults.json``): the model, the cards
shown, the host RAM offload may use. Cheap to import: the command line reads it for its help."""

from __future__ import annotations

import functools

from gpuwise.packaged import packaged_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@functools.lru_cache(maxsize=1)
def defaults() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.plan", "data/defaults.json")
    return data


def default_model() -> str:
    """The model a plan describes when none is named."""
    return str(defaults()["model"])


def default_host_ram_gib() -> int:
    """GiB of host RAM offload may use when the user does not say (``--host-ram``)."""
    return int(defaults()["host_ram_gib"])
