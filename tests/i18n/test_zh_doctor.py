"""What ``gpuwise doctor`` says in Chinese: the machines beginners describe (a 1080 Ti on a new
torch, a 5090 on an old torch, a working 4090) and the ones detection finds (no GPU, no driver,
a GPU torch has no kernels for) hold no English prose but names, versions, commands and what
PyTorch / TensorFlow print (quoted as they print it); tables line up; ``--json`` keeps its keys,
codes and numbers and says its prose in Chinese; bad flags are one Chinese line."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.doctor import build_report, detect, load_knowledge
from gpuwise.doctor.frameworks import load_frameworks
from gpuwise.i18n import use
from gpuwise.packaged import packaged_json
from gpuwise.render.console import console
from gpuwise.render.doctor_json import doctor_doc
from gpuwise.render.doctor_tables import doctor_tables
from tests.doctor.fakes import (
    NVCC_12_8,
    SMI_DRIVER_NOT_LOADED,
    Scenario,
    fake_jax,
    fake_tensorflow,
    fake_torch,
    smi_rows,
)

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

#: Machines a beginner asks about, described with flags (what each must find).
MACHINES = {
    "1080 Ti on a new torch": (
        ["--card", "1080 ti", "--driver", "535.104.05", "--torch", "2.8.0+cu128"],
        {"gpu_too_old_for_torch", "torch_compile_unsupported"},
    ),
    "5090 on an old torch": (
        [
            "--card", "5090", "--driver", "570.86", "--torch", "2.5.1+cu124",
            "--tensorflow", "2.18.0", "--jax", "0.4.30", "--python", "3.12",
        ],
        {"gpu_too_new_for_torch", "tensorflow_gpu_fails", "jax_ptx_jit"},
    ),
    "a working 4090": (
        [
            "--card", "4090", "--driver", "580.65.06", "--torch", "2.9.0+cu128",
            "--tensorflow", "2.21.0", "--jax", "0.10.2", "--python", "3.12",
        ],
        set(),
    ),
    "two cards on Windows": (
        [
            "--card", "3060", "--card", "1660 super", "--driver", "572.16", "--os", "windows",
            "--torch", "2.10.0", "--tensorflow", "2.21.0", "--jax", "0.10.2", "--python", "3.9",
        ],
        {"tensorflow_windows_no_gpu", "jax_windows_no_gpu", "torch_not_cuda"},
    ),
    "an untagged torch whose default is not confirmed": (
        ["--card", "3090", "--torch", "2.10.0", "--tensorflow", "2.15.0", "--jax", "9.9"],
        {"torch_build_assumed", "jax_not_in_table"},
    ),
}  # fmt: skip


def said_by_tools() -> list[str]:
    """What PyTorch, Triton, FlashAttention and TensorFlow print, as doctor quotes it (data,
    not gpuwise's words: a table may fold a quote onto two lines)."""
    compat = packaged_json("gpuwise.doctor", "data/compat.json")
    texts = [m["text"] for m in compat["messages"].values()]
    texts += [*load_frameworks().tf_messages.values(), load_frameworks().tf_windows_command]
    texts += ["RuntimeError", "CUDA_ERROR_INVALID_PTX", "cuModuleLoadData"]
    # the projects doctor names (a table may fold a name in backticks onto two lines)
    return [*texts, "flash-attn", "Transformer Engine", "torchao", "Inductor", "pip install"]


def names_in(doc: dict) -> list[str]:
    """The words of a doctor document that come from data: card names and architectures, the
    machine's own strings, versions, the install commands and the tools' quoted words."""
    s = doc["system"]
    names = [s["os_detail"], s["os"], *s["libraries"], *said_by_tools()]
    if s["torch"]:  # its version and wheel variant ("cpu": PyPI's default on Windows)
        names += [s["torch"]["version"], *s["torch"]["version"].split("+")[1:], "cpu"]
    for c in doc["cards"]:
        names += [c["name"], c["architecture"] or ""]
        names += [(c["install"] or {}).get("command") or ""]
        names += [f["install"]["command"] or "" for f in c["frameworks"].values()]
    names += [str((doc["install"] or {}).get("command") or "")]
    return names


def shown(doc: dict, capsys) -> str:
    out = console()
    for r in doctor_tables(doc):
        out.print(r)
    return capsys.readouterr().out


def codes(doc: dict) -> set[str]:
    return {p["code"] for c in doc["cards"] for p in c["problems"]}


@pytest.mark.parametrize("machine", list(MACHINES))
def test_a_described_machine_in_chinese_leaves_no_english(cli, machine):
    args, finds = MACHINES[machine]
    en = cli("doctor", *args, "--json")
    doc = en.json()
    assert finds <= codes(doc)
    zh = cli("doctor", *args, "--lang", "zh")
    assert zh.code == en.code and zh.err == ""
    assert "建议" in zh.out or "错误" in zh.out
    assert leftover_english(zh.out, names_in(doc)) == [], zh.out
    assert table_lines_aligned(zh.out) == []


def test_the_english_check_sees_doctor_in_english(cli):
    """Not vacuous: the same check finds the English words of the English output."""
    args, _ = MACHINES["1080 Ti on a new torch"]
    r = cli("doctor", *args)
    left = leftover_english(r.out, names_in(cli("doctor", *args, "--json").json()))
    assert {"advice", "Install", "Works", "build"} <= set(left)


def test_the_json_keeps_keys_codes_and_numbers_and_says_prose_in_chinese(cli):
    args, _ = MACHINES["5090 on an old torch"]
    en = cli("doctor", *args, "--json").json()
    zh = cli("doctor", *args, "--json", "--lang", "zh").json()

    def shape(value):
        """The document with every prose value blanked: keys, codes, numbers, commands."""
        if isinstance(value, dict):
            return {
                k: "" if k in ("message", "note", "found", "what_it_checks") else shape(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [shape(v) for v in value]
        return value

    assert shape(en) == shape(zh)
    [card_en], [card_zh] = en["cards"], zh["cards"]
    prose = [p["message"] for p in card_zh["problems"]] + [a["message"] for a in card_zh["advice"]]
    prose += [card_zh["install"]["note"]] + [
        f["install"]["note"] for f in card_zh["frameworks"].values()
    ]
    english = [p["message"] for p in card_en["problems"]] + [
        a["message"] for a in card_en["advice"]
    ]
    assert len(prose) > 8
    for text in prose:
        assert re.search(r"[\u4e00-\u9fff]", text), text
        assert leftover_english(text, names_in(zh)) == [], text
    assert not set(prose) & set(english)


def _detected(scenario: Scenario, language: str, capsys) -> tuple[dict, str]:
    before = use(language)
    try:
        kb, catalog = load_knowledge(), load_catalog()
        doc = doctor_doc(
            build_report(kb, catalog, detect(scenario.probes())), kb.date, catalog.date
        )
        return doc, shown(doc, capsys)
    finally:
        use(before)


DETECTED = {
    "no GPU": lambda: Scenario(torch_version="2.13.0+cpu"),
    "no driver running": lambda: Scenario(
        smi=(9, SMI_DRIVER_NOT_LOADED, ""), torch_version="2.8.0+cu128"
    ),
    "Pascal on a torch without sm_61, TensorFlow CPU-only, JAX without a GPU": lambda: Scenario(
        smi=smi_rows("NVIDIA GeForce GTX 1080 Ti, 575.57.08, 11264 MiB, 312 MiB, 6.1"),
        torch_version="2.8.0+cu128",
        torch_module=fake_torch(
            "2.8.0+cu128",
            (
                "NVIDIA GeForce GTX 1080 Ti with CUDA capability sm_61 is not compatible with "
                "the current PyTorch installation.",
            ),
        ),
        libs={
            "bitsandbytes": "0.48.1",
            "flash_attn": "2.8.3",
            "tensorflow-cpu": "2.20.0",
            "jax": "0.7.0",
            "jax-cuda12-plugin": "0.7.0",
        },
        modules={
            "tensorflow": fake_tensorflow({"is_cuda_build": False}, 0),
            "jax": fake_jax(("cpu",)),
        },
        nvcc=NVCC_12_8,
    ),
}


@pytest.mark.parametrize("name", list(DETECTED))
def test_a_detected_machine_in_chinese_leaves_no_english(name, capsys):
    en_doc, _ = _detected(DETECTED[name](), "en", capsys)
    zh_doc, out = _detected(DETECTED[name](), "zh-CN", capsys)
    assert [p["code"] for p in en_doc["problems"]] == [p["code"] for p in zh_doc["problems"]]
    assert codes(en_doc) == codes(zh_doc)
    # a GPU's and a package's own words: what nvidia-smi printed, the versions found
    names = [*names_in(zh_doc), SMI_DRIVER_NOT_LOADED, "tensorflow-cpu", "cuda12"]
    names += [p["message"] for p in zh_doc["problems"] if p["code"] == "torch_cuda_warning"]
    assert leftover_english(out, names) == [], out
    for c in zh_doc["checked"]:
        assert leftover_english(str(c["found"]), names) == [], c
    assert table_lines_aligned(out) == []
    if not zh_doc["cards"]:
        assert "没有找到 NVIDIA GPU" in out


def test_the_notes_of_the_data_files_are_in_both_languages():
    """Every note a user is shown from doctor's data files has its Chinese beside it."""
    compat = packaged_json("gpuwise.doctor", "data/compat.json")
    notes = [r for r in compat["torch"]["releases"] if "default_note" in r]
    groups = load_frameworks().raw["tensorflow"]["arch_groups"].values()
    notes_fw = [g for g in groups if "note" in g]
    assert notes and notes_fw
    for entry, field in [(r, "default_note") for r in notes] + [(g, "note") for g in notes_fw]:
        zh = entry.get(f"{field}_zh")
        assert zh and re.search(r"[\u4e00-\u9fff]", zh), entry[field]
        assert leftover_english(zh, [entry[field]]) == []


def test_a_data_note_is_said_in_the_language_in_use(cli):
    args = ["--card", "3090", "--torch", "2.10.0", "--os", "linux", "--json"]
    en = cli("doctor", *args).json()["cards"][0]["problems"]
    zh = cli("doctor", *args, "--lang", "zh").json()["cards"][0]["problems"]
    [en_note] = [p["message"] for p in en if p["code"] == "torch_build_assumed"]
    [zh_note] = [p["message"] for p in zh if p["code"] == "torch_build_assumed"]
    assert "no source states it directly" in en_note
    assert "没有来源直接说明" in zh_note and "no source" not in zh_note


def test_help_in_chinese_leaves_no_english(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("doctor", "--help", "--lang", "zh")
    assert r.code == 0 and "用法：" in r.out
    # flags, metavars and choices stay; the examples are commands
    names = ["doctor", "linux", "windows", "NAME", "VERSION", "GTX 1080 Ti"]
    assert leftover_english(r.out, names) == []


BAD = [
    (["--driver", "abc"], ["'abc'"]),
    (["--torch", "2.8.0+cu999"], ["cu999"]),
    (["--torch", "two"], ["'two'"]),
    (["--tensorflow", "x.y"], ["'x.y'"]),
    (["--jax", "jax"], ["'jax'"]),
    (["--python", "2.7"], ["'2.7'"]),
    (["--card", "zzz9999"], ["zzz9999"]),
    (["--card", "a\x1bb"], []),
    (["--os", "mac"], ["mac", "linux", "windows"]),
]


@pytest.mark.parametrize(("args", "names"), BAD, ids=[" ".join(a)[:30] for a, _ in BAD])
def test_a_bad_flag_is_one_chinese_line(cli, args, names):
    r = cli("doctor", *args, "--lang", "zh")
    one_line(r, "错误")
    said = r.err.split("：", 1)[1]
    assert re.search(r"[\u4e00-\u9fff]", said), r.err
    catalog = [c.name for c in load_catalog().cards]
    assert leftover_english(said, [*names, *args, *catalog]) == [], r.err


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(["--driver", "--torch", "--tensorflow", "--jax", "--python"]),
    value=st.text(max_size=30).filter(lambda v: not v.startswith("-")),
)
def test_any_malformed_version_is_one_chinese_line_or_accepted(cli, flag, value):
    r = cli("doctor", "--card", "3090", flag, value, "--lang", "zh")
    if r.code in (0, 1):
        return  # a version doctor reads
    one_line(r, "错误")
    said = r.err.split("：", 1)[1]
    assert leftover_english(said, [value, repr(value), repr(value[:40]), flag]) == [], r.err
    doc = cli("doctor", "--card", "3090", flag, value, "--lang", "zh", "--json").json()
    assert set(doc["error"]) == {"code", "message"} and doc["error"]["message"] in r.err
    assert json.dumps(doc["error"]["message"], ensure_ascii=False) != ""
