"""Review fixes: odd detected values never fail, truncated and Windows 13.x drivers, unknown or
unpublished CUDA variants, GTX 16 and LLM.int8(), torch.compile under minor-version
compatibility, the knowledge base's unconfirmed rows and the install contract."""

from __future__ import annotations

import dataclasses

import pytest

from gpuwise.catalog import load_catalog
from gpuwise.doctor import build_report, detect, load_knowledge
from gpuwise.doctor.builds import parse_torch
from gpuwise.doctor.knowledge import parse_driver
from gpuwise.render.doctor_json import doctor_doc
from tests.doctor.fakes import Scenario, smi_rows

URL = "https://download.pytorch.org/whl/"
RTX_4090 = "NVIDIA GeForce RTX 4090, {driver}, 24564 MiB, 1 MiB, 8.9"


def run(s: Scenario, torch_cuda: str | None = "keep") -> dict:
    """Detect ``s``; ``torch_cuda`` replaces the ``cuda`` line of torch/version.py."""
    probes = s.probes()
    if torch_cuda != "keep":
        cuda = f"'{torch_cuda}'" if torch_cuda else "None"
        text = f"__version__ = '{s.torch_version}'\ncuda = {cuda}\n"
        probes = dataclasses.replace(probes, torch_version_file=lambda: text)
    kb, catalog = load_knowledge(), load_catalog()
    return doctor_doc(build_report(kb, catalog, detect(probes)), kb.date, catalog.date)


def codes(card: dict) -> set[str]:
    return {p["code"] for p in card["problems"]}


def problem(card: dict, code: str) -> dict:
    return next(p for p in card["problems"] if p["code"] == code)


# --- 1. detected values gpuwise cannot read are warnings, never exit 2 ----------------------


@pytest.mark.parametrize(
    ("version", "local"),
    [("2.3.0a0+6ddf5cf85e.nv24.04", "6ddf5cf85e.nv24.04"), ("2.6.0a0+gitabc", "gitabc")],
)
def test_source_and_ngc_builds_parse(version, local):
    build = parse_torch(version)
    assert build.local == local and build.variant is None and build.custom
    assert parse_torch("2.8.0+cu128").variant == "cu128" and not parse_torch("2.7.1").custom


def test_detected_ngc_build_uses_its_cuda_version():
    s = Scenario(
        smi=smi_rows(RTX_4090.format(driver="550.54.14")),
        torch_version="2.3.0a0+6ddf5cf85e.nv24.04",
    )
    [card] = run(s, torch_cuda="12.4")["cards"]
    assert "torch_version_unrecognised" not in codes(card)
    assert not {"torch_not_cuda", "driver_too_old", "driver_minor_compat"} & codes(card)


def test_detected_source_build_without_cuda_is_unknown_not_an_error():
    s = Scenario(smi=smi_rows(RTX_4090.format(driver="550.54.14")), torch_version="2.6.0a0+gitabc")
    [card] = run(s, torch_cuda=None)["cards"]
    assert "torch_build_unknown" in codes(card) and "torch_not_cuda" not in codes(card)
    assert "+gitabc" in problem(card, "torch_build_unknown")["message"]


def test_detected_unreadable_torch_version_is_a_warning():
    s = Scenario(smi=smi_rows(RTX_4090.format(driver="550.54.14")), torch_version="nightly-x")
    [card] = run(s, torch_cuda="12.4")["cards"]
    p = problem(card, "torch_version_unrecognised")
    assert p["severity"] == "warning" and "--torch" not in p["message"]


def test_detected_driver_na_is_a_warning():
    s = Scenario(smi=smi_rows(RTX_4090.format(driver="[N/A]")))
    doc = run(s)
    [card] = doc["cards"]
    p = problem(card, "driver_unrecognised")
    assert p["severity"] == "warning" and "--driver" not in p["message"]
    assert "[N/A]" in p["message"]
    assert doc["install"]["driver_compat"] == "unknown"  # as if no driver were known


def test_given_flags_still_fail(cli):
    r = cli("doctor", "--card", "3090", "--driver", "[N/A]")
    assert r.code == 2 and "--driver" in r.err
    r = cli("doctor", "--card", "3090", "--torch", "2.8.0+cu12")
    assert r.code == 2 and "--torch" in r.err


# --- 2. truncated driver versions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "cuda", "state"),
    [
        ("580.65", (13, 0), "full"),
        ("580.64", (13, 0), "minor"),
        ("570", (12, 8), "full"),
        ("565", (12, 8), "minor"),
        ("580.65.06", (13, 0), "full"),
    ],
)
def test_truncated_driver_compares_on_the_parts_given(driver, cuda, state):
    assert load_knowledge().driver_runs(parse_driver(driver), cuda, "linux") == state


def test_truncated_driver_is_not_minor_compat(cli):
    args = ("doctor", "--card", "5090", "--torch", "2.14.0+cu130", "--json")
    [card] = cli(*args, "--driver", "580.65").json()["cards"]
    assert "driver_minor_compat" not in codes(card)
    assert load_knowledge().driver_cuda(parse_driver("570"), "linux") == (12, 8)


# --- 3. Windows CUDA 13.x rows are null: the Linux row's branch -----------------------------


