"""plan --framework: a framework's plan is the reference step with its defaults (read from the
data file, each with its source) as if given by flags; a flag the user gives wins; the plan says
what it applied; bad input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ..checks import command_loads_none_of, fixture_ok, one_line

DATA = Path(__file__).resolve().parents[2] / "src/gpuwise/frameworks/data/frameworks.json"
FRAMEWORKS = json.loads(DATA.read_text(encoding="utf-8"))["frameworks"]
OTHERS = [name for name in FRAMEWORKS if name != "transformers"]
BASE = ("plan", "llama-3.1-8b", "--gpu", "4090", "--precision", "bf16", "--json")


def as_flags(default: dict) -> list[str]:
    """The command-line flags that ask for a default of the data file (the user's way)."""
    field, value = default["field"], default["value"]
    if field == "grad_checkpointing":
        return ["--grad-checkpointing"] if value else []
    if field == "ckpt_offload":
        return ["--grad-checkpointing", "offload"]
    if field == "upcast":
        return [] if value else ["--no-upcast"]
    if field == "lora_targets":
        return ["--lora-targets", ",".join(value)]
    if field == "optimizer_in_bwd":
        return ["--optimizer-in-bwd"] if value else []
    if field == "master_fp32":
        return []  # BASE gives --precision bf16, which overrides it (its own test below)
    flag = {"loss": "--loss", "optimizer": "--optimizer", "lora_rank": "--lora-rank"}[field]
    return [flag, str(value)]


def defaults_for(name: str, method: str) -> list[dict]:
    return [
        d
        for d in FRAMEWORKS[name]["defaults"]
        if method in d.get("methods", ["full", "lora", "qlora"])
    ]


def plan(cli, *args: str) -> dict:
    r = cli(*BASE, *args)
    assert r.code == 0, r.err
    return r.json()


def test_every_default_sets_a_workload_field_and_has_its_note():
    from gpuwise.frameworks.defaults import APPLIED, NOT_APPLIED
    from gpuwise.workload import Workload

    reference = Workload()
    assert OTHERS and all(FRAMEWORKS[name]["defaults"] for name in OTHERS)
    for name in OTHERS:
        for d in FRAMEWORKS[name]["defaults"]:
            assert hasattr(reference, d["field"]) and d["key"] in APPLIED, (name, d["key"])
        for n in FRAMEWORKS[name]["not_applied"]:
            assert n["key"] in NOT_APPLIED, (name, n["key"])


def test_the_data_cites_a_version_and_a_file_for_every_default():
    assert set(FRAMEWORKS) == {
        "transformers",
        "llamafactory",
        "unsloth",
        "axolotl",
        "torchtune",
        "trl",
    }
    for name in OTHERS:
        info = FRAMEWORKS[name]
        assert info["repo"].count("/") == 1 and info["version"], name
        assert info["defaults"], name
        for d in info["defaults"] + info["not_applied"]:
            assert d["file"].strip(), (name, d)


@pytest.mark.parametrize("method", ["full", "lora", "qlora"])
@pytest.mark.parametrize("name", OTHERS)
def test_a_framework_is_the_reference_with_its_defaults_as_flags(cli, name, method):
    if method == "qlora" and "llama" not in FRAMEWORKS[name].get("model_types", {}).get(
        method, ["llama"]
    ):
        pytest.skip("no builder")
    flags = [f for d in defaults_for(name, method) for f in as_flags(d)]
    if "offload" in flags:  # --grad-checkpointing offload says both
        flags = [f for f in flags if f != "--grad-checkpointing"]
        flags = ["--grad-checkpointing", *[f for f in flags if f != "offload"]]
        flags.insert(1, "offload")
    framework = plan(cli, "--method", method, "--framework", name)
    by_flags = plan(cli, "--method", method, *flags)
    reference = plan(cli, "--method", method)
    assert framework["memory"]["breakdown"] == by_flags["memory"]["breakdown"]
    assert framework["memory"]["required_bytes"] == by_flags["memory"]["required_bytes"]
    assert framework["cards"][0]["time"]["step_s"] == by_flags["cards"][0]["time"]["step_s"]
    # checkpointing, where a framework turns it on, saves more than any other default moves
    if "--grad-checkpointing" in flags:
        assert framework["memory"]["required_bytes"] < reference["memory"]["required_bytes"]
    assert framework["framework"]["name"] == name
    applied = framework["framework"]["applied"]
    notes = " ".join(framework["memory"]["notes"])
    assert FRAMEWORKS[name]["name"] in notes
    for d in defaults_for(name, method):
        if d["field"] in applied:
            assert applied[d["field"]] == d["value"]


def test_unsloth_fits_the_issue_s_qlora_where_the_reference_does_not(cli):
    args = ("plan", "llama-3.1-8b", "--method", "qlora", "--seq", "4096", "--json")
    args += ("--gpu", "RTX 4060 Ti 16GB")
    reference = cli(*args).json()
    unsloth = cli(*args, "--framework", "unsloth").json()
    assert not reference["cards"][0]["fits"]
    assert unsloth["cards"][0]["fits"]
    assert unsloth["memory"]["required_bytes"] < reference["memory"]["required_bytes"] / 3


def test_the_reference_framework_changes_nothing(cli):
    plain = plan(cli, "--method", "lora")
    named = plan(cli, "--method", "lora", "--framework", "transformers")
    assert "framework" not in named
    assert named["memory"] == plain["memory"]


@pytest.mark.parametrize(
    ("name", "flags", "field", "value"),
    [
        ("unsloth", ["--loss", "full"], "loss", "full"),
        ("unsloth", ["--grad-checkpointing"], "ckpt_offload", False),
        ("torchtune", ["--optimizer", "adamw"], "optimizer", "adamw"),
        ("llamafactory", ["--lora-rank", "64"], "lora_rank", 64),
        ("torchtune", ["--lora-targets", "q_proj"], "lora_targets", ["q_proj"]),
        ("trl", ["--no-grad-checkpointing"], "grad_checkpointing", False),
        ("axolotl", ["--upcast"], "upcast", True),
    ],
)
def test_a_flag_the_user_gives_wins(cli, name, flags, field, value):
    doc = plan(cli, "--method", "qlora", "--framework", name, *flags)
    assert field not in doc["framework"]["applied"]
    assert doc["framework"]["overridden"]
    assert "the flag you gave wins" in " ".join(doc["memory"]["notes"])
    workload = doc["workload"]
    key = {"ckpt_offload": "grad_checkpointing"}.get(field, field)
    if field != "ckpt_offload":
        assert workload[key] == value


def test_an_overridden_default_moves_memory_back(cli):
    unsloth = plan(cli, "--method", "qlora", "--framework", "unsloth")
    full_loss = plan(cli, "--method", "qlora", "--framework", "unsloth", "--loss", "full")
    assert full_loss["memory"]["required_bytes"] > unsloth["memory"]["required_bytes"]


def test_not_modelled_defaults_are_said(cli):
    doc = plan(cli, "--method", "lora", "--framework", "torchtune")
    assert "bf16_adapters" in doc["framework"]["not_applied"]
    assert any("bf16" in n for n in doc["memory"]["notes"])


def test_torchtune_full_steps_in_the_backward(cli):
    """torchtune's full recipe steps each parameter as its gradient is made
    (optimizer_in_bwd): applied and said, and the peak holds no full set of gradients."""
    doc = plan(cli, "--method", "full", "--framework", "torchtune")
    assert doc["framework"]["applied"]["optimizer_in_bwd"] is True
    assert "optimizer_in_bwd" not in doc["framework"]["not_applied"]
    assert any("optimizer_in_bwd: True" in n for n in doc["memory"]["notes"])
    assert "optimizer-in-bwd" in [t["name"] for t in doc["workload"]["tricks"]]
    grads = doc["memory"]["breakdown"]["gradients"]
    assert grads < 0.1 * 8.03e9 * 2  # at most a layer's or the embedding's, not 16 GB
    paged = plan(cli, "--method", "full", "--optimizer", "paged-adamw-8bit", "--grad-checkpointing")
    assert doc["memory"]["required_bytes"] < paged["memory"]["required_bytes"] - 10 * 2**30


def test_the_table_says_the_framework_and_its_defaults(cli):
    r = cli("plan", "llama-3.1-8b", "--gpu", "4090", "--method", "qlora", "--framework", "trl")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert "Framework: TRL" in text
    assert "TRL default applied: gradient checkpointing on" in text


def test_unknown_framework_is_one_line(cli):
    one_line(cli("plan", "7b", "--framework", "deepspeed-chat"), "--framework", "unsloth, axolotl")


def test_a_framework_is_named_as_people_write_it(cli):
    doc = plan(cli, "--method", "lora", "--framework", "LLaMA-Factory")
    assert doc["framework"]["name"] == "llamafactory"


@fixture_ok
@given(st.text(max_size=80))
def test_any_framework_text_is_a_framework_or_one_line(cli, text):
    r = cli("plan", "7b", "--framework", text, "--json")
    key = text.strip().lower().replace("-", "").replace("_", "")
    if key in FRAMEWORKS:
        assert r.code == 0, r.err
    else:
        one_line(r, "--framework")


def test_torchtune_qlora_of_a_family_without_a_builder_is_one_line(cli):
    r = cli("plan", "qwen2.5-7b", "--method", "qlora", "--framework", "torchtune")
    one_line(r, "torchtune", "qwen2", "llama")


def test_a_framework_for_an_encoder_is_one_line(cli):
    one_line(cli("plan", "bert-base-uncased", "--framework", "trl"), "TRL", "encoder")


def test_a_framework_for_inference_is_one_line(cli):
    one_line(cli("plan", "7b", "--task", "infer", "--framework", "unsloth"), "--framework")


def test_plan_with_a_framework_imports_no_framework(tmp_path):
    command_loads_none_of(
        ["plan", "llama-3.1-8b", "--method", "qlora", "--framework", "unsloth", "--json"],
        ("torch", "transformers", "trl", "torchtune", "llamafactory", "axolotl", "yaml"),
    )


@pytest.mark.parametrize(
    "flags", [["--grad-checkpointing", "--no-grad-checkpointing"], ["--upcast", "--no-upcast"]]
)
def test_opposite_flags_are_one_line(cli, flags):
    one_line(cli("plan", "7b", "--method", "qlora", "--framework", "unsloth", *flags), *flags)


def test_torchtune_targets_a_model_lacks_are_said_and_all_linears_kept(cli):
    r = cli("plan", "phi-3-mini", "--gpu", "4090", "--method", "lora", "--framework", "torchtune",
            "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["workload"]["lora_targets"] == ["all-linear"]
    assert "lora_targets" not in doc["framework"]["applied"]
    assert any("not linears of model type phi3" in n for n in doc["memory"]["notes"])


FLAG_CHOICES = [
    ["--grad-checkpointing"],
    ["--grad-checkpointing", "offload"],
    ["--no-grad-checkpointing"],
    ["--loss", "full"],
    ["--loss", "fused"],
    ["--optimizer", "sgd"],
    ["--no-upcast"],
    ["--upcast"],
    ["--packing"],
    ["--lora-rank", "4"],
    ["--task", "infer"],
]


@fixture_ok
@given(
    st.sampled_from(sorted(FRAMEWORKS)),
    st.sampled_from(["full", "lora", "qlora"]),
    st.lists(st.sampled_from(FLAG_CHOICES), max_size=3),
    st.sampled_from(["llama-3.2-1b", "qwen2.5-0.5b", "gpt2", "bert-base-uncased"]),
)
def test_any_framework_and_flags_plan_or_refuse_in_one_line(cli, name, method, flags, model):
    r = cli("plan", model, "--gpu", "4090", "--method", method, "--framework", name, "--json",
            *[f for group in flags for f in group])  # fmt: skip
    if r.code != 0:
        one_line(r)
        return
    doc = r.json()
    assert doc["memory"]["required_bytes"] > 0
    assert ("framework" in doc) == (name != "transformers")


@settings(max_examples=40, deadline=None)
@given(
    model=st.sampled_from(["gpt2", "qwen2.5-0.5b", "llama-3.2-1b", "llama-3.1-8b"]),
    method=st.sampled_from(["full", "lora"]),
    optimizer=st.sampled_from(["adamw", "adamw-8bit", "paged-adamw-8bit", "sgd"]),
    ckpt=st.booleans(),
    batch=st.integers(1, 4),
    seq=st.sampled_from([128, 512, 2048]),
)
def test_stepping_in_the_backward_never_needs_more(model, method, optimizer, ckpt, batch, seq):
    """--optimizer-in-bwd frees each gradient as it is made: a plan needs no more with it but
    the step of the largest parameter (the embedding or LM head), which runs at the head's
    backward instead of after it (the simulator agrees: tests/frameworks/
    test_in_bwd_simulated.py), and a full fine-tune's peak holds less than half its gradients
    (a layer's, or the largest parameter's: the embedding is at most a third of these models)."""
    from gpuwise.memory.train import model_state
    from gpuwise.models import load_model
    from gpuwise.plan import estimate_memory
    from gpuwise.units import DTYPE_BYTES
    from gpuwise.workload import Workload

    spec = load_model(model)
    w = Workload(method=method, optimizer=optimizer, grad_checkpointing=ckpt, batch=batch, seq=seq)
    off, on = estimate_memory(spec, w), estimate_memory(spec, w.with_(optimizer_in_bwd=True))
    state = model_state(spec, w)
    largest = max(t.numel * DTYPE_BYTES[t.dtype] for t in state.trainable)
    head_step = (state.step_tmp + state.states) * largest / state.grads
    assert on.peak_allocated_bytes <= off.peak_allocated_bytes + head_step + 2  # rounding
    if method == "full":
        assert on.breakdown["gradients"] <= state.grads / 2


def test_llamafactory_full_keeps_fp32_weights_unless_precision_is_given(cli):
    """LLaMA-Factory casts a full fine-tune's trainable weights to fp32 unless pure_bf16: each
    card is planned in amp (amp-bf16, amp-fp16 without bf16) where it would be pure 16-bit;
    --precision bf16 (its pure_bf16) wins."""

    def run(*args: str) -> dict:
        r = cli("plan", "qwen2.5-7b", "--method", "full", "--gpu", "4090", "--gpu", "t4",
                "--gpu", "1080 ti", *args, "--json")  # fmt: skip
        assert r.code == 0, r.err
        return r.json()

    lf = run("--framework", "llamafactory")
    assert lf["framework"]["applied"]["master_fp32"] is True
    assert [c["precision"] for c in lf["cards"]] == ["amp-bf16", "amp-fp16", "fp32"]
    ref = run("--grad-checkpointing", "--optimizer", "adamw-fused")  # its other defaults
    assert [c["precision"] for c in ref["cards"]] == ["bf16", "amp-fp16", "fp32"]
    # fp32 weights, gradients and states: 16 bytes a parameter against bf16's 8 on the 4090
    assert (
        lf["cards"][0]["memory"]["required_bytes"]
        > 1.8 * ref["cards"][0]["memory"]["required_bytes"] - 10 * 2**30
    )
    assert any("fp32" in n and "LLaMA-Factory" in n for n in lf["memory"]["notes"])
    pure = run("--framework", "llamafactory", "--precision", "bf16")
    assert "fp32_master" in pure["framework"]["overridden"]
    assert pure["cards"][0]["precision"] == "bf16"
    assert pure["cards"][0]["memory"] == ref["cards"][0]["memory"]


def test_optimizer_in_bwd_and_gradient_accumulation(cli):
    """Gradients cannot be accumulated when each is stepped as it is made: --optimizer-in-bwd
    with --grad-accum is one line, exit 2; torchtune's default is turned off and said (its
    emitted config sets optimizer_in_bwd: False), so the plan keeps the gradients."""
    r = cli("plan", "llama-3.1-8b", "--method", "full", "--optimizer-in-bwd", "--grad-accum", "4")
    one_line(r, "--optimizer-in-bwd", "--grad-accum 4")
    accum = plan(cli, "--method", "full", "--framework", "torchtune", "--grad-accum", "4")
    single = plan(cli, "--method", "full", "--framework", "torchtune")
    assert "optimizer_in_bwd" not in accum["framework"]["applied"]
    assert any("optimizer_in_bwd is off" in n for n in accum["memory"]["notes"])
    assert accum["memory"]["required_bytes"] > single["memory"]["required_bytes"] + 10 * 2**30
