"""`gpuwise doctor` as users run it: a described machine, this machine (no GPU here), bad flags,
and the fast path that never imports torch."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..checks import loads_none_of

URL = "https://download.pytorch.org/whl/"


def codes(card: dict) -> set[str]:
    return {p["code"] for p in card["problems"]}


def test_json_contract(cli):
    r = cli(
        "doctor", "--card", "GTX 1080 Ti", "--driver", "535.104", "--torch", "2.8.0+cu128", "--json"
    )
    assert r.code == 1 and r.err == ""  # an error found: exit 1, the document still on stdout
    doc = r.json()
    assert {"schema_version", "gpuwise_version", "kb_date", "catalog_date", "cards"} <= set(doc)
    [card] = doc["cards"]
    assert {"name", "compute_capability", "problems", "install"} <= set(card)
    assert card["compute_capability"] == "6.1"
    assert all({"code", "severity", "message"} == set(p) for p in card["problems"])
    assert {"command", "cuda"} <= set(card["install"])
    assert "gpu_too_old_for_torch" in codes(card)
    # 535 runs CUDA 12.6 only through minor-version compatibility; still the newest choice.
    assert card["install"]["cuda"] == "cu126" and card["install"]["driver_compat"] == "minor"


def test_rtx50_without_a_driver_given(cli):
    [card] = cli("doctor", "--card", "5090", "--torch", "2.6.0+cu124", "--json").json()["cards"]
    assert {"gpu_too_new_for_torch", "driver_unknown"} <= codes(card)
    assert card["install"]["command"] == f'pip install "torch==2.14.*" --index-url {URL}cu132'


def test_driver_older_than_the_gpu(cli):
    [card] = cli("doctor", "--card", "RTX 5080", "--driver", "535.104.05", "--json").json()["cards"]
    assert "driver_predates_gpu" in codes(card)
    assert card["install"]["driver_compat"] == "unknown"  # after the driver update


def test_windows_untagged_torch_is_the_cpu_build(cli):
    doc = cli(
        "doctor",
        "--card",
        "4090",
        "--driver",
        "572.16",
        "--os",
        "windows",
        "--torch",
        "2.7.1",
        "--json",
    ).json()
    [card] = doc["cards"]
    assert "torch_not_cuda" in codes(card)
    # 572 is below the 580 branch CUDA 13 needs: cu126 of the newest torch.
    assert card["install"]["cuda"] == "cu126" and card["install"]["torch"] == "2.14"


def test_two_described_cards_share_one_install(cli):
    doc = cli(
        "doctor", "--card", "3090", "--card", "1080 ti", "--driver", "575.57.08", "--json"
    ).json()
    assert [c["compute_capability"] for c in doc["cards"]] == ["8.6", "6.1"]
    assert doc["cards"][0]["install"]["cuda"] == "cu126"  # 575 < 580: no CUDA 13
    assert doc["install"]["cuda"] == "cu126"


def test_this_machine_without_gpu_says_so(cli):
    """This machine has no NVIDIA GPU: exit 0, say it plainly and what would be checked."""
    r = cli("doctor")
    assert r.code == 0
    assert "No NVIDIA GPU was found" in r.out and "gpuwise doctor checks" in r.out
    doc = cli("doctor", "--json").json()
    assert doc["cards"] == [] and "no_nvidia_gpu" in {p["code"] for p in doc["problems"]}


def test_human_output_quotes_the_error(cli):
    out = cli("doctor", "--card", "5090", "--driver", "570.26", "--torch", "2.6.0+cu124").out
    assert "sm_120 is not compatible with the current PyTorch installation" in " ".join(out.split())
    assert 'pip install "torch==2.11.*" --index-url https://download.pytorch.org/whl/cu128' in out


@pytest.mark.parametrize(
    "args,says",
    [
        (("--card", "rtx 4095"), "unknown card"),
        (("--card", "3090", "--driver", "banana"), "not an NVIDIA driver version"),
        (("--card", "3090", "--driver", "5.1"), "not an NVIDIA driver version"),
        (("--card", "3090", "--torch", "latest"), "not a PyTorch version"),
        (("--card", "3090", "--torch", "2.8.0+cu12"), "not a PyTorch version"),
        (("--driver", "x"), "not an NVIDIA driver version"),
        (("--card", "3090", "--os", "macos"), "invalid choice"),
    ],
)
def test_bad_flags_are_one_line_exit_2(cli, args, says):
    r = cli("doctor", *args)
    assert r.code == 2 and r.out == ""
    assert says in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err


_value = st.text(max_size=16).filter(lambda s: not s.startswith("-"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flag=st.sampled_from(["--driver", "--torch", "--card"]), value=_value)
def test_any_flag_value_exits_0_or_2(cli, flag, value):
    args = ["doctor", flag, value, "--json"]
    if flag != "--card":
        args += ["--card", "3090"]
    r = cli(*args)
    assert r.code in (0, 1, 2) and "Traceback" not in r.err
    if r.code == 2:  # with --json: the error document (tests/cli/test_json_errors.py)
        assert json.loads(r.out)["error"]["message"] and r.err.count("\n") == 1
    else:
        json.loads(r.out)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.from_regex(r"[0-9]{1,4}(\.[0-9]{0,3}){0,3}[a-z]?", fullmatch=True))
def test_driver_like_garbage_exits_0_or_2(cli, value):
    r = cli("doctor", "--card", "4090", "--driver", value, "--json")
    assert r.code in (0, 1, 2) and "Traceback" not in r.err


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "--card", "3090", "--json"],
        ["doctor", "--card", "5090", "--driver", "570.26", "--torch", "2.6.0+cu124"],
        ["doctor", "--json"],  # this machine: no GPU, so no reason to import torch
    ],
)
def test_doctor_fast_path_never_imports_torch(args):
    # doctor exits 1 when it finds an error (the 5090 on a cu124 torch): still a clean run
    loads_none_of(
        f"from gpuwise.cli.main import main\nif main({args!r}) not in (0, 1):\n"
        "    sys.exit('failed')",
        ("torch", "transformers", "tensorflow", "jax"),
    )
