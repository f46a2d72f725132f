"""The dense matmul rate a card gives PyTorch in a compute dtype, and what that assumes.

Rules (all rates are the catalogue's dense figures, FP32 accumulate, in TFLOPS):

- ``bf16``: ``bf16_tensor_tflops`` on cards with native bf16 (CC >= 8.0). Older cards (Pascal,
  Volta, Turing) have no bf16 arithmetic; PyTorch runs bf16 matmuls there through an emulated
  path, so we time them at the FP32 rate at best, and say so.
- ``fp16``: ``fp16_tensor_tflops`` on cards with tensor cores. Without them (Pascal, GTX 16),
  PyTorch's fp16 matmuls accumulate in FP32 (cuBLAS compute type ``CUBLAS_COMPUTE_32F``), which
  runs on the FP32 units: the FP32 rate. ``fp16_nontensor_tflops`` is not used: it is the packed
  half2 rate (2 x FP32 on GTX 16, 1/64 of FP32 on GeForce Pascal), which fp32-accumulating GEMMs
  do not reach.
- ``fp32``: ``fp32_tflops``. TF32 tensor cores exist from Ampere on, but PyTorch leaves them off
  for matmuls by default since 1.12 (``torch.backends.cuda.matmul.allow_tf32 = False``, i.e.
  ``torch.get_float32_matmul_precision() == "highest"``; PyTorch docs, "TensorFloat-32 (TF32) on
  Ampere (and later) devices" and ``torch.set_float32_matmul_precision``). ``allow_tf32=True``
  times fp32 at ``tf32_tensor_tflops``.
- A tensor rate the card does not state (null: a user card, say) is estimated as its FP32 rate
  times the median ratio of that rate to FP32 over the packaged catalogue's cards of the same
  architecture and segment (GeForce, workstation, data centre: NVIDIA halves FP32-accumulate
  tensor rates on GeForce only), or of the same architecture when no card of its segment has
  one, and says so in a note. With no such card (or no FP32 rate) it gives
  ``flops_per_s = None`` and a note: the caller leaves the times null rather than invent a
  number. (The RTX 5090 D / D V2 have rates in the catalogue, derived there from NVIDIA's one
  published AI TOPS figure, with that rule as their source.)
"""

from __future__ import annotations

import functools

from gpuwise.catalog.card import Card
from gpuwise.i18n import Message
from gpuwise.record import record

TERA = 1e12


@record
class Rate:
    """``flops_per_s`` (None when unknown), ``basis`` (the card figure used, for display) and
    ``note`` (a caveat for the user, or None when the rate is the card's native one)."""

    flops_per_s: float | None
    basis: str
    note: Message | None


def _unknown(card: Card, field: str, what: str) -> Rate:
    """The rate of ``field`` estimated from the card's FP32 rate (see the module's rules), or
    None with the note that it is not known."""
    ratio = _peer_ratio(card.architecture, card.segment, field)
    if ratio is not None and card.fp32_tflops:
        tflops = card.fp32_tflops * ratio
        return Rate(
            tflops * TERA,
            f"{field}: {tflops:g} TFLOPS estimated",
            Message(
                "timing.note.rate_estimated",
                card=card.name,
                what=what,
                ratio=f"{ratio:g}",
                arch=card.architecture,
                tflops=f"{tflops:.1f}",
            ),
        )
    return Rate(
        None,
        f"{field}: unknown",
        Message("timing.note.rate_unknown", card=card.name, what=what, field=field),
    )


@functools.lru_cache(maxsize=64)
def _peer_ratio(architecture: str, segment: str, field: str) -> float | None:
    """Median of ``field`` / ``fp32_tflops`` over the packaged cards of ``architecture`` in
    ``segment`` (of the architecture alone when none of the segment has the figure)."""
    from gpuwise.catalog.load import load_cards

    cards = [c for c in load_cards(None) if c.architecture == architecture and c.fp32_tflops]
    for group in ([c for c in cards if c.segment == segment], cards):
        ratios = [getattr(c, field) / c.fp32_tflops for c in group if getattr(c, field)]
        if ratios:
            return round(_median(ratios), 2)
    return None


def matmul_rate(card: Card, dtype: str, *, allow_tf32: bool = False) -> Rate:
    """Dense matmul FLOP/s of ``card`` for a compute dtype ``bf16``, ``fp16`` or ``fp32``."""
    fp32 = card.fp32_tflops * TERA
    fp32_basis = f"FP32 {card.fp32_tflops:g} TFLOPS (fp32_tflops)"
    if dtype == "bf16":
        if card.has("bf16"):
            if card.bf16_tensor_tflops is None:
                return _unknown(card, "bf16_tensor_tflops", "bf16 tensor-core")
            return Rate(
                card.bf16_tensor_tflops * TERA,
                f"bf16 tensor cores {card.bf16_tensor_tflops:g} TFLOPS (bf16_tensor_tflops)",
                None,
            )
        key = (
            "timing.note.bf16_emulated_fp16"
            if card.has("tensor_cores")
            else "timing.note.bf16_emulated_no_fp16"
        )
        return Rate(
            fp32,
            fp32_basis,
            Message(
                key,
                arch=card.architecture,
                cc=card.compute_capability,
                tflops=f"{card.fp32_tflops:g}",
            ),
        )
    if dtype == "fp16":
        if card.has("tensor_cores"):
            if card.fp16_tensor_tflops is None:
                return _unknown(card, "fp16_tensor_tflops", "fp16 tensor-core")
            return Rate(
                card.fp16_tensor_tflops * TERA,
                f"fp16 tensor cores {card.fp16_tensor_tflops:g} TFLOPS (fp16_tensor_tflops)",
                None,
            )
        return Rate(
            fp32,
            fp32_basis,
            Message("timing.note.fp16_no_tensor", card=card.name, tflops=f"{card.fp32_tflops:g}"),
        )
    if dtype == "fp32":
        if card.has("tf32"):
            if allow_tf32:
                if card.tf32_tensor_tflops is None:
                    return _unknown(card, "tf32_tensor_tflops", "TF32 tensor-core")
                return Rate(
                    card.tf32_tensor_tflops * TERA,
                    f"TF32 tensor cores {card.tf32_tensor_tflops:g} TFLOPS (tf32_tensor_tflops)",
                    Message("timing.note.tf32_on"),
                )
            tf32 = card.tf32_tensor_tflops
            note = (
                Message("timing.note.tf32_off_rate", tflops=f"{tf32:g}")
                if tf32 is not None
                else Message("timing.note.tf32_off")
            )
            return Rate(fp32, fp32_basis, note)
        return Rate(fp32, fp32_basis, None)
    raise ValueError(f"unknown compute dtype {dtype!r}; known: bf16, fp16, fp32")


def _median(xs: list[float]) -> float:
    """The median (``statistics`` costs a cold start several milliseconds to import)."""
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2
