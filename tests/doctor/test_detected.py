"""Detection driven by recorded nvidia-smi / NVML outputs and fake torch builds: one test per
failure users meet, each with the verdict codes and the install command doctor must give."""

from __future__ import annotations

import pytest

from gpuwise.catalog import load_catalog
from gpuwise.doctor import build_report, detect, load_knowledge
from gpuwise.doctor.detect import parse_smi
from gpuwise.render.doctor_json import doctor_doc
from tests.doctor.fakes import (
    NVCC_12_8,
    SMI_DRIVER_NOT_LOADED,
    FakeNvml,
    Scenario,
    fake_torch,
    smi_rows,
)

GIB = 1 << 30
URL = "https://download.pytorch.org/whl/"


def run(s: Scenario) -> dict:
    kb = load_knowledge()
    catalog = load_catalog()
    return doctor_doc(build_report(kb, catalog, detect(s.probes())), kb.date, catalog.date)


def codes(card: dict) -> set[str]:
    return {p["code"] for p in card["problems"]}


def test_pascal_on_a_torch_that_dropped_sm61():
    s = Scenario(
        smi=smi_rows("NVIDIA GeForce GTX 1080 Ti, 575.57.08, 11264 MiB, 312 MiB, 6.1"),
        torch_version="2.8.0+cu128",
        torch_module=fake_torch(
            "2.8.0+cu128",
            (
                "NVIDIA GeForce GTX 1080 Ti with CUDA capability sm_61 is not compatible with "
                "the current PyTorch installation.",
            ),
        ),
        libs={"bitsandbytes": "0.48.1"},
        nvcc=NVCC_12_8,
    )
    doc = run(s)
    [card] = doc["cards"]
    assert card["name"] == "GeForce GTX 1080 Ti" and card["compute_capability"] == "6.1"
    assert card["memory_total_bytes"] == 11264 << 20
    assert {"gpu_too_old_for_torch", "torch_compile_unsupported", "torch_cuda_warning"} <= codes(
        card
    )
    assert "bnb_int8_unsupported" in codes(card)
    too_old = next(p for p in card["problems"] if p["code"] == "gpu_too_old_for_torch")
    assert "sm_61 is not compatible with the current PyTorch installation" in too_old["message"]
    assert "no kernel image is available for execution on the device" in too_old["message"]
    assert card["install"]["cuda"] == "cu126" and card["install"]["torch"] == "2.14"
    assert card["install"]["command"] == f'pip install "torch==2.14.*" --index-url {URL}cu126'
    assert {a["code"] for a in card["advice"]} >= {"use_fp32", "avoid_flash_attention"}
    assert doc["system"]["torch"]["arch_list_detected"] is True
    assert doc["system"]["nvcc"] == "12.8" and s.torch_imported == 1


def test_rtx_5090_on_a_torch_without_sm120():
    nvml = FakeNvml("570.133.07", [("NVIDIA GeForce RTX 5090", (12, 0), 32607 << 20, 400 << 20)])
    s = Scenario(nvml=nvml, torch_version="2.6.0+cu124", torch_module=fake_torch("2.6.0+cu124"))
    doc = run(s)
    [card] = doc["cards"]
    assert doc["system"]["gpu_source"] == "NVML" and doc["system"]["driver"] == "570.133.07"
    assert nvml.shutdown and all(c[0] != "nvidia-smi" for c in s.commands)
    assert "gpu_too_new_for_torch" in codes(card)
    msg = next(p["message"] for p in card["problems"] if p["code"] == "gpu_too_new_for_torch")
    assert "sm_120 is not compatible with the current PyTorch installation" in msg
    # The 570 driver cannot run CUDA 13 wheels: the newest torch with cu128 is 2.11.
    assert card["install"]["command"] == f'pip install "torch==2.11.*" --index-url {URL}cu128'
    assert card["install"]["driver_compat"] == "full"
    assert {a["code"] for a in card["advice"]} >= {"use_bf16", "flash_attention_2", "fp8_available"}


def test_driver_too_old_for_the_wheels_cuda():
    s = Scenario(
        smi=smi_rows("NVIDIA GeForce RTX 3090, 550.54.14, 24576 MiB, 1 MiB, 8.6"),
        torch_version="2.14.0+cu130",
        torch_module=fake_torch("2.14.0+cu130"),
    )
    [card] = run(s)["cards"]
    assert codes(card) == {"driver_too_old"}
    msg = card["problems"][0]["message"]
    assert "The NVIDIA driver on your system is too old (found version 12040)" in msg
    assert card["install"]["cuda"] == "cu126" and card["install"]["driver_compat"] == "minor"
    assert card["install"]["torch"] == "2.14"


