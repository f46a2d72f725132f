"""Advice on every plan that does not fit (issue 14, part 3): several ``--gpu`` cards (each card
that does not fit), ``--gpus N --strategy S`` (changes that keep N cards: checkpointing, a
micro-batch, 8-bit AdamW, another strategy, offload, more cards), the default set (its largest
card, when none fits). Every change said to fit is planned again with its own flags, and fits;
memory saved on the cards is listed before offload.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _flags(model: str, card: str, ch: dict) -> list[str]:
    """The command line of the job as a change runs it."""
    w = ch["workload"]
    args = [model, "--method", w["method"], "--batch", str(w["batch"]), "--seq", str(w["seq"])]
    args += ["--precision", w["precision"], "--optimizer", w["optimizer"], "--gpu", card]
    if w["grad_checkpointing"]:
        args += (
            ["--grad-checkpointing", "offload"]
            if w.get("ckpt_offload")
            else ["--grad-checkpointing"]
        )
    args += ["--loss", w.get("loss", "full")]
    args += [] if w.get("upcast", True) else ["--no-upcast"]
    if ch["strategy"] != "single":
        args += ["--gpus", str(ch["gpus"]), "--strategy", ch["strategy"]]
    if ch["grad_accum"] > 1:
        args += ["--grad-accum", str(ch["grad_accum"])]
    return [*args, "--no-search", "--json"]


def _fitting(a: dict) -> list[dict]:
    out = list(a["fits_alone"])
    if a["stacked"] and a["stacked"]["fits"]:
        out.append(a["stacked"])
    return out


def _check_fits_when_applied(cli, model: str, a: dict) -> None:
    card = a["slug"]
    assert _fitting(a), a
    for ch in _fitting(a):
        r = cli("plan", *_flags(model, card, ch))
        assert r.code == 0, r.err
        c = r.json()["cards"][0]
        assert c["fits"], (str(ch["change"]), c["headroom_bytes"])
        assert c["memory"]["required_bytes"] == ch["required_per_gpu_bytes"]


def test_each_card_asked_for_that_does_not_fit_gets_advice(cli):
    model = "llama-3.1-8b"
    args = [model, "--method", "lora", "--seq", "4096", "--gpu", "3060", "--gpu", "4060 ti 16gb"]
    doc = cli("plan", *args, "--gpu", "a100 80gb", "--json").json()
    fits = {c["name"]: c["fits"] for c in doc["cards"]}
    advised = [a["card"] for a in doc["card_advice"]]
    assert advised == [name for name, ok in fits.items() if not ok]
    assert len(advised) == 2  # the A100 fits: no advice for it
    # the top-level advice is the card nearest to fitting: the most usable memory
    assert doc["advice"]["card"] == max(doc["card_advice"], key=lambda a: a["usable_bytes"])["card"]
    for a in doc["card_advice"]:
        assert "one of the cards" in a["why"]
        _check_fits_when_applied(cli, model, a)
    out = cli("plan", *args, "--gpu", "a100 80gb").out
    assert out.count("To fit") == 2


def test_several_cards_on_a_strategy_get_advice_that_keeps_the_cards(cli):
    model = "qwen2.5-7b"
    doc = cli(
        "plan",
        model,
        "--method",
        "full",
        "--gpus",
        "4",
        "--strategy",
        "ddp",
        "--gpu",
        "4090",
        "--json",
    ).json()
    assert not doc["cards"][0]["fits"]
    a = doc["advice"]
    assert (a["strategy"], a["gpus"]) == ("ddp", 4)
    _check_fits_when_applied(cli, model, a)
    changes = a["fits_alone"] + a["not_enough"]
    said = [str(c["change"]) for c in changes]
    assert "fsdp on the same 4 cards" in said  # another strategy on as many cards
    # checkpointing and sharding on the same cards fit together, at most of the speed, and
    # are shown before offloading to host RAM (0.2x)
    stack = a["stacked"]
    assert stack["fits"] and stack["strategy"] == "fsdp" and stack["gpus"] == 4
    assert stack["workload"]["grad_checkpointing"]
    offload = [c for c in a["fits_alone"] if "offload" in c["strategy"]]
    assert offload and stack["speed_vs_now"] > 2 * max(c["speed_vs_now"] for c in offload)
    out = " ".join(
        cli(
            "plan", model, "--method", "full", "--gpus", "4", "--strategy", "ddp", "--gpu", "4090"
        ).out.split()
    )
    assert "To fit 4 x GeForce RTX 4090 with ddp" in out
    assert out.index("gradient checkpointing + fsdp") < out.index("zero3-offload on 4")


def test_the_default_set_is_advised_on_its_largest_card_only_when_none_fits(cli):
    doc = cli("plan", "llama-3.1-70b", "--method", "full", "--no-search", "--json").json()
    assert not any(c["fits"] for c in doc["cards"])
    assert len(doc["card_advice"]) == 1
    largest = max(doc["cards"], key=lambda c: c["usable_memory_bytes"])
    assert doc["advice"]["card"] == largest["name"]
    assert "most memory" in doc["advice"]["why"]
    doc = cli("plan", "qwen2.5-7b", "--method", "lora", "--no-search", "--json").json()
    assert any(c["fits"] for c in doc["cards"]) and not all(c["fits"] for c in doc["cards"])
    assert doc["card_advice"] == [] and doc["advice"] is None


def test_one_card_plan_keeps_its_advice(cli):
    doc = cli("plan", "llama-3.1-8b", "--method", "full", "--gpu", "4090", "--json").json()
    assert doc["advice"]["why"] == "the card asked for with --gpu"
    assert [a["card"] for a in doc["card_advice"]] == [doc["advice"]["card"]]
    _check_fits_when_applied(cli, "llama-3.1-8b", doc["advice"])


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model=st.sampled_from(["qwen2.5-1.5b", "llama-3.2-3b", "qwen2.5-7b"]),
    method=st.sampled_from(["full", "lora"]),
    seq=st.sampled_from([1024, 4096]),
    batch=st.sampled_from([1, 4]),
    layout=st.sampled_from([(1, "single"), (2, "ddp"), (2, "zero2"), (4, "fsdp"), (2, "zero3")]),
    card=st.sampled_from(["3060", "4060 ti 16gb", "3090"]),
)
def test_every_change_said_to_fit_fits_when_applied(cli, model, method, seq, batch, layout, card):
    gpus, strategy = layout
    args = [model, "--method", method, "--seq", str(seq), "--batch", str(batch), "--gpu", card]
    if strategy != "single":
        args += ["--gpus", str(gpus), "--strategy", strategy]
    r = cli("plan", *args, "--no-search", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    if doc["cards"][0]["fits"]:
        assert doc["advice"] is None
        return
    a = doc["advice"]
    assert a is not None and (a["strategy"], a["gpus"]) == (strategy, gpus)
    for ch in _fitting(a):
        again = cli("plan", *_flags(model, a["slug"], ch)).json()["cards"][0]
        assert again["fits"], str(ch["change"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_parallel_advice_is_said_in_both_languages(cli, lang):
    r = cli(
        "plan",
        "qwen2.5-7b",
        "--method",
        "full",
        "--gpus",
        "2",
        "--strategy",
        "zero2",
        "--gpu",
        "3090",
        "--lang",
        lang,
    )
    assert r.code == 0, r.err
    assert ("用 zero2 放得下" in r.out) if lang == "zh" else ("with zero2" in r.out)


@pytest.mark.parametrize(
    "args",
    [
        ["llama-3.1-8b", "--method", "full", "--have", "3060"],
        ["qwen2.5-7b", "--method", "lora", "--seq", "8192", "--have", "4060 ti 16gb"],
        ["llama-3.1-8b", "--method", "full", "--budget", "300", "--no-offload"],  # the best buy
    ],
)
def test_recommend_advice_fits_when_applied(cli, args):
    doc = cli("recommend", *args, "--top", "3", "--json").json()
    a = doc["advice"]
    assert a is not None and not a["fits_as_asked"]
    _check_fits_when_applied(cli, args[0], a)
    # memory saved on the card is listed before offload, and offload before a changed job
    out = " ".join(cli("recommend", *args, "--top", "3").out.split())
    fits = [str(c["change"]) for c in a["fits_alone"]]
    tiers = [
        2
        if c["workload"]["method"] != a["workload"]["method"]
        or c["workload"]["seq"] != a["workload"]["seq"]
        else 1
        if "offload" in c["strategy"]
        else 0
        for c in a["fits_alone"]
    ]
    assert tiers == sorted(tiers), fits
    positions = [out.index(f) for f in fits if f in out]
    assert positions == sorted(positions)
