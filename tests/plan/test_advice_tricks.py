"""The frameworks' memory tricks as advice (issue 14, part 3): a plan that does not fit is told
of a chunked loss, 16-bit embeddings for QLoRA, checkpoints in host RAM and paged 8-bit AdamW,
each with its speed, checkpointing first and the changes that keep the step on the card before
those that move something to host RAM; a trick that would need more memory is not offered."""

from __future__ import annotations

from gpuwise.catalog import load_catalog
from gpuwise.i18n import Message
from gpuwise.models import load_model
from gpuwise.plan.advice import advise, change_tier
from gpuwise.workload import Workload


def _advice(model: str, w: Workload, card: str):
    return advise(load_model(model), w, load_catalog().find(card), Message("advice.why.asked"))


def _keys(changes) -> list[str]:
    return [c.what.key if isinstance(c.what, Message) else str(c.what) for c in changes]


def test_qlora_8b_at_4096_on_16_gb_stacks_checkpointing_and_chunked_loss():
    """The README's case: Llama-3.1-8B QLoRA at 4096 on an RTX 4060 Ti 16 GB needs 44 GiB;
    neither checkpointing nor the chunked loss is enough alone, both together fit (a shorter
    context is not needed)."""
    a = _advice("llama-3.1-8b", Workload(method="qlora", seq=4096), "rtx-4060-ti-16gb")
    assert not a.fits_as_asked
    assert a.stacked is not None and a.stacked.fits
    assert a.stacked.workload.grad_checkpointing and a.stacked.workload.loss == "chunked"
    assert a.stacked.workload.seq == 4096
    assert a.stacked.speed is not None and 0.5 < a.stacked.speed < 1.0  # recompute costs
    tried = _keys([*a.fits_alone, *a.not_enough])
    assert "advice.loss_chunked" in tried
    # checkpointing first, then the tricks that keep it on the card, then host RAM
    assert tried.index("advice.ckpt") < tried.index("advice.loss_chunked")
    assert tried.index("advice.loss_chunked") < tried.index("advice.ckpt_offload")


def test_checkpoints_in_host_ram_come_before_optimizer_offload():
    a = _advice("llama-3.1-8b", Workload(method="lora", seq=8192), "rtx-4090")
    tried = _keys([*a.fits_alone, *a.not_enough])
    assert tried.index("advice.ckpt") < tried.index("advice.ckpt_offload")
    assert tried.index("advice.ckpt_offload") < tried.index("advice.offload")
    offload = next(c for c in a.not_enough if _keys([c]) == ["advice.ckpt_offload"])
    assert offload.workload.ckpt_offload and offload.workload.grad_checkpointing
    assert offload.speed is not None and offload.speed < 1.0  # recompute and PCIe
    assert change_tier(offload, a.workload) == 1  # moves the checkpoints to host RAM


def test_a_trick_is_offered_only_where_it_saves_memory():
    """Without checkpointing, QLoRA with 16-bit embeddings keeps a 16-bit LoRA step's
    activations, more than the upcast step: --no-upcast is then not advised; with
    checkpointing it saves memory and is."""
    w = Workload(method="qlora", seq=4096)
    card = "rtx-4060-ti-16gb"
    a = _advice("llama-3.1-8b", w, card)
    for c in [*a.fits_alone, *a.not_enough]:
        assert c.required_bytes < a.required_bytes, c.what
    assert "advice.no_upcast" not in _keys([*a.fits_alone, *a.not_enough])
    b = _advice("llama-3.1-8b", w.with_(grad_checkpointing=True), card)
    no_upcast = [c for c in [*b.fits_alone, *b.not_enough] if _keys([c]) == ["advice.no_upcast"]]
    assert no_upcast and no_upcast[0].required_bytes < b.required_bytes


def test_paged_adamw_is_advised_for_a_full_fine_tune_and_marked_host_ram():
    a = _advice("qwen2.5-7b", Workload(method="full", grad_checkpointing=True), "rtx-4090")
    paged = [
        c for c in [*a.fits_alone, *a.not_enough] if c.workload.optimizer == "paged-adamw-8bit"
    ]
    assert paged and paged[0].required_bytes < a.required_bytes
    assert change_tier(paged[0], a.workload) == 1
    assert paged[0].caveat == Message("advice.caveat.paged")


def test_tricks_already_on_are_not_advised_again():
    w = Workload(method="qlora", seq=4096, grad_checkpointing=True, loss="chunked", upcast=False)
    a = _advice("llama-3.1-8b", w.with_(seq=65536, allow_long_context=True), "rtx-4060-ti-16gb")
    tried = _keys([*a.fits_alone, *a.not_enough])
    assert "advice.loss_chunked" not in tried and "advice.no_upcast" not in tried
    assert "advice.ckpt" not in tried
