"""The command line as users and scripts use it: the JSON contract, exit codes, one-line errors,
and the fast path that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.render.card_json import CARD_KEYS

from ..checks import command_loads_none_of

CONTRACT_CARD = {
    "name",
    "series",
    "architecture",
    "compute_capability",
    "memory_gb",
    "bandwidth_gb_s",
    "fp32_tflops",
    "fp16_tensor_tflops",
    "bf16_tensor_tflops",
    "tdp_w",
    "launch_price_usd",
    "features",
}


def test_gpus_json_contract(cli):
    r = cli("gpus", "--json")
    assert r.code == 0 and r.err == ""
    doc = r.json()
    assert {"schema_version", "gpuwise_version", "catalog_date"} <= set(doc)
    assert doc["count"] == len(doc["cards"]) == len(load_catalog())
    for card in doc["cards"]:
        assert set(card) >= CONTRACT_CARD
        assert isinstance(card["compute_capability"], str)
        assert isinstance(card["usable_memory_bytes"], int)


def test_gpu_json_contract(cli):
    doc = cli("gpu", "rtx 3090", "--json").json()
    assert doc["name"] == "GeForce RTX 3090" and doc["compute_capability"] == "8.6"
    assert set(doc) >= CONTRACT_CARD and doc["sources"]["memory_gb"]["title"]
    assert doc["catalog_date"] and doc["schema_version"] == 1


def test_model_json_contract(cli):
    doc = cli("model", "qwen3-30b-a3b", "--json").json()
    assert doc["model_type"] == "qwen3_moe"
    assert isinstance(doc["params"], int) and doc["active_params"] < doc["params"]
    assert sum(doc["params_by_part"].values()) == doc["params"]
    assert doc["weights_bytes"]["bf16"] == 2 * doc["params"]
    assert doc["weights_bytes"]["nf4"] < doc["weights_bytes"]["int8"] < doc["weights_bytes"]["bf16"]


def test_filters_and_sort(cli):
    doc = cli(
        "gpus",
        "--series",
        "RTX 40",
        "--min-memory",
        "16",
        "--feature",
        "fp8",
        "--sort",
        "bf16_tensor_tflops",
        "--desc",
        "--json",
    ).json()
    names = [c["name"] for c in doc["cards"]]
    assert names[0] == "GeForce RTX 4090"
    assert all("fp8" in c["features"] and c["memory_gb"] >= 16 for c in doc["cards"])
    rates = [c["bf16_tensor_tflops"] for c in doc["cards"] if c["bf16_tensor_tflops"]]
    assert rates == sorted(rates, reverse=True)


def test_tables_show_the_json_numbers(cli):
    """Both faces read one document: the table shows the JSON's figures."""
    doc = cli("gpu", "4090", "--json").json()
    table = cli("gpu", "4090").out
    assert f"{doc['bandwidth_gb_s']:,}".rstrip("0").rstrip(".") in table
    model = cli("model", "gpt2", "--json").json()
    assert f"{model['params']:,}" in cli("model", "gpt2").out


@pytest.mark.parametrize(
    "args,says",
    [
        (("gpu", "rtx 4095"), "unknown card"),
        (("gpu", "4060 ti"), "ambiguous"),
        (("gpus", "--sort", "colour"), "cannot sort by"),
        (("gpus", "--feature", "warp-drive"), "unknown feature"),
        (("gpus", "--series", "Voodoo"), "no series matches"),
        (("gpus", "--min-memory", "lots"), "invalid float"),
        (("model", "no-such-model"), "unknown model"),
        (("model",), "give a MODEL"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args, says):
    r = cli(*args)
    assert r.code == 2 and r.out == ""
    assert says in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err


def test_malformed_config_file(cli, tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama", "hidden_size": "big"')
    r = cli("model", str(path))
    assert r.code == 2 and "not valid JSON" in r.err and r.err.count("\n") == 1


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=20))
def test_any_card_name_exits_0_or_2(cli, name):
    r = cli("gpu", name, "--json")
    assert r.code in (0, 2) and "Traceback" not in r.err
    if r.code == 0:
        json.loads(r.out)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(["--sort", "--feature", "--series", "--min-memory"]),
    value=st.text(min_size=1, max_size=12).filter(lambda s: not s.startswith("-")),
)
def test_any_gpus_flag_value_exits_0_or_2(cli, flag, value):
    r = cli("gpus", flag, value, "--json")
    assert r.code in (0, 2) and "Traceback" not in r.err


@pytest.mark.parametrize(
    "args",
    [
        ["gpus", "--json"],
        ["gpu", "3090", "--json"],
        ["model", "deepseek-v3", "--json"],
        ["model", "7b"],
        ["gpus"],
        ["recommend", "llama-3.1-8b", "--budget", "500", "--json"],
        ["recommend", "llama-3.1-8b", "--have", "3060"],
        ["plan", "llama-3.1-8b", "--gpus", "4", "--strategy", "zero3", "--json"],
        ["plan", "llama-3.1-8b", "--gpu", "3060", "--json"],
    ],
)
def test_fast_path_never_imports_torch_or_transformers(args):
    command_loads_none_of(args, ("torch", "transformers"))


@pytest.mark.parametrize("args", [["gpus"], ["gpu", "h200"], ["model", "deepseek-v3"]])
def test_tables_never_cut_a_figure(cli, args):
    assert "…" not in cli(*args).out


def test_pipe_closed_early_prints_no_traceback():
    r = subprocess.run(
        f"{sys.executable} -m gpuwise gpus | head -1", shell=True, capture_output=True, text=True
    )
    assert "Traceback" not in r.stderr and "Error" not in r.stderr


def test_card_keys_cover_the_contract():
    assert CONTRACT_CARD - {"features"} <= set(CARD_KEYS)


#: What a cold start would pay for and a JSON answer never needs: the modules each of these
#: costs milliseconds of a budget of tens (scripts/bench_cold.py).
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
        ["gpus", "--json"],
        ["gpu", "3090", "--json"],
        ["model", "src/gpuwise/models/presets/llama-3.1-8b.json", "--json"],
        ["plan", "src/gpuwise/models/presets/llama-3.1-8b.json", "--gpu", "4090", "--json"],
        ["plan", "qwen2.5-7b", "--method", "lora", "--batch", "4", "--json"],
        ["plan", "mistral-7b-v0.3", "--task", "infer", "--weight-dtype", "int4", "--json"],
        ["plan", "llama-3.1-8b", "--gpus", "4", "--strategy", "zero3", "--json"],
        ["recommend", "llama-3.1-8b", "--method", "lora", "--json"],
    ],
)
def test_json_answers_load_nothing_slow(args):
    command_loads_none_of(args, SLOW_TO_IMPORT)


@pytest.mark.parametrize("collecting", [True, False])
def test_a_command_leaves_the_cycle_collector_as_it_found_it(collecting):
    """main() pauses the collector while a command runs (a search makes objects by the
    hundred thousand) and puts it back, even when the command fails."""
    import gc

    from gpuwise.cli.main import main

    (gc.enable if collecting else gc.disable)()
    try:
        assert main(["gpu", "no such card", "--json"]) == 2
        assert gc.isenabled() is collecting
        assert main(["gpus", "--json"]) == 0
        assert gc.isenabled() is collecting
    finally:
        gc.enable()
