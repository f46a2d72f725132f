"""The eight questions of docs/scenarios.md (and its Chinese twin) are answered as written.

Each question's command is read from the documents (the same command in both), run in English
and in Chinese, and held to the answer beside it: the verdict, bounds that follow from the
card's own figures (no card computes faster than its peak, or reads weights faster than its
memory bandwidth), and every ``~`` figure the documents quote, within 10 %. The Chinese answer
leaves no English but names; the English one no Chinese.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gpuwise.workload import OPTIMIZERS

from .i18n.checks import leftover_english

ROOT = Path(__file__).resolve().parents[1]
DOCS = {"en": ROOT / "docs" / "scenarios.md", "zh": ROOT / "docs" / "scenarios.zh-CN.md"}
CJK = re.compile(r"[\u4e00-\u9fff]")
GIB = 2**30
_SECTION = re.compile(r"^## (\d)\. ", re.M)
_COMMAND = re.compile(r"^\$ gpuwise (.+)$", re.M)
_FIGURE = re.compile(r"~(\d[\d,.]*)")


def sections(lang: str) -> dict[int, str]:
    """Question number -> its section of the document."""
    text = DOCS[lang].read_text(encoding="utf-8")
    marks = list(_SECTION.finditer(text))
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return {int(m.group(1)): text[m.start() : end] for m, end in zip(marks, ends, strict=True)}


def command(section: str) -> list[str]:
    found = _COMMAND.findall(section)
    assert len(found) == 1, "one command per question"
    return shlex.split(found[0])


def figures(section: str) -> set[str]:
    return {f.rstrip(".,") for f in _FIGURE.findall(section)}


def card(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in doc["cards"] if c["name"] == name]
    return found


def required_gib(doc: dict[str, Any], entry: dict[str, Any]) -> float:
    return (entry.get("memory") or doc["memory"])["required_bytes"] / GIB


def spec_of(cli, name: str) -> dict[str, Any]:
    return cli("model", name, "--json").json()


def peak_flops(cli, name: str, field: str) -> float:
    return cli("gpu", name, "--json").json()[field] * 1e12


# Each check: (the run's JSON, cli) -> {figure as the documents quote it: value it stands for}.


def q1_lora_on_1080ti(doc, cli):
    (c,) = doc["cards"]
    params = doc["model"]["params"]
    assert c["fits"] and c["precision"] == "fp32"
    assert required_gib(doc, c) * GIB >= 4 * params, "at least its weights in fp32"
    assert c["max_batch"] >= 2
    # LoRA's step is at least forward + input gradients: 4 FLOPs per parameter per token
    assert c["time"]["train_tokens_per_s"] * 4 * params <= peak_flops(cli, "1080ti", "fp32_tflops")
    return {
        "8.8": required_gib(doc, c),
        "10.9": c["usable_memory_bytes"] / GIB,
        "2,100": c["max_seq"],
        "660": c["time"]["train_tokens_per_s"],
    }


def q2_4060ti_or_3090(doc, cli):
    small, big = card(doc, "GeForce RTX 4060 Ti 16 GB"), card(doc, "GeForce RTX 3090")
    assert small["fits"] and big["fits"]
    assert big["max_seq"] > small["max_seq"] and big["max_batch"] > small["max_batch"]
    assert big["time"]["train_tokens_per_s"] > small["time"]["train_tokens_per_s"]
    params = doc["model"]["params"]
    for c, slug in ((small, "4060ti16"), (big, "3090")):
        peak = peak_flops(cli, slug, "bf16_tensor_tflops")
        assert c["time"]["train_tokens_per_s"] * 4 * params <= peak
    return {
        "13.8": required_gib(doc, small),
        "6,900": big["max_seq"],
        "2,800": small["max_seq"],
        "800": big["time"]["train_tokens_per_s"],
        "520": small["time"]["train_tokens_per_s"],
    }


def q3_cny_budget(doc, cli):
    ok = [o for o in doc["options"] if o["ok"]]
    assert ok and all(o["currency"] == "cny" and o["cost"] <= 15_000 for o in ok)
    for o in doc["options"]:  # every price says where it comes from and when
        assert re.search(r"\(\d{4}-\d{2}(-\d{2})?\)", o["price_source"]), o["price_source"]
    used_3090 = [o for o in ok if o["gpu"] == "GeForce RTX 3090" and o["price"]["kind"] == "used"]
    assert used_3090 and used_3090[0]["count"] == 1
    assert any(o["gpu"] == "GeForce RTX 4060 Ti 16 GB" for o in ok)
    assert any(o["gpu"] == "GeForce RTX 2080 Ti 22 GB (modified)" for o in ok)
    # ranked by cost to finish (per million tokens), not by price: the P40s, cheaper to buy
    # and several times slower, come after the 2080 Ti 22 GB and the used 3090
    rank = {o["gpu"]: o["rank"] for o in reversed(ok)}
    assert ok[0]["gpu"] == "GeForce RTX 2080 Ti 22 GB (modified)"
    assert rank["GeForce RTX 3090"] < rank["Tesla P40"]
    per = [o["cost_per_million_tokens"] for o in ok]
    assert all(b >= a / 1.05**2 for a, b in itertools.pairwise(per)), per
    over = [o for o in doc["options"] if o["gpu"] == "GeForce RTX 4090 D" and o["count"] == 1]
    assert over and not over[0]["ok"] and over[0]["cost"] > 15_000
    return {"440": used_3090[0]["tokens_per_s"]}


def q4_full_7b_on_4x4090(doc, cli):
    (c,) = doc["cards"]
    params = doc["model"]["params"]
    assert c["fits"] and doc["parallel"]["strategy"] == "zero3-offload"
    # fp32 master weights and Adam's two moments live in host RAM
    assert doc["parallel"]["host_ram_bytes"] >= 12 * params
    zero3 = cli(*command(sections("en")[4])[:-1], "zero3", "--json").json()
    (z,) = zero3["cards"]
    assert not z["fits"] and required_gib(zero3, z) * GIB >= 16 * params / 4
    return {
        "122": 16 * params / 1e9,
        "30": 16 * params / 4 / 1e9,
        "36.4": required_gib(zero3, z),
        "6.8": required_gib(doc, c),
        "128": doc["parallel"]["host_ram_bytes"] / GIB,
        "730": c["time"]["train_tokens_per_s"],
    }


def q5_70b_on_two_3090s(doc, cli):
    (machine,) = doc["cards"]
    assert machine["fits"]
    offload = machine["offload"]
    assert offload["gpu_layers"] == offload["total_layers"]
    per_gpu = offload.get("per_gpu") or machine["per_gpu"]
    assert len(per_gpu) == 2 and all(g["memory_bytes"] < g["usable_memory_bytes"] for g in per_gpu)
    assert sum(g["layers"] for g in per_gpu) == 80 and per_gpu[-1]["output_layer"]
    weights = spec_of(cli, "llama-3.1-70b")["weights_bytes"]["q4_k_m"]
    bandwidth = cli("gpu", "3090", "--json").json()["bandwidth_gb_s"] * 1e9
    # each token reads (nearly) every weight once, one card after the other
    assert machine["time"]["decode_tokens_per_s"] <= bandwidth / (0.95 * weights)
    return {
        "21.2": max(g["memory_bytes"] for g in per_gpu) / GIB,
        "14": machine["time"]["decode_tokens_per_s"],
        "410": machine["time"]["prefill_tokens_per_s"],
    }


def q6_5090_on_old_torch(doc, cli):
    (c,) = doc["cards"]
    assert doc["errors"] is True
    assert [p["code"] for p in c["problems"] if p["severity"] == "error"] == [
        "gpu_too_new_for_torch"
    ]
    # sm_120 kernels arrived with torch 2.7's CUDA 12.8 builds (docs/research/compat-facts)
    assert c["support"]["torch_oldest"] == "2.7" and c["support"]["driver_oldest"] == "570.26"
    assert doc["install"]["command"].startswith("pip install")
    return {}


def q7_gpt2_on_3060(doc, cli):
    (c,) = doc["cards"]
    assert c["fits"]
    params, tokens = doc["model"]["params"], 10e9
    seconds = c["time"]["time_to_train_s"]
    assert seconds >= 6 * params * tokens / peak_flops(cli, "3060", "bf16_tensor_tflops")
    return {
        "10.8": required_gib(doc, c),
        "14,700": c["time"]["train_tokens_per_s"],
        "7.9": seconds / 86_400,
        "32": c["time"]["energy_kwh"],
    }


def q8_bert_on_2080ti(doc, cli):
    (c,) = doc["cards"]
    assert not c["fits"] and c["precision"] == "amp-fp16"
    assert 16 <= c["max_batch"] < 32
    changes = {a["change"]: a for a in doc["advice"]["fits_alone"]}
    assert changes["gradient checkpointing"]["fits"]
    return {
        "14.6": required_gib(doc, c),
        "10.4": c["usable_memory_bytes"] / GIB,
        "340": c["max_seq"],
        "0.8": changes["gradient checkpointing"]["speed_vs_now"],
    }


CHECKS: dict[int, Callable[[dict[str, Any], Any], dict[str, float]]] = {
    1: q1_lora_on_1080ti,
    2: q2_4060ti_or_3090,
    3: q3_cny_budget,
    4: q4_full_7b_on_4x4090,
    5: q5_70b_on_two_3090s,
    6: q6_5090_on_old_torch,
    7: q7_gpt2_on_3060,
    8: q8_bert_on_2080ti,
}


def test_both_documents_ask_the_same_eight_questions_with_the_same_commands():
    en, zh = sections("en"), sections("zh")
    assert sorted(en) == sorted(zh) == list(CHECKS)
    for number in CHECKS:
        assert command(en[number]) == command(zh[number])
        assert figures(en[number]) == figures(zh[number]), number


def _names(command: str, doc: dict[str, Any]) -> list[str]:
    """What the answer shows from data or the user's own words (names, codes), as each
    command's Chinese tests count them."""
    from .i18n import test_zh_doctor, test_zh_plan, test_zh_recommend

    words: dict[str, Callable[[dict[str, Any]], list[str]]] = {
        "plan": test_zh_plan.data_words,
        "recommend": test_zh_recommend.data_words,
        "doctor": test_zh_doctor.names_in,
    }
    # codes shown as they are typed: the optimizer, llama.cpp's `--split-mode layer` (a
    # table may fold a command in backticks onto two lines)
    return [*words[command](doc), *OPTIMIZERS, "layer"]


@pytest.mark.parametrize("number", sorted(CHECKS))
def test_the_command_gives_the_answer_written_beside_it(cli, number):
    args = command(sections("en")[number])
    r = cli(*args, "--json")
    assert r.code == (1 if args[0] == "doctor" else 0), r.err
    doc = r.json()
    quoted = CHECKS[number](doc, cli)
    assert set(quoted) == figures(sections("en")[number]), "every ~figure is checked"
    for shown, value in quoted.items():
        figure = float(shown.replace(",", ""))
        assert abs(value - figure) <= 0.1 * figure, f"question {number}: ~{shown} is {value:.4g}"


@pytest.mark.parametrize("number", sorted(CHECKS))
def test_the_answer_is_said_in_chinese_and_in_english(cli, number):
    args = command(sections("en")[number])
    names = [*args, *_names(args[0], cli(*args, "--json").json())]
    en = cli(*args)
    zh = cli(*args, "--lang", "zh")
    assert en.code == zh.code
    assert not CJK.search(en.out), "English answer with Chinese in it"
    assert CJK.search(zh.out)
    assert leftover_english(zh.out, names) == []
