"""PyTorch build strings: ``"2.8.0+cu128"`` -> release ``2.8``, variant ``cu128``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpuwise.errors import GpuwiseError

_TORCH = re.compile(
    r"^(?P<major>\d{1,2})\.(?P<minor>\d{1,3})(?:\.(?P<patch>\d{1,3}))?"
    r"(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?"
    r"(?:\+(?P<local>cu\d{3}|cpu|rocm\d+(?:\.\d+)*|xpu))?$"
)


@dataclass(frozen=True)
class TorchBuild:
    """A torch version as ``torch.__version__`` prints it."""

    version: str
    release: str
    local: str | None

    @property
    def variant(self) -> str | None:
        """``cu128``, ``cpu``, ``rocm6.4``, ``xpu``, or None (no local tag: a PyPI wheel)."""
        return self.local


def parse_torch(text: str) -> TorchBuild:
    """Parse ``--torch`` (``2.8.0+cu128``, ``2.6.0``, ``2.9.1+cpu``); GpuwiseError otherwise."""
    value = text.strip()
    m = _TORCH.match(value)
    if not m or int(m.group("major")) < 1:
        raise GpuwiseError(
            f"--torch {text!r} is not a PyTorch version; give what torch.__version__ prints, "
            "e.g. 2.8.0+cu128, 2.6.0+cu124 or 2.7.1"
        )
    return TorchBuild(value, f"{int(m.group('major'))}.{int(m.group('minor'))}", m.group("local"))
