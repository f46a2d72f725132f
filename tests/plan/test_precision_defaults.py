"""Each card is planned in the precision it should use when the user names none (issue 13): bf16
with native bf16 (Ampere and later), amp-fp16 with tensor cores but no bf16 (Volta, Turing RTX),
fp32 without tensor cores (Pascal, GTX 16); QLoRA and inference in fp16 where bf16 is not
native. A precision the user names is planned as asked, and flagged where the card cannot run
it natively."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model
from gpuwise.plan import estimate_memory, make_plan
from gpuwise.workload import PRECISIONS, Workload

from ..checks import fixture_ok, one_line

LORA = ("plan", "llama-3.2-1b", "--method", "lora", "--no-search", "--json")


def _cards(cli, *args):
    r = cli(*LORA, *args)
    assert r.code == 0, r.err
    return r.json()


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ("1080ti", "fp32"),  # Pascal: no tensor cores, no bf16
        ("p40", "fp32"),
        ("gtx 1660 super", "fp32"),  # Turing (CC 7.5) without tensor cores
        ("2080ti", "amp-fp16"),  # Turing RTX: tensor cores, no bf16
        ("t4", "amp-fp16"),
        ("v100-sxm2-32gb", "amp-fp16"),  # Volta
        ("3060", "bf16"),  # Ampere and later: native bf16
        ("4090", "bf16"),
        ("h100", "bf16"),
    ],
)
def test_training_gets_the_precision_the_card_should_use(cli, card, expected):
    doc = _cards(cli, "--gpu", card)
    c = doc["cards"][0]
    assert c["precision"] == expected
    assert c["precision_given"] is False and c["precision_warning"] is None
    assert c["precision_note"]  # says why
    assert doc["workload"]["precision"] == expected
    assert doc["workload"]["precision_given"] is False


def test_the_1080ti_lora_plan_is_fp32_and_says_so(cli):
    default = _cards(cli, "--gpu", "1080ti")
    asked = _cards(cli, "--gpu", "1080ti", "--precision", "fp32")
    # the default is the fp32 plan, figure for figure
    assert default["memory"] == asked["memory"]
    assert default["cards"][0]["time"] == asked["cards"][0]["time"]
    table = cli(*LORA[:-1], "--gpu", "1080ti")
    assert table.code == 0, table.err
    assert "fp32" in table.out and "no --precision" in table.out
    assert "tensor cores" in table.out  # why: the card has none


@pytest.mark.parametrize(
    ("args", "card", "expected"),
    [
        (("--method", "qlora"), "1080ti", "fp16"),  # qlora computes in bf16 or fp16 only
        (("--method", "qlora"), "2080ti", "fp16"),
        (("--method", "qlora"), "4090", "bf16"),
        (("--task", "infer"), "1080ti", "fp16"),  # 16-bit weights: fp16 where no bf16
        (("--task", "infer"), "2080ti", "fp16"),
        (("--task", "infer"), "4090", "bf16"),
    ],
)
def test_qlora_and_inference_take_fp16_where_bf16_is_not_native(cli, args, card, expected):
    r = cli("plan", "llama-3.2-1b", *args, "--gpu", card, "--no-search", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["cards"][0]["precision"] == expected
    if "infer" in args:
        assert doc["workload"]["weight_dtype"] == expected
        assert doc["workload"]["kv_dtype"] == expected


def test_an_explicit_weight_dtype_is_the_inference_precision(cli):
    args = ("plan", "qwen2.5-0.5b", "--task", "infer", "--weight-dtype", "bf16", "--no-search")
    doc = cli(*args, "--gpu", "1080ti", "--gpu", "4090", "--json").json()
    pascal, ada = doc["cards"]
    assert pascal["precision"] == ada["precision"] == "bf16"
    assert pascal["precision_given"] and ada["precision_given"]
    assert doc["workload"]["precision_given"] is True
    assert "--weight-dtype bf16" in pascal["precision_warning"] and ada["precision_warning"] is None


def test_mixed_cards_each_get_their_own_precision_and_memory(cli):
    doc = _cards(cli, "--gpu", "1080ti", "--gpu", "4090")
    pascal, ada = doc["cards"]
    assert (pascal["precision"], ada["precision"]) == ("fp32", "bf16")
    assert pascal["memory"]["required_bytes"] != ada["memory"]["required_bytes"]
    for c in doc["cards"]:  # each verdict is on the card's own memory
        assert c["headroom_bytes"] == c["usable_memory_bytes"] - c["memory"]["required_bytes"]
    # each card's figures are those of its precision asked for on that card alone
    for c, flag in ((pascal, "fp32"), (ada, "bf16")):
        alone = _cards(cli, "--gpu", c["slug"], "--precision", flag)
        assert c["memory"] == alone["memory"]
        assert c["time"] == alone["cards"][0]["time"]
    assert doc["memory"] == pascal["memory"]  # the top level is the first card's
    table = cli(*LORA[:-1], "--gpu", "1080ti", "--gpu", "4090")
    assert "Required" in table.out  # cards that need different memory say so


def test_an_explicit_precision_the_card_cannot_run_natively_is_planned_but_flagged(cli):
    doc = _cards(cli, "--gpu", "1080ti", "--gpu", "4090", "--precision", "bf16")
    pascal, ada = doc["cards"]
    assert pascal["precision"] == ada["precision"] == "bf16"  # as asked
    assert pascal["precision_given"] is True
    assert "not native" in pascal["precision_warning"] and "fp32" in pascal["precision_warning"]
    assert ada["precision_warning"] is None
    assert pascal["memory"] == ada["memory"]  # the same job on both
    table = cli(*LORA[:-1], "--gpu", "1080ti", "--precision", "bf16")
    assert "bf16!" in table.out and "not native" in table.out


@pytest.mark.parametrize(
    ("card", "precision", "flagged"),
    [
        ("1080ti", "amp-fp16", True),  # fp16 compute without tensor cores
        ("gtx 1660 super", "fp16", True),
        ("2080ti", "amp-fp16", False),
        ("2080ti", "amp-bf16", True),
        ("1080ti", "fp32", False),
        ("4090", "fp32", False),
    ],
)
def test_which_explicit_precisions_are_flagged(cli, card, precision, flagged):
    c = _cards(cli, "--gpu", card, "--precision", precision)["cards"][0]
    assert c["precision"] == precision
    assert (c["precision_warning"] is not None) is flagged


def test_recommend_options_carry_their_precision(cli):
    base = ("recommend", "llama-3.2-1b", "--method", "lora", "--max-gpus", "2", "--top", "0")
    cards = ("--gpu", "1080ti", "--gpu", "2080ti", "--gpu", "4090")
    r = cli(*base, *cards, "--json")
    assert r.code == 0, r.err
    want = {"GeForce GTX 1080 Ti": "fp32", "GeForce RTX 2080 Ti": "amp-fp16"}
    for o in r.json()["options"]:
        assert o["precision"] == want.get(o["gpu"], "bf16"), o
        assert o["precision_given"] is False
    asked = cli(*base, *cards, "--precision", "fp32", "--json").json()
    assert {(o["precision"], o["precision_given"]) for o in asked["options"]} == {("fp32", True)}
    # the 1080 Ti's own default is fp32: its options are those of fp32 asked for
    keys = ("count", "strategy", "required_per_gpu_bytes", "tokens_per_s")
    pascal = [[o[k] for k in keys] for o in r.json()["options"] if o["slug"] == "gtx-1080-ti"]
    as_fp32 = [[o[k] for k in keys] for o in asked["options"] if o["slug"] == "gtx-1080-ti"]
    assert pascal and sorted(pascal) == sorted(as_fp32)
    table = cli(*base, *cards)
    assert "amp-fp16" in table.out and "no --precision" in table.out


def test_recommend_over_mixed_cards_gives_each_what_it_gets_alone(cli):
    """The search shares strategy memory and speed between cards of one precision: a card
    searched with cards of other precisions gets what it gets alone."""
    base = ("recommend", "llama-3.2-1b", "--max-gpus", "3", "--top", "0", "--json")
    names = ("1080ti", "2080ti", "3090", "4090", "1660super", "v100-sxm2-32gb")
    together = cli(*base, *(a for n in names for a in ("--gpu", n))).json()["options"]
    keys = ("count", "strategy", "fits", "required_per_gpu_bytes", "tokens_per_s", "precision")
    assert {o["precision"] for o in together} == {"fp32", "amp-fp16", "bf16"}  # mixed indeed
    for name in names:
        alone = cli(*base, "--gpu", name).json()["options"]
        mine = [o for o in together if o["slug"] == alone[0]["slug"]]
        by_count = {o["count"]: [o[k] for k in keys] for o in mine}
        assert by_count == {o["count"]: [o[k] for k in keys] for o in alone}, name


def test_launch_files_use_the_cards_precision(cli, tmp_path):
    r = cli(*LORA, "--gpu", "2080ti", "--emit", str(tmp_path / "turing"))
    assert r.code == 0, r.err
    assert "amp-fp16" in (tmp_path / "turing" / "plan.txt").read_text()
    acc = yaml.safe_load((tmp_path / "turing" / "accelerate_config.yaml").read_text())
    assert acc.get("mixed_precision", "fp16") == "fp16"
    assert "amp-fp16" in json.dumps(r.json()["cards"][0])
    mixed = cli(*LORA, "--gpu", "1080ti", "--gpu", "4090", "--emit", str(tmp_path / "mixed"))
    one_line(mixed, "different precisions", "--precision")
    same = ("--gpu", "1080ti", "--gpu", "4090", "--precision", "fp32")
    ok = cli(*LORA, *same, "--emit", str(tmp_path / "fp32"))
    assert ok.code == 0, ok.err
    assert "fp32" in (tmp_path / "fp32" / "plan.txt").read_text()


def test_recommend_launch_files_use_the_top_options_precision(cli, tmp_path):
    out = tmp_path / "best"
    turing = ("recommend", "llama-3.2-1b", "--method", "lora", "--gpu", "2080ti", "--max-gpus", "1")
    r = cli(*turing, "--emit", str(out), "--json")
    assert r.code == 0, r.err
    assert r.json()["options"][0]["precision"] == "amp-fp16"
    assert "amp-fp16" in (out / "plan.txt").read_text()


def test_the_advice_is_for_the_cards_precision(cli):
    doc = cli("plan", "llama-3.2-1b", "--gpu", "1080ti", "--json").json()  # full: too big
    assert doc["cards"][0]["precision"] == "fp32"
    assert doc["advice"]["required_bytes"] == doc["cards"][0]["memory"]["required_bytes"]


def test_a_workload_without_a_precision_has_no_memory_of_its_own():
    spec = load_model("llama-3.2-1b")
    with pytest.raises(GpuwiseError, match="each card's own"):
        estimate_memory(spec, Workload(precision_given=False))
    card = load_catalog().find("2080ti")
    plan = make_plan(spec, Workload(method="lora", precision_given=False), [card], search=False)
    assert plan.cards[0].workload.precision == "amp-fp16"
    assert plan.cards[0].precision.given is False


_CARDS = (
    "1080ti",
    "p100-pcie-16gb",
    "gtx 1650",
    "2080ti",
    "v100-pcie-16gb",
    "t4",
    "3060",
    "a100-sxm-80gb",
    "4090",
    "5090",
)


@fixture_ok
@given(
    card=st.sampled_from(_CARDS),
    precision=st.sampled_from((None, *PRECISIONS)),
    method=st.sampled_from(("full", "lora", "qlora")),
    task=st.sampled_from(("train", "infer")),
)
def test_every_plan_states_a_precision_and_honours_one_asked_for(
    cli, card, precision, method, task
):
    args = ["plan", "qwen2.5-0.5b", "--gpu", card, "--task", task, "--no-search", "--json"]
    if task == "train":
        args += ["--method", method]
    if precision is not None:
        args += ["--precision", precision]
    r = cli(*args)
    if r.code != 0:  # qlora computes in bf16 or fp16 only: any other is refused in one line
        one_line(r, "--precision")
        assert task == "train" and method == "qlora" and precision not in (None, "bf16", "fp16")
        return
    doc = r.json()
    c = doc["cards"][0]
    assert c["precision"] in PRECISIONS and c["precision_note"]
    # the top-level workload is the (first) card's, and says whether its precision was chosen
    w = doc["workload"]
    assert (w["precision"], w["precision_given"]) == (c["precision"], c["precision_given"])
    if precision is not None:
        assert c["precision"] == precision and c["precision_given"] is True
    else:
        found = load_catalog().find(card)
        sixteen = "bf16" if found.has("bf16") else "fp16"
        if task == "infer" or method == "qlora":
            assert c["precision"] == sixteen
        else:
            assert c["precision"] == (
                "bf16" if found.has("bf16") else "amp-fp16" if found.has("tensor_cores") else "fp32"
            )
        assert c["precision_given"] is False and c["precision_warning"] is None


def test_the_rules_name_their_sources_and_cover_every_card():
    from gpuwise.packaged import packaged_json
    from gpuwise.plan.precision import for_card

    data = packaged_json("gpuwise.plan", "data/precision.json")
    sources = data["sources"]
    assert all(
        s["title"] and s["url"].startswith("https://") and s["checked"] for s in sources.values()
    )
    for rule in [*data["defaults"], *data["native"].values()]:
        assert rule["sources"] and set(rule["sources"]) <= set(sources)
    assert data["defaults"][-1]["needs"] == []  # the last rule takes every card
    for card in load_catalog():
        w, chosen = for_card(Workload(method="qlora", precision_given=False), card)
        assert w.precision in ("bf16", "fp16") and not chosen.given


@fixture_ok
@given(
    cards=st.lists(st.sampled_from(_CARDS), min_size=1, max_size=4, unique=True),
    precision=st.sampled_from((None, *PRECISIONS)),
    method=st.sampled_from(("full", "lora", "qlora")),
)
def test_every_recommend_option_states_its_precision(cli, cards, precision, method):
    args = ["recommend", "qwen2.5-0.5b", "--method", method, "--max-gpus", "2", "--top", "0"]
    args += [a for c in cards for a in ("--gpu", c)]
    r = cli(*args, *(("--precision", precision) if precision else ()), "--json")
    if r.code != 0:
        one_line(r, "--precision")
        assert method == "qlora" and precision not in (None, "bf16", "fp16")
        return
    doc = r.json()
    options = doc["options"]
    assert len(options) == 2 * len(cards)  # every card, one and two of it
    top = (options[0]["precision"], options[0]["precision_given"])
    assert (doc["workload"]["precision"], doc["workload"]["precision_given"]) == top
    for o in options:
        assert o["precision"] in PRECISIONS and o["precision_note"]
        assert o["precision_given"] is (precision is not None)
        if precision is not None:
            assert o["precision"] == precision


@fixture_ok
@given(
    command=st.sampled_from(("plan", "recommend", "probe")),
    value=st.text(max_size=12).filter(lambda v: v not in ("auto", *PRECISIONS)),
)
def test_an_unknown_precision_is_one_line_naming_the_choices(cli, command, value):
    # --precision=VALUE: a value like "-:" is the flag's, not another option
    r = cli(command, "llama-3.2-1b", f"--precision={value}", "--json")
    one_line(r, "--precision", "auto", "amp-fp16")
