"""PyTorch build strings: ``"2.8.0+cu128"`` -> release ``2.8``, variant ``cu128``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message

_TORCH = re.compile(
    r"^(?P<major>\d{1,2})\.(?P<minor>\d{1,3})(?:\.(?P<patch>\d{1,3}))?"
    r"(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?"
    r"(?:\+(?P<local>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*))?$"
)
#: Local tags that name a PyTorch wheel variant; any other tag (``+git6ddf5cf``,
#: ``+6ddf5cf85e.nv24.04``) is a source or vendor (NGC) build of unknown variant.
_VARIANT = re.compile(r"^(?:cu\d{3}|cpu|rocm\d+(?:\.\d+)*|xpu)$")


@dataclass(frozen=True)
class TorchBuild:
    """A torch version as ``torch.__version__`` prints it."""

    version: str
    release: str
    local: str | None

    @property
    def variant(self) -> str | None:
        """``cu128``, ``cpu``, ``rocm6.4``, ``xpu``, or None: no local tag (a PyPI wheel) or a
        tag that is no wheel variant (a source or NGC build, see :attr:`custom`)."""
        if self.local is not None and _VARIANT.match(self.local):
            return self.local
        return None

    @property
    def custom(self) -> bool:
        """A local tag that names no wheel variant: built from source or by a vendor."""
        return self.local is not None and self.variant is None


def parse_torch(text: str, known_cuda: list[str] | None = None) -> TorchBuild:
    """Parse ``--torch`` (``2.8.0+cu128``, ``2.6.0``, ``2.9.1+cpu``, ``2.6.0a0+gitabc``);
    GpuwiseError otherwise. With ``known_cuda`` (``["cu118", ...]``) a ``cuXXX`` tag must be
    one of them."""
    value = text.strip()
    m = _TORCH.match(value)
    local = m.group("local") if m else None
    if (
        not m
        or int(m.group("major")) < 1
        or (local and re.fullmatch(r"cu\d*", local) and len(local) != 5)
    ):
        raise GpuwiseError(Message("doctor.error.torch", value=repr(text)))
    build = TorchBuild(value, f"{int(m.group('major'))}.{int(m.group('minor'))}", m.group("local"))
    variant = build.variant
    if (
        known_cuda is not None
        and variant
        and variant.startswith("cu")
        and variant not in known_cuda
    ):
        raise GpuwiseError(
            Message(
                "doctor.error.torch_cuda",
                value=repr(text),
                variant=variant,
                known=", ".join(known_cuda),
            )
        )
    return build
