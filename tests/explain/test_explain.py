"""`gpuwise explain`: the walk through a plan's numbers. Its figures are the plan's (the same
job through `gpuwise plan --json` gives the same memory, verdict and time), its steps come in
the article's order, its formulas give the values they stand beside, the parameter counts of
known models are the published ones, and its GB and GiB figures are the same bytes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.explain.walk import STEP_IDS
from gpuwise.models import load_model

from ..checks import command_loads_none_of, one_line

PRESETS = Path(__file__).resolve().parents[2] / "src/gpuwise/models/presets/index.json"

#: Jobs of every kind the walk must explain as the plan has them: dense GQA with and without
#: biases, LoRA on some linears, QLoRA, mixed precision, checkpointing, MoE, an encoder
#: (BERT), tied embeddings (GPT-2), inference with quantized weights, and a job on no card.
CASES = [
    ["llama-3.1-8b", "--gpu", "4090"],
    ["llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--tokens", "100M"],
    ["qwen2.5-7b", "--method", "lora", "--lora-targets", "q_proj,v_proj", "--gpu", "a100-sxm-80gb"],
    ["qwen2.5-1.5b", "--precision", "amp-bf16", "--grad-checkpointing", "--gpu", "4090"],
    ["qwen3-30b-a3b", "--method", "lora", "--batch", "2", "--seq", "512", "--gpu", "h100"],
    ["bert-base-uncased", "--batch", "32", "--seq", "128", "--gpu", "2080ti"],
    ["gpt2", "--gpu", "3060", "--tokens", "1B"],
    ["gpt2", "--gpu", "1080ti", "--reserve", "1.5", "--batch", "8"],
    ["llama-3.2-1b", "--method", "lora", "--gpu", "1080ti"],
    ["mistral-7b-v0.3", "--task", "infer", "--weight-dtype", "int4", "--gpu", "4060ti16"],
    ["qwen2.5-7b", "--task", "infer", "--batch", "8", "--gpu", "4090", "--tokens", "1M"],
    ["llama-3.1-8b", "--method", "lora", "--precision", "bf16"],
]


def lines(doc: dict, step: str) -> dict[str, dict]:
    found = [s for s in doc["steps"] if s["id"] == step]
    assert len(found) == 1, step
    return {x["key"]: x for x in found[0]["lines"]}


def value(doc: dict, step: str, key: str):
    return lines(doc, step)[key]["value"]


def both(cli, args: list[str]) -> tuple[dict, dict]:
    """The explanation and the plan of the same job, as --json prints them."""
    r = cli("explain", *args, "--json")
    assert r.code == 0, r.err
    p = cli("plan", *args, "--json", "--no-search")
    assert p.code == 0, p.err
    return r.json(), p.json()


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_every_figure_is_the_plans(cli, args):
    doc, plan = both(cli, args)
    assert doc["model"]["params"] == plan["model"]["params"]
    task = doc["workload"]["task"]
    params = plan["model"]["trained_params"] if task == "train" else plan["model"]["params"]
    assert value(doc, "parameters", "total") == params
    card = plan["cards"][0] if "--gpu" in args else None
    memory = card["memory"] if card else plan["memory"]
    assert doc["memory"] == memory
    assert doc["workload"] == plan["workload"]
    total = lines(doc, "total")
    assert total["peak_allocated"]["value"] == memory["peak_allocated_bytes"]
    assert total["required"]["value"] == memory["required_bytes"]
    assert total["cuda_context"]["value"] == memory["overhead"]["cuda_context_bytes"]
    assert total["allocator"]["value"] == memory["overhead"]["allocator_bytes"]
    for kind, size in memory["breakdown"].items():
        if kind != "overhead" and size:
            assert total[f"breakdown.{kind}"]["value"] == size
    held = lines(doc, "bytes_per_parameter")
    weights = (
        held["weights"]["value"]
        if "weights" in held
        else (held["base_weights"]["value"] + held["adapter_weights"]["value"])
    )
    assert weights == memory["breakdown"]["weights"]
    assert value(doc, "units", "required") == memory["required_bytes"]
    if card is None:
        assert doc["card"] is None and "usable" not in total and "rate" not in lines(doc, "flops")
        return
    assert total["usable"]["value"] == card["usable_memory_bytes"]
    assert total["headroom"]["value"] == card["headroom_bytes"]
    assert doc["reserve_bytes"] == plan["reserve_bytes"]
    if plan["reserve_bytes"]:
        assert total["reserve"]["value"] == plan["reserve_bytes"]
    assert total["fits"]["value"] is card["fits"]
    assert doc["card"]["fits"] is card["fits"] and doc["card"]["name"] == card["name"]
    flops, time = lines(doc, "flops"), card["time"]
    if task == "train":
        assert flops["tokens_per_s"]["value"] == time["train_tokens_per_s"]
        assert flops["step_s"]["value"] == time["step_s"]
        assert flops["mfu"]["value"] == time["mfu"]
        if time["time_to_train_s"] is not None:
            assert flops["time_to_train_s"]["value"] == time["time_to_train_s"]
            assert flops["energy_kwh"]["value"] == time["energy_kwh"]
    else:
        assert flops["decode_tokens_per_s"]["value"] == time["decode_tokens_per_s"]
        assert flops["prefill_tokens_per_s"]["value"] == time["prefill_tokens_per_s"]
        assert flops["bandwidth_efficiency"]["value"] == time["bandwidth_efficiency"]
        if time["time_to_generate_s"] is not None:
            assert flops["time_to_generate_s"]["value"] == time["time_to_generate_s"]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_the_steps_come_in_the_articles_order(cli, args):
    doc = cli("explain", *args, "--json").json()
    assert [s["id"] for s in doc["steps"]] == list(STEP_IDS)
    assert [s["number"] for s in doc["steps"]] == [1, 2, 3, 4, 5, 6]
    assert STEP_IDS == (
        "parameters",
        "bytes_per_parameter",
        "activations",
        "total",
        "flops",
        "units",
    )
    out = cli("explain", *args).out
    titles = [out.index(f"Step {i}: {s['title']}") for i, s in enumerate(doc["steps"], 1)]
    assert titles == sorted(titles)
    for step in doc["steps"]:
        assert step["lines"] and step["idea"]
        for x in step["lines"]:
            assert str(x["label"]).strip()


def arithmetic(formula: str) -> float:
    """A formula as shown (``(768 × 768 + 768 bias) × 12 layers``), worked out: its words
    dropped, ``×`` multiplied, thousands separators read."""
    expression = re.sub(r"[^0-9.+()×]", "", formula.replace(",", "")).replace("×", "*")
    return eval(expression, {"__builtins__": {}})  # only digits, + * ( ) are left


@pytest.mark.parametrize(
    ("model", "published"),
    [("llama-3.1-8b", 8_030_261_248), ("qwen2.5-7b", 7_615_616_512)],
)
def test_parameters_from_the_shapes_are_the_published_count(cli, model, published):
    """Each tensor's formula gives its value, and the values add up to the model's count as
    transformers counts ``model.parameters()`` (8.03 B and 7.62 B on the models' Hugging Face
    pages; exact in presets/index.json, ``transformers_params``, with the version counted on)."""
    doc = cli("explain", model, "--json").json()
    rows = [x for x in doc["steps"][0]["lines"] if x["key"] not in ("total",)]
    for x in rows:
        assert arithmetic(x["formula"]) == x["value"], x
    assert sum(x["value"] for x in rows) == published
    assert value(doc, "parameters", "total") == published
    spec = load_model(model)
    by_hand = sum(
        (math.prod(b.shape) + b.bias) * b.count for b in spec.train_blocks
    )  # rows x columns (+ bias) x layers, not ParamBlock.numel
    assert by_hand == published
    index = json.loads(PRESETS.read_text(encoding="utf-8"))["presets"][model]
    assert index["transformers_params"] == published


def test_lora_adapters_are_rank_times_in_plus_out(cli):
    doc = cli("explain", "qwen2.5-7b", "--method", "lora", "--lora-rank", "8", "--json").json()
    rows = [x for x in doc["steps"][0]["lines"] if x["key"].startswith("lora.")]
    assert len(rows) == 7  # q, k, v, o, gate, up, down
    for x in rows:
        assert arithmetic(x["formula"].split(" (A:")[0]) == x["value"], x
    trainable = value(doc, "parameters", "trainable")
    assert trainable == sum(x["value"] for x in rows)
    # Qwen2.5-7B: 28 layers of r (in + out) for q 3584+3584, k and v 3584+512, o 3584+3584,
    # gate and up 3584+18944, down 18944+3584
    assert trainable == 8 * 28 * (2 * 7168 + 2 * 4096 + 3 * 22528)
    held = lines(doc, "bytes_per_parameter")
    assert held["gradients"]["value"] == 4 * trainable  # fp32 adapters, as peft makes them
    assert held["optimizer"]["value"] >= 8 * trainable  # AdamW's two fp32 moments


def test_full_training_bytes_per_parameter_follow_the_precision(cli):
    """bf16: 2 + 2 + 4 bytes per parameter; mixed precision: 4 + 4 + 8."""
    for precision, per in (("bf16", 8), ("amp-bf16", 16)):
        doc = cli("explain", "gpt2", "--precision", precision, "--json").json()
        held = lines(doc, "bytes_per_parameter")
        n = doc["model"]["trained_params"]
        total = held["model_state"]["value"]
        assert abs(total - per * n) < 1e-4 * total, (precision, total / n)


def test_checkpointing_is_explained_by_the_plan_of_the_other_choice(cli):
    args = ["llama-3.2-1b", "--method", "lora", "--gpu", "4090"]
    without = cli("explain", *args, "--json").json()
    with_ckpt = cli("plan", *args, "--grad-checkpointing", "--json", "--no-search").json()
    said = value(without, "activations", "other_checkpointing")
    assert said == with_ckpt["cards"][0]["memory"]["peak_allocated_bytes"]
    assert said < without["memory"]["peak_allocated_bytes"]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_gb_and_gib_are_the_same_bytes(cli, args):
    doc = cli("explain", *args, "--json").json()
    sized = [x for step in doc["steps"] for x in step["lines"] if x["unit"] == "bytes"]
    assert len(sized) >= 8
    for x in sized:
        assert x["gb"] == round(x["value"] / 1e9, 3), x
        assert x["gib"] == round(x["value"] / 2**30, 3), x
    both_units = [x for key, x in lines(doc, "units").items() if key != "sold"]
    assert both_units
    for x in both_units:
        shown = re.fullmatch(r"(-?[\d,]+) bytes = (-?[\d,.]+) GB = (-?[\d,.]+) GiB", x["formula"])
        assert shown, x["formula"]
        size, gb, gib = (float(g.replace(",", "")) for g in shown.groups())
        assert size == x["value"]
        assert gb == round(size / 1e9, 2) and gib == round(size / 2**30, 2)
        assert abs(gb) >= abs(gib)  # a GiB is 7.37 % more bytes than a GB


def test_the_card_as_sold_is_gib_of_memory_chips(cli):
    doc = cli("explain", "gpt2", "--gpu", "3090", "--json").json()
    sold = lines(doc, "units")["sold"]
    assert sold["value"] == 24 * 2**30 and "24 GB" in sold["label"]
    usable = value(doc, "units", "usable")
    assert usable < sold["value"]  # the driver keeps some: 23.70 of 24 GiB on a 3090


def test_the_text_shows_the_json_figures(cli):
    args = ["llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--tokens", "100M"]
    doc = cli("explain", *args, "--json").json()
    out = cli("explain", *args).out
    assert "8,030,261,248" in out and "GeForce RTX 3090" in out
    assert f"{value(doc, 'parameters', 'trainable'):,}" in out
    assert "26.93 GiB" in out  # what the card must have, as plan reports it
    assert not re.search(r"[\u4e00-\u9fff]", out)  # English says no Chinese
    shown = [x["shown"] for step in doc["steps"] for x in step["lines"]]
    assert len(shown) > 30
    for text in shown:  # every value on screen is the JSON's, as the web page shows it
        assert f" {text} │" in out, text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["no-such-model-xyz"], "no-such-model-xyz"),
        (["gpt2", "--gpu", "3090", "--gpu", "4090"], "one card"),
        (["gpt2", "--gpu", "3090,4090"], "one card"),
        (["gpt2", "--gpu", "no-such-card"], "no-such-card"),
        (["gpt2", "--tokens", "lots"], "--tokens"),
        (["gpt2", "--batch", "0"], "--batch"),
        (["bert-base-uncased", "--task", "infer"], "encoder"),
    ],
)
def test_bad_input_is_one_line(cli, args, says):
    r = cli("explain", *args)
    one_line(r, says)
    j = cli("explain", *args, "--json")
    assert j.code == 2 and "error" in j.json()


_FLAGS = [
    "--batch",
    "--seq",
    "--lora-rank",
    "--tokens",
    "--gpu",
    "--precision",
    "--method",
    "--task",
    "--optimizer",
    "--weight-dtype",
    "--kv-dtype",
    "--lora-targets",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(_FLAGS),
    text=st.text(min_size=1, max_size=10).filter(lambda s: not s.startswith("-")),
    lang=st.sampled_from(["en", "zh"]),
)
def test_any_malformed_flag_is_one_line_or_an_answer(cli, flag, text, lang):
    args = ["gpt2", "--method", "lora"] if flag.startswith("--lora") else ["gpt2"]
    r = cli("explain", *args, f"{flag}={text}", "--json", "--lang", lang)
    assert r.code in (0, 2) and "Traceback" not in r.err, r.err
    if r.code == 2:
        assert r.err.count("\n") == 1, r.err
        if lang == "zh":  # in the user's language
            assert re.search(r"[\u4e00-\u9fff]", r.err), r.err
    else:
        assert len(r.json()["steps"]) == 6


#: What a cold start would pay for and a JSON answer never needs (as for plan: tests/cli).
SLOW_TO_IMPORT = (
    "typing",
    "pathlib",
    "dataclasses",
    "inspect",
    "importlib.resources",
    "rich",
    "torch",
    "transformers",
)


@pytest.mark.parametrize(
    "args",
    [
        ["llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--json"],
        ["qwen2.5-7b", "--task", "infer", "--gpu", "4090", "--json", "--lang", "zh"],
    ],
)
def test_explain_json_loads_what_plan_json_loads(args):
    """The fast path: no torch or transformers, and none of what costs a cold start."""
    command_loads_none_of(["explain", *args], SLOW_TO_IMPORT)