def test_windows_cuda_13_2_needs_the_595_branch(cli):
    base = ("doctor", "--card", "5090", "--os", "windows", "--torch", "2.14.0+cu132", "--json")
    [card] = cli(*base, "--driver", "580.88").json()["cards"]
    assert problem(card, "driver_minor_compat")["severity"] == "warning"
    assert "595" in problem(card, "driver_minor_compat")["message"]
    assert card["install"]["cuda"] == "cu130" and card["install"]["driver_compat"] == "full"
    [card] = cli(*base, "--driver", "595.97").json()["cards"]
    assert "driver_minor_compat" not in codes(card)
    assert card["install"]["cuda"] == "cu132" and card["install"]["driver_compat"] == "full"
    kb = load_knowledge()
    assert kb.driver_runs(parse_driver("580.88"), (13, 2), "windows") == "minor"
    assert kb.driver_runs(parse_driver("580.88"), (13, 0), "windows") == "full"
    assert kb.driver_runs(parse_driver("576.02"), (13, 0), "windows") == "too_old"


# --- 4. unknown cuXXX -----------------------------------------------------------------------


def test_unknown_cuda_variant_flag_exits_2(cli):
    r = cli("doctor", "--card", "3090", "--torch", "2.8.0+cu999")
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1
    assert "cu999" in r.err and "cu128" in r.err


def test_unknown_cuda_variant_detected_is_a_warning():
    s = Scenario(smi=smi_rows(RTX_4090.format(driver="580.65.06")), torch_version="2.8.0+cu999")
    [card] = run(s)["cards"]
    p = problem(card, "torch_variant_unknown")
    assert p["severity"] == "warning" and "99.9" in p["message"] and "--torch" not in p["message"]


# --- 5. LLM.int8() needs tensor cores: not on GTX 16 ----------------------------------------


def test_gtx_16_gets_no_llm_int8_advice():
    s = Scenario(
        smi=smi_rows("NVIDIA GeForce GTX 1660, 580.65.06, 6144 MiB, 1 MiB, 7.5"),
        libs={"bitsandbytes": "0.48.1"},
    )
    [card] = run(s)["cards"]
    adv = {a["code"]: a["message"] for a in card["advice"]}
    assert "bitsandbytes" not in adv and "tensor cores" in adv["bitsandbytes_partial"]
    assert "GTX 1630/1650/1660" in problem(card, "bnb_int8_unsupported")["message"]


def test_turing_with_tensor_cores_keeps_llm_int8(cli):
    [card] = cli("doctor", "--card", "RTX 2080", "--json").json()["cards"]
    assert "bitsandbytes" in {a["code"] for a in card["advice"]}


# --- 6. torch.compile under minor-version compatibility -------------------------------------


def test_torch_compile_caveat_under_minor_compat(cli):
    args = ("doctor", "--card", "3090", "--torch", "2.8.0+cu128", "--json")
    [card] = cli(*args, "--driver", "535.104").json()["cards"]
    assert "driver_minor_compat" in codes(card)
    tc = next(a for a in card["advice"] if a["code"] == "torch_compile")
    assert "minor-version compatibility" in tc["message"] and "PTX" in tc["message"]
    [card] = cli(*args, "--driver", "580.65.06").json()["cards"]
    tc = next(a for a in card["advice"] if a["code"] == "torch_compile")
    assert "minor-version" not in tc["message"]


# --- 7. the knowledge base marks what no source confirms ------------------------------------


def test_unconfirmed_rows_are_marked():
    kb = load_knowledge()
    for version in ("2.10", "2.11"):
        rel = kb.release(version)
        assert rel is not None and rel["default_verified"] is False and rel["default_note"]
    rel = kb.release("2.11")
    assert rel is not None and rel["released"] == "2026-03-23"
    rel = kb.release("2.7")
    assert rel is not None and "PTX" in rel["arches_unverified"]["cu128"]


def test_untagged_torch_with_an_unconfirmed_default_says_so(cli):
    args = ("doctor", "--card", "3090", "--torch", "2.10.0", "--os", "linux", "--json")
    [card] = cli(*args).json()["cards"]
    assert "not confirmed" in problem(card, "torch_build_assumed")["message"]


# --- 8. a card with no wheel: install.command exists and is null ----------------------------


def test_card_without_a_wheel_has_a_null_command():
    s = Scenario(smi=smi_rows("NVIDIA GeForce GTX 680, 470.256.02, 2048 MiB, 1 MiB, 3.0"))
    doc = run(s)
    [card] = doc["cards"]
    msg = problem(card, "no_wheel")["message"]
    assert msg == msg.strip() and "runs on this driver" in msg
    for inst in (card["install"], doc["install"]):
        assert inst["command"] is None and inst["cuda"] is None and inst["note"]
        assert set(inst) >= {"command", "torch", "cuda", "index_url", "min_driver", "note"}


# --- 9. a variant never published for that release ------------------------------------------


def test_unpublished_variant_names_the_published_ones(cli):
    r = cli(
        "doctor", "--card", "4090", "--torch", "2.12.0+cu128", "--driver", "580.65.06", "--json"
    )
    assert r.code == 0
    [card] = r.json()["cards"]
    p = problem(card, "torch_variant_not_published")
    assert p["severity"] == "warning"
    assert all(v in p["message"] for v in ("cu126", "cu130", "cu132"))