def test_no_driver_loaded():
    s = Scenario(smi=(9, SMI_DRIVER_NOT_LOADED, ""), torch_version="2.8.0+cu128")
    doc = run(s)
    assert doc["cards"] == []
    assert [p["code"] for p in doc["problems"]] == ["driver_not_loaded", "no_nvidia_gpu"]
    assert "couldn't communicate with the NVIDIA driver" in doc["problems"][0]["message"]
    assert doc["install"]["cuda"] == "cpu"
    assert s.torch_imported == 0  # no GPU: torch is never imported


def test_two_different_gpus():
    s = Scenario(
        smi=smi_rows(
            "NVIDIA GeForce RTX 3090, 560.35.03, 24576 MiB, 1200 MiB, 8.6",
            "NVIDIA GeForce GTX 1080 Ti, 560.35.03, 11264 MiB, 5 MiB, 6.1",
        ),
        torch_version="2.8.0+cu128",
        torch_module=fake_torch("2.8.0+cu128"),
    )
    doc = run(s)
    rtx, gtx = doc["cards"]
    assert rtx["name"] == "GeForce RTX 3090" and gtx["name"] == "GeForce GTX 1080 Ti"
    assert "gpu_too_old_for_torch" in codes(gtx)
    assert codes(rtx) == {"driver_minor_compat"}
    assert rtx["install"]["cuda"] == "cu126"  # 560.35 runs 12.6 fully, not CUDA 13
    # One environment for both cards: only cu126 still has Pascal.
    assert doc["install"]["command"] == f'pip install "torch==2.14.*" --index-url {URL}cu126'
    assert doc["install"]["driver_compat"] == "full"


def test_cpu_only_machine():
    s = Scenario(torch_version="2.13.0+cpu")
    doc = run(s)
    assert doc["cards"] == [] and doc["mode"] == "detected"
    assert [p["code"] for p in doc["problems"]] == ["no_nvidia_gpu"]
    assert "No NVIDIA GPU found" in doc["problems"][0]["message"]
    assert doc["install"]["command"] == f"pip install torch --index-url {URL}cpu"
    assert doc["system"]["torch"]["cuda"] is None and s.torch_imported == 0
    assert {c["how"] for c in doc["checked"] if c["what"] == "gpus"} == {"NVML", "nvidia-smi"}


def test_old_nvidia_smi_without_compute_cap_column():
    """Drivers before compute_cap existed: retry without it; the catalogue knows the CC."""
    answers = iter(
        [
            (6, 'Field "compute_cap" is not a valid field to query.\n', ""),
            (0, "NVIDIA GeForce RTX 2080 Ti, 470.82.01, 11019 MiB, 10 MiB\n", ""),
        ]
    )
    s = Scenario(smi=(0, "", ""))
    probes = s.probes()
    probes.run = lambda cmd: next(answers) if cmd[0] == "nvidia-smi" else (1, "", "")
    kb, catalog = load_knowledge(), load_catalog()
    doc = doctor_doc(build_report(kb, catalog, detect(probes)), kb.date, catalog.date)
    [card] = doc["cards"]
    assert card["compute_capability"] == "7.5"
    assert card["install"]["cuda"] == "cu118"  # driver 470: CUDA 11.x only (minor compat)
    assert card["install"]["torch"] == "2.7"


@pytest.mark.parametrize(
    "line,cc,mem",
    [
        ("NVIDIA H100 80GB HBM3, 550.90.07, 81559 MiB, 0 MiB, 9.0", "9.0", 81559 << 20),
        ("Tesla T4, 535.104.05, 15360 MiB, 0 MiB, 7.5", "7.5", 15360 << 20),
        ("NVIDIA GeForce RTX 4060 Ti, 560.35.03, 16380 MiB, 0 MiB, [N/A]", None, 16380 << 20),
    ],
)
def test_parse_smi(line, cc, mem):
    driver, [gpu] = parse_smi(line + "\n")
    assert gpu.compute_capability == cc and gpu.memory_total_bytes == mem
    assert driver == line.split(", ")[1]


def test_ambiguous_name_resolved_by_memory():
    """'RTX 4060 Ti' names two cards; the detected memory picks the 16 GB one."""
    s = Scenario(smi=smi_rows("NVIDIA GeForce RTX 4060 Ti, 560.35.03, 16380 MiB, 0 MiB, 8.9"))
    [card] = run(s)["cards"]
    assert "16" in card["name"] and card["slug"]
