"""The knowledge base is data: every row has a source, the arch lists parse, and the facts the
verdicts lean on hold."""

from __future__ import annotations

import pytest

from gpuwise.doctor.install import recommend
from gpuwise.doctor.knowledge import load_knowledge, parse_cc, parse_driver
from gpuwise.errors import GpuwiseError


def test_every_row_names_a_known_source():
    kb = load_knowledge()
    raw = kb.raw
    used = [raw["cuda_toolkits"]["source"], raw["minor_version_compat"]["source"]]
    used += [a["source"] for a in raw["architectures"]]
    for r in raw["torch"]["releases"]:
        used += [r["source"], r.get("default_source", r["source"])]
    used += [m["source"] for m in raw["messages"].values()]
    used += [lib["source"] for lib in raw["libraries"].values()]
    assert set(used) <= set(kb.sources)
    assert all(s["title"] and s["url"] for s in kb.sources.values())


def test_arch_lists_parse_and_releases_are_newest_first():
    kb = load_knowledge()
    versions = [tuple(int(x) for x in r["version"].split(".")) for r in kb.releases]
    assert versions == sorted(versions, reverse=True)
    for r in kb.releases:
        assert r["default_variant"] in r["variants"]
        for w in kb.wheels(r):
            assert w.cubins() == sorted(w.cubins())


@pytest.mark.parametrize(
    "release,variant,cc,runs",
    [
        ("2.8", "cu128", (6, 1), False),  # Pascal dropped from cu128 (build_cuda.sh)
        ("2.8", "cu126", (6, 1), True),  # sm_60 cubin runs on 6.1
        ("2.8", "cu128", (7, 0), True),  # Volta kept in 2.8-2.10 cu128 (#160269)
        ("2.11", "cu128", (7, 0), False),  # Volta dropped from cu128 in 2.11 (PR #175253)
        ("2.6", "cu126", (12, 0), False),  # no Blackwell before cu128
        ("2.7", "cu128", (12, 0), True),
        ("2.14", "cu130", (8, 9), True),  # Ada runs sm_86 cubins
        ("2.14", "cu130", (9, 0), True),
        ("2.14", "cu130", (7, 0), False),
    ],
)
def test_wheel_coverage(release, variant, cc, runs):
    kb = load_knowledge()
    wheel, _ = kb.wheel(release, variant)
    assert wheel is not None and wheel.runs_on(cc, "linux") is runs


def test_ptx_lets_a_newer_major_run_on_linux_only():
    kb = load_knowledge()
    wheel, _ = kb.wheel("2.14", "cu130")
    assert wheel.runs_on((13, 0), "linux") and not wheel.runs_on((13, 0), "windows")


@pytest.mark.parametrize(
    "driver,cuda,state",
    [
        ("570.26", (12, 8), "full"),
        ("535.104.05", (12, 8), "minor"),  # CUDA 12.x family minimum is the 525 branch
        ("520.61.05", (12, 6), "too_old"),
        ("575.57.08", (13, 0), "too_old"),  # CUDA 13.x needs 580+
        ("580.65.06", (13, 0), "full"),
    ],
)
def test_driver_runs(driver, cuda, state):
    assert load_knowledge().driver_runs(parse_driver(driver), cuda, "linux") == state


def test_driver_cuda_is_what_nvidia_smi_reports():
    kb = load_knowledge()
    assert kb.driver_cuda(parse_driver("550.54.14"), "linux") == (12, 4)
    assert kb.driver_cuda(parse_driver("570.133.07"), "linux") == (12, 8)
    assert kb.driver_cuda(parse_driver("580.65.06"), "linux") == (13, 0)


def test_unverified_releases_never_drive_the_install():
    kb = load_knowledge()
    unverified = {r["version"] for r in kb.releases if not r["verified"]}
    assert unverified  # 2.15 is proposed, not confirmed
    install = recommend(kb, [parse_cc("8.6")], None, "linux")
    assert install is not None and install.torch not in unverified


@pytest.mark.parametrize("text", ["", "abc", "5.1", "99999.1", "535..1", "535.104.05.1"])
def test_bad_driver_strings(text):
    with pytest.raises(GpuwiseError):
        parse_driver(text)
