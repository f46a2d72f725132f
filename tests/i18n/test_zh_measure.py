"""What ``probe`` and ``bench`` say in Chinese: the simulated and the measured step of a tiny
model on the CPU, a CPU bench, and the tables of a GPU run (an out-of-memory, a card the plan
says cannot fit) hold no English prose but names, units and what torch prints; tables line up;
--json keeps its keys and figures; bad flags are one Chinese line."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.i18n import use
from gpuwise.render.console import console
from gpuwise.render.measure_tables import bench_table, measure_table

from ..checks import TINY_CONFIG, one_line
from .checks import leftover_english, table_lines_aligned

pytest.importorskip("torch")
pytest.importorskip("transformers")

CHINESE = re.compile(r"[\u4e00-\u9fff]")
#: What the tables show from data: model and device names, versions, torch's own words.
NAMES = ["tiny", "sdpa", "eager", "CPU (x86_64)", "gpt2, 2 layers x 128 (quick)", "tok/s"]
NAMES += ["cpu"]  # torch's version tag (2.13.0+cpu), which a caption may fold
NAMES += ["bench", "cuda"]  # the command's name, the device kind


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    return str(path)


def said(err: str) -> str:
    return err.split("：", 1)[1] if "：" in err else err


def test_a_simulated_step_in_chinese(cli, tiny):
    args = ["probe", tiny, "--simulate", "--batch", "1", "--seq", "64"]
    zh = cli(*args, "--lang", "zh")
    assert zh.code == 0, zh.err
    assert "模拟与规划对比" in zh.out and "已分配峰值" in zh.out
    assert leftover_english(zh.out, [tiny, *NAMES]) == [], zh.out
    assert table_lines_aligned(zh.out) == []
    en, zh_doc = cli(*args, "--json").json(), cli(*args, "--json", "--lang", "zh").json()
    for doc in (en, zh_doc):
        doc.pop("seconds")
    notes = (en["analytic"].pop("notes"), zh_doc["analytic"].pop("notes"))
    assert en == zh_doc  # keys, phases and bytes: only the plan's notes are prose
    assert len(notes[0]) == len(notes[1])
    assert all(CHINESE.search(n) for n in notes[1]), notes[1]


def test_one_rank_of_a_ddp_job_in_chinese(cli, tiny):
    args = ["probe", tiny, "--simulate", "--strategy", "ddp", "--gpus", "2", "--seq", "64"]
    zh = cli(*args, "--lang", "zh")
    assert zh.code == 0, zh.err
    assert leftover_english(zh.out, [tiny, *NAMES]) == [], zh.out
    notes = cli(*args, "--json", "--lang", "zh").json()["notes"]
    assert notes[0] == "2 个进程中的 0 号进程，torch 伪进程组，伪张量"


def test_a_measured_step_on_the_cpu_in_chinese(cli, tiny):
    args = ["probe", tiny, "--measure", "--device", "cpu", "--seq", "64", "--steps", "1"]
    zh = cli(*args, "--warmup", "1", "--lang", "zh")
    assert zh.code == 0, zh.err
    assert "实测与规划对比" in zh.out and "CPU 没有对应的目录显卡" in zh.out
    assert leftover_english(zh.out, [tiny, *NAMES]) == [], zh.out
    assert table_lines_aligned(zh.out) == []
    doc = cli(*args, "--warmup", "1", "--json", "--lang", "zh").json()
    assert all(CHINESE.search(n) for n in doc["notes"]), doc["notes"]


def test_a_cpu_bench_in_chinese(cli):
    r = cli("bench", "--cpu", "--quick", "--no-train", "--no-save", "--lang", "zh")
    assert r.code == 0, r.err
    assert "矩阵乘 fp32" in r.out and "CPU 上没有 tf32" in r.out
    assert leftover_english(r.out, NAMES) == [], r.out
    assert table_lines_aligned(r.out) == []


def _shown(table) -> str:
    out = console()
    with out.capture() as cap:
        out.print(table)
    return cap.get()


BENCH_ON_A_CARD = {
    "device": "cuda",
    "device_name": "NVIDIA GeForce RTX 3090",
    "card": {"name": "GeForce RTX 3090", "slug": "rtx-3090"},
    "seconds": 41.2,
    "notes": [],
    "matmul": [
        {"dtype": "bf16", "size": 8192, "skipped": None, "tflops": 70.1, "spec_tflops": 71.0,
         "fraction_of_spec": 0.987},
        {"dtype": "fp8", "size": 8192, "skipped": None, "tflops": 0.5, "spec_tflops": None},
    ],
    "bandwidth": [
        {"kind": "device copy", "bytes": 1 << 30, "gb_s": 830.0, "spec_gb_s": 936.2,
         "fraction_of_spec": 0.887},
        {"kind": "host to device", "bytes": 1 << 28, "gb_s": 24.1, "spec_gb_s": 31.5,
         "fraction_of_spec": 0.765},
    ],
    "train_step": {"model": "gpt2 (124M)", "batch": 8, "seq": 1024, "precision": "amp-bf16",
                   "tokens_per_s": 41000.0, "mfu": 0.41},
}  # fmt: skip


def test_a_gpu_bench_table_in_chinese():
    from gpuwise.bench.run import _notes

    class Dev:  # what _notes reads of a device
        kind, card, name = "cuda", object(), "NVIDIA GeForce RTX 3090"

    before = use("zh-CN")
    try:
        doc = {**BENCH_ON_A_CARD, "notes": [str(n) for n in _notes(Dev())]}
        doc["matmul"][1]["skipped"] = "fp8 需要计算能力 8.9+"
        out = _shown(bench_table(doc))
    finally:
        use(before)
    assert "设备内拷贝" in out and "主机到设备" in out and "标称值" in out
    names = [*NAMES, "NVIDIA GeForce RTX 3090", "gpt2 (124M)"]
    assert leftover_english(out, names) == [], out
    assert table_lines_aligned(out) == []


def _measured_doc(oom: bool, says_fits: bool) -> dict:
    from gpuwise.render.measure_json import plan_verdict

    class Memory:
        required_bytes = 20 << 30 if says_fits else 30 << 30

    class Run:
        total_memory_bytes, device, oom = 24 << 30, "cuda", False

    Run.oom = oom
    verdict = plan_verdict(Memory(), Run())
    return {
        "model": {"name": "Llama-3.1-8B"},
        "measured_on": {"torch": "2.9.0+cu128", "transformers": "5.24.0"},
        "attn_implementation": "sdpa",
        "seconds": 12.5,
        "measured": {
            "device_name": "NVIDIA GeForce RTX 4090",
            "warmup_steps": 2,
            "step_s_all": [0.5, 0.5],
            "oom": oom,
            "oom_during": "warm-up step" if oom else None,
            "oom_message": "CUDA out of memory. Tried to allocate 2.00 GiB" if oom else None,
            "peak_allocated_bytes": None if oom else 21 << 30,
            "peak_reserved_bytes": None if oom else 22 << 30,
            "context_bytes": None if oom else 1 << 29,
            "reserved_plus_context_bytes": None if oom else (22 << 30) + (1 << 29),
            "driver_used_bytes": None if oom else 23 << 30,
            "step_s": None if oom else 0.5,
            "tokens_per_s": None if oom else 4096.0,
        },
        "plan": {
            "memory": {"peak_allocated_bytes": 20 << 30, "required_bytes": Memory.required_bytes},
            "tokens_per_s": 4300.0,
        },
        "errors": {"peak_error": None, "required_error": None, "tokens_per_s_error": 0.05},
        "verdict": verdict,
        "notes": [],
    }


@pytest.mark.parametrize(("oom", "fits"), [(True, True), (True, False), (False, False)])
def test_a_gpu_measurement_table_in_chinese(oom, fits):
    before = use("zh-CN")
    try:
        doc = _measured_doc(oom, fits)
        out = _shown(measure_table(doc))
    finally:
        use(before)
    assert doc["verdict"]["message"] and CHINESE.search(doc["verdict"]["message"])
    names = [*NAMES, "Llama-3.1-8B", "NVIDIA GeForce RTX 4090", "CUDA out of memory.", "Tried"]
    names += ["to allocate"]
    assert leftover_english(out, names) == [], out
    assert table_lines_aligned(out) == []
    if oom:
        assert "显存不足，发生在预热步" in out


def test_help_in_chinese_leaves_no_english(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # a quoted value is never folded
    for command in ("probe", "bench"):
        r = cli(command, "--help", "--lang", "zh")
        assert r.code == 0 and "用法：" in r.out
        body = r.out.split("\n\n", 1)[1]  # the usage line lists flags and choices
        body = body.split("工作负载")[0]  # plan's workload and several-card flags: plan's tests
        body = re.sub(r"\{[^}]*\}", "", body)  # a flag's choices
        names = ["probe", "bench", "model", "huggingface", "modelscope", "cuda", "cpu"]
        assert leftover_english(body, names) == [], body


BAD = [
    ["probe", "{tiny}"],
    ["probe", "{tiny}", "--measure", "--steps", "0"],
    ["probe", "{tiny}", "--measure", "--warmup", "-1"],
    ["probe", "{tiny}", "--measure", "--steps", "1", "--warmup", "0"],
    ["probe", "{tiny}", "--measure", "--strategy", "ddp", "--gpus", "2"],
    ["probe", "{tiny}", "--measure", "--device", "cpu", "--method", "qlora"],
    ["probe", "{tiny}", "--simulate", "--method", "qlora"],
    ["probe", "{tiny}", "--simulate", "--optimizer", "adafactor"],
    ["probe", "{tiny}", "--simulate", "--strategy", "zero3-offload", "--gpus", "2"],
    ["probe", "{tiny}", "--simulate", "--task", "infer", "--strategy", "ddp", "--gpus", "2"],
    ["probe", "deepseek-v3", "--simulate"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a[2:]) or "no mode" for a in BAD])
def test_a_bad_probe_is_one_chinese_line(cli, tiny, args):
    args = [a.replace("{tiny}", tiny) for a in args]
    r = cli(*args, "--lang", "zh")
    one_line(r, "错误")
    assert CHINESE.search(said(r.err)), r.err
    assert leftover_english(said(r.err), [*args, "adafactor", "qlora"]) == [], r.err


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(["--steps", "--warmup"]),
    # a count probe takes would run the steps: only the ones it refuses
    value=st.integers(-(10**6), 10**6).filter(lambda v: not 0 <= v <= 10_000),
)
def test_any_step_count_out_of_range_is_one_chinese_line(cli, tiny, flag, value):
    r = cli("probe", tiny, "--measure", flag, str(value), "--device", "cpu", "--lang", "zh")
    one_line(r, "错误")
    assert leftover_english(said(r.err), [flag, str(value)]) == [], r.err
