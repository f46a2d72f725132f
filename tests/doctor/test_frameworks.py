"""TensorFlow and JAX beside PyTorch: the rules users hit (Pascal, Ampere, Hopper, RTX 50,
native Windows after 2.10, Python and driver ranges) and the install command for the card,
driver, OS and Python; bad --tensorflow / --jax / --python values are one line and exit 2."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.doctor import build_report, detect, load_knowledge
from gpuwise.render.doctor_json import doctor_doc
from tests.doctor.fakes import Scenario, fake_jax, fake_tensorflow, smi_rows


def card_of(cli, *args: str) -> tuple[int, dict]:
    r = cli("doctor", *args, "--json")
    assert r.err == "", r.err
    [card] = r.json()["cards"]
    return r.code, card


def fw_problems(card: dict, prefix: str) -> dict[str, dict]:
    return {p["code"]: p for p in card["problems"] if p["code"].startswith(prefix)}


# --- TensorFlow ------------------------------------------------------------------------------


def test_tensorflow_on_pascal(cli):
    """2.17+ wheels start at Pascal (sm_60 runs on 6.1): no TensorFlow problem, and the newest
    release with its CUDA libraries from pip."""
    _, card = card_of(cli, "--card", "gtx 1080 ti", "--tensorflow", "2.21.0", "--python", "3.12")
    assert fw_problems(card, "tensorflow") == {}
    tf = card["frameworks"]["tensorflow"]
    assert tf["install"]["command"] == 'pip install "tensorflow[and-cuda]==2.21.*"'
    assert (tf["oldest"], tf["newest"]) == ("2.10", "2.21")


def test_tensorflow_on_ampere_has_kernels(cli):
    _, card = card_of(cli, "--card", "3090", "--tensorflow", "2.18.0", "--python", "3.12")
    assert fw_problems(card, "tensorflow") == {}  # sm_80 cubins run on 8.6


def test_tensorflow_on_hopper_jit_compiles_from_ptx(cli):
    _, card = card_of(cli, "--card", "h100", "--tensorflow", "2.18.0")
    p = fw_problems(card, "tensorflow")["tensorflow_ptx_jit"]
    assert p["severity"] == "warning" and "jit-compiled from PTX" in p["message"]
    assert "compute capability 9.0" in p["message"]


def test_tensorflow_on_blackwell_fails(cli):
    code, card = card_of(cli, "--card", "rtx 5090", "--tensorflow", "2.20.0")
    p = fw_problems(card, "tensorflow")["tensorflow_gpu_fails"]
    assert p["severity"] == "error" and code == 1
    assert "CUDA_ERROR_INVALID_PTX" in p["message"] and "inferred" not in p["message"]
    tf = card["frameworks"]["tensorflow"]
    assert tf["install"]["command"] is None and "sm_120" in tf["install"]["note"]
    assert tf["oldest"] is None and tf["newest"] is None
    # the newest release is only inferred to fail: said so
    _, card = card_of(cli, "--card", "rtx 5080", "--tensorflow", "2.21.0")
    assert "inferred" in fw_problems(card, "tensorflow")["tensorflow_gpu_fails"]["message"]


def test_tensorflow_native_windows_after_2_10(cli):
    base = ("--card", "3060", "--os", "windows", "--python", "3.10")
    code, card = card_of(cli, *base, "--tensorflow", "2.11.0")
    p = fw_problems(card, "tensorflow")["tensorflow_windows_no_gpu"]
    assert p["severity"] == "error" and "WSL2" in p["message"] and code == 1
    assert "tensorflow<2.11" in p["message"]
    _, card = card_of(cli, *base, "--tensorflow", "2.10.1")
    assert "tensorflow_windows_no_gpu" not in fw_problems(card, "tensorflow")
    # on Windows the command is for WSL2, whose driver minimum is the Windows one
    inst = card["frameworks"]["tensorflow"]["install"]
    assert inst["command"].startswith('pip install "tensorflow[and-cuda]==')
    assert "WSL2" in inst["note"] and inst["min_driver"] == "528.33"


def test_tensorflow_python_and_driver_ranges(cli):
    _, card = card_of(cli, "--card", "3090", "--tensorflow", "2.21.0", "--python", "3.14")
    assert (
        "3.10-3.13" in fw_problems(card, "tensorflow")["tensorflow_python_unsupported"]["message"]
    )
    assert card["frameworks"]["tensorflow"]["install"]["command"] is None
    _, card = card_of(cli, "--card", "3090", "--tensorflow", "2.21.0", "--driver", "520.61.05")
    assert "525.60.13" in fw_problems(card, "tensorflow")["tensorflow_driver_too_old"]["message"]


def test_tensorflow_install_follows_python_and_driver(cli):
    def command(*args: str) -> str | None:
        return card_of(cli, "--card", "3090", *args)[1]["frameworks"]["tensorflow"]["install"][
            "command"
        ]

    assert command("--python", "3.9") == 'pip install "tensorflow[and-cuda]==2.20.*"'
    # a 470 driver runs no CUDA 12 build: the newest CUDA 11.8 one, 2.14 (and-cuda from 2.14)
    assert command("--python", "3.11", "--driver", "470.82.01") == (
        'pip install "tensorflow[and-cuda]==2.14.*"'
    )


def test_tensorflow_not_in_the_table_is_said_not_refused(cli):
    _, card = card_of(cli, "--card", "3090", "--tensorflow", "2.9.0")
    p = fw_problems(card, "tensorflow")["tensorflow_not_in_table"]
    assert p["severity"] == "info" and "2.10-2.21" in p["message"]


# --- JAX -------------------------------------------------------------------------------------


def test_jax_install_picks_the_cuda_build(cli):
    def inst(card: str, *args: str) -> dict:
        return card_of(cli, "--card", card, *args)[1]["frameworks"]["jax"]["install"]

    assert inst("3090", "--driver", "580.65.06")["command"] == (
        'pip install -U "jax[cuda13]==0.10.2"'
    )
    # CUDA 13 needs a 580 driver; below it, the CUDA 12 wheels
    assert inst("3090", "--driver", "575.57.08")["variant"] == "cuda12"
    # CUDA 13 wheels start at 7.5: Pascal gets CUDA 12 whatever the driver
    assert inst("gtx 1080 ti", "--driver", "580.65.06")["variant"] == "cuda12"
    # Python 3.10: JAX 0.7.0+ needs 3.11, so the last for 3.10
    assert inst("3090", "--python", "3.10")["command"] == 'pip install -U "jax[cuda12]==0.6.2"'
    assert inst("3090", "--driver", "520.61.05")["command"] is None


def test_jax_problems(cli):
    _, card = card_of(cli, "--card", "3090", "--jax", "0.10.2", "--os", "windows")
    assert fw_problems(card, "jax")["jax_windows_no_gpu"]["severity"] == "error"
    _, card = card_of(cli, "--card", "3090", "--jax", "0.10.2", "--python", "3.10")
    assert "3.11" in fw_problems(card, "jax")["jax_python_unsupported"]["message"]
    _, card = card_of(cli, "--card", "3090", "--jax", "0.10.2", "--driver", "520.61.05")
    assert fw_problems(card, "jax")["jax_driver_too_old"]["severity"] == "error"
    _, card = card_of(cli, "--card", "5090", "--jax", "0.5.3")
    assert fw_problems(card, "jax")["jax_ptx_jit"]["severity"] == "warning"
    assert card["frameworks"]["jax"]["oldest"] == "0.6.0"  # the first with PTX for 12.0


# --- detected --------------------------------------------------------------------------------

PASCAL = smi_rows("NVIDIA GeForce GTX 1080 Ti, 580.65.06, 11264 MiB, 312 MiB, 6.1")


def detected(s: Scenario) -> dict:
    kb = load_knowledge()
    catalog = load_catalog()
    return doctor_doc(build_report(kb, catalog, detect(s.probes())), kb.date, catalog.date)


def test_detected_jax_cuda13_on_pascal_has_no_kernels():
    s = Scenario(
        smi=PASCAL,
        libs={"jax": "0.10.2", "jaxlib": "0.10.2", "jax-cuda13-plugin": "0.10.2"},
        modules={"jax": fake_jax(("cpu",))},
    )
    doc = detected(s)
    [card] = doc["cards"]
    p = fw_problems(card, "jax")
    assert "jax[cuda12] has code for it" in p["jax_gpu_unsupported"]["message"]
    assert "jax_gpu_not_found" in p and doc["system"]["jax"]["variant"] == "cuda13"


def test_detected_tensorflow_without_its_cuda_libraries():
    build = {"is_cuda_build": True, "cuda_version": "12.5.1", "cuda_compute_capabilities": []}
    s = Scenario(
        smi=PASCAL,
        libs={"tensorflow": "2.21.0"},
        modules={"tensorflow": fake_tensorflow(build, gpus=0)},
    )
    doc = detected(s)
    p = fw_problems(doc["cards"][0], "tensorflow")
    assert "tensorflow[and-cuda]==2.21.*" in p["tensorflow_gpu_not_found"]["message"]
    assert doc["system"]["tensorflow"]["how"] == "import tensorflow"
    assert s.imported == ["tensorflow"]


def test_detected_cpu_tensorflow_and_no_import_without_a_gpu():
    s = Scenario(smi=PASCAL, libs={"tensorflow-cpu": "2.21.0"})
    assert "tensorflow_not_cuda" in fw_problems(detected(s)["cards"][0], "tensorflow")
    s = Scenario(smi=None, libs={"tensorflow": "2.21.0", "jax": "0.10.2"})
    doc = detected(s)
    assert doc["system"]["tensorflow"]["version"] == "2.21.0" and s.imported == []


# --- bad input -------------------------------------------------------------------------------

_HYP = dict(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings(**_HYP)
@given(
    flag=st.sampled_from(["--tensorflow", "--jax", "--python"]),
    value=st.text(max_size=24).filter(lambda s: not s.startswith("-")),
)
def test_any_version_flag_is_read_or_refused_in_one_line(cli, flag, value):
    r = cli("doctor", "--card", "3090", flag, value, "--json")
    assert "Traceback" not in r.err
    if r.code == 2:
        assert json.loads(r.out)["error"]["message"] and r.err.count("\n") == 1
        assert flag in r.err and "e.g." in r.err
    else:
        assert r.code in (0, 1) and json.loads(r.out)["cards"]


@settings(**_HYP)
@given(
    flag=st.sampled_from(["--tensorflow", "--jax"]),
    value=st.from_regex(r"[0-9x]{0,3}(\.[0-9a-z]{0,4}){0,4}(\+[a-z0-9]{0,5})?", fullmatch=True),
)
def test_version_like_garbage(cli, flag, value):
    r = cli("doctor", "--card", "4090", flag, value)
    assert r.code in (0, 1, 2) and "Traceback" not in r.err
    if r.code == 2:
        assert r.err.count("\n") == 1 and "not a" in r.err


def test_malformed_versions_name_what_is_accepted(cli):
    for flag, value, says in (
        ("--tensorflow", "latest", "e.g. 2.21.0"),
        ("--tensorflow", "2", "e.g. 2.21.0"),
        ("--jax", "0.4.x", "e.g. 0.10.2"),
        ("--python", "2.7", "e.g. 3.12"),
        ("--tensorflow", "2.21\x1b[31m", "e.g. 2.21.0"),
    ):
        r = cli("doctor", "--card", "3090", flag, value)
        assert r.code == 2 and r.out == "" and says in r.err and r.err.count("\n") == 1
        assert "\x1b" not in r.err
    # refused before anything is detected, with no --card too
    assert cli("doctor", "--jax", "nope").code == 2
