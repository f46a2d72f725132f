"""`gpuwise doctor` exits 1 when it finds an error (0 with warnings or nothing, 2 for bad
input), and states per card the oldest and newest PyTorch / CUDA / driver that work."""

from __future__ import annotations

import pytest

CLEAN = ("--card", "3090", "--driver", "575.57.08", "--torch", "2.9.0+cu128")


def severities(doc: dict) -> set[str]:
    return {p["severity"] for c in doc["cards"] for p in c["problems"]} | {
        p["severity"] for p in doc["problems"]
    }


def test_an_error_exits_1_with_the_document_on_stdout(cli):
    # torch 2.8's default cu128 wheel dropped sm_61 (compat.json: cu128 starts at 7.0)
    r = cli("doctor", "--card", "gtx 1080 ti", "--torch", "2.8", "--driver", "575.57.08", "--json")
    assert r.code == 1 and r.err == ""
    doc = r.json()
    assert doc["errors"] is True and "error" in severities(doc)
    assert "gpu_too_old_for_torch" in {p["code"] for p in doc["cards"][0]["problems"]}


def test_the_human_output_exits_1_too(cli):
    r = cli("doctor", "--card", "gtx 1080 ti", "--torch", "2.8", "--driver", "575.57.08")
    assert r.code == 1 and "gpu_too_old_for_torch" in r.out


def test_a_clean_machine_exits_0(cli):
    r = cli("doctor", *CLEAN, "--tensorflow", "2.21.0", "--jax", "0.10.2", "--python", "3.12")
    assert r.code == 0
    doc = r.json() if r.out.startswith("{") else cli("doctor", *CLEAN, "--json").json()
    assert doc["errors"] is False


def test_warnings_alone_exit_0(cli):
    # TensorFlow 2.21 carries only PTX for Hopper: a warning (slow first start), not an error
    r = cli("doctor", "--card", "h100", "--driver", "580.65.06", "--tensorflow", "2.21.0", "--json")
    doc = r.json()
    assert "tensorflow_ptx_jit" in {p["code"] for p in doc["cards"][0]["problems"]}
    assert "error" not in severities(doc) and r.code == 0


def test_no_gpu_here_exits_0(cli):
    assert cli("doctor", "--json").code == 0


@pytest.mark.parametrize(
    "card,os_name,want",
    [
        # Pascal: only up to cu126 wheels (torch 2.5-2.14 in the table), cu118 from 2.5
        (
            "gtx 1080 ti",
            "linux",
            ("2.5", "2.14", "11.8", "12.6", "520.61.05", "560.28.03"),
        ),
        # RTX 50: from torch 2.7 cu128 (driver 570.26) to the cu132 builds (driver 595.45.04)
        ("5090", "linux", ("2.7", "2.14", "12.8", "13.2", "570.26", "595.45.04")),
        # the same on Windows: its own 12.8 minimum; NVIDIA lists none from 13.0, the branch
        ("5090", "windows", ("2.7", "2.14", "12.8", "13.2", "570.65", "595")),
    ],
)
def test_oldest_and_newest_beside_the_install(cli, card, os_name, want):
    [c] = cli("doctor", "--card", card, "--os", os_name, "--json").json()["cards"]
    s = c["support"]
    got = tuple(
        s[k]
        for k in (
            "torch_oldest",
            "torch_newest",
            "cuda_oldest",
            "cuda_newest",
            "driver_oldest",
            "driver_newest",
        )
    )
    assert got == want
    assert s["table"] == "2.5-2.14"  # 2.15 is unverified and never counted
    assert c["install"]["torch"] == s["torch_newest"]


def test_the_table_states_the_range(cli):
    out = " ".join(cli("doctor", "--card", "5090").out.split())
    assert "torch 2.7-2.14" in out and "CUDA 12.8-13.2" in out and "570.26" in out
