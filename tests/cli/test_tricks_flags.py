"""The memory tricks' flags on the command line: what they accept, and one line (exit 2) for
anything else, never a traceback or a plan of something that was not asked."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gpuwise.workload import LOSSES

from ..checks import one_line

PLAN = ("plan", "gpt2", "--gpu", "3090", "--no-search", "--json")
FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# text a user may type by mistake: any printable text that is no flag and no accepted value
TYPED = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
).filter(lambda s: not s.startswith("-"))


@FAST
@given(TYPED.filter(lambda s: s not in LOSSES))
@example("Chunked ")
@example("liger")
def test_an_unknown_loss_is_one_line_naming_the_choices(cli, value):
    one_line(cli(*PLAN, "--loss", value), "--loss", "chunked", "fused")


@FAST
@given(TYPED.filter(lambda s: s.strip().lower() != "offload"))
@example("cpu")
@example("unsloth")
def test_grad_checkpointing_takes_offload_or_nothing(cli, value):
    """After the model, a value that is not ``offload`` is refused (it cannot be the model)."""
    one_line(cli(*PLAN, "--grad-checkpointing", value), "--grad-checkpointing", "offload")


def test_grad_checkpointing_before_the_model_still_names_the_model(cli):
    doc = cli("plan", "--grad-checkpointing", "gpt2", "--gpu", "3090", "--json").json()
    assert doc["model"]["name"] == "gpt2"
    assert doc["workload"]["grad_checkpointing"] is True
    assert doc["workload"]["ckpt_offload"] is False
    off = cli("plan", "--grad-checkpointing", "offload", "gpt2", "--gpu", "3090", "--json").json()
    assert off["model"]["name"] == "gpt2" and off["workload"]["ckpt_offload"] is True


@pytest.mark.parametrize("method", ["full", "lora"])
def test_no_upcast_needs_qlora(cli, method):
    one_line(cli(*PLAN, "--method", method, "--no-upcast"), "--no-upcast", "qlora", method)


@pytest.mark.parametrize(
    "flags",
    [("--loss", "chunked"), ("--loss", "fused"), ("--packing",), ("--no-upcast",)],
)
def test_a_training_trick_with_task_infer_is_refused(cli, flags):
    one_line(cli(*PLAN, "--task", "infer", *flags), flags[0], "--task train")


def test_a_chunked_loss_on_an_encoder_is_refused(cli):
    r = cli("plan", "bert-base-uncased", "--gpu", "3090", "--loss", "chunked", "--json")
    one_line(r, "--loss chunked", "encoder")


def test_the_workload_says_which_tricks_are_on(cli):
    plain = cli(*PLAN).json()["workload"]
    assert (plain["loss"], plain["ckpt_offload"], plain["packing"]) == ("full", False, False)
    assert "tricks" not in plain and "upcast" not in plain
    doc = cli(*PLAN, "--loss", "fused", "--packing", "--optimizer", "paged-adamw-8bit").json()
    names = [t["name"] for t in doc["workload"]["tricks"]]
    assert names == ["loss-fused", "packing", "paged-adamw-8bit"]
    assert all(t["source"].startswith("https://github.com/") for t in doc["workload"]["tricks"])
    text = " ".join(cli(*PLAN[:-1], "--loss", "fused", "--packing").out.split())
    assert "loss fused (Liger)" in text and "packing on" in text


def test_packing_needs_flashattention_2(cli):
    doc = cli("plan", "gpt2", "--gpu", "2080 Ti", "--no-search", "--packing", "--json").json()
    card = doc["cards"][0]
    assert not card["fits"] and any("FlashAttention 2" in p for p in card["problems"])
