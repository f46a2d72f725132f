"""The reference step every plan describes is written down in the repository
(docs/reference-step.md), agrees with the code that runs it, and nothing cites a document the
repository does not have."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reference-step.md"
#: The product brief the project was started from; it is not in the repository. Spelled in two
#: parts so that this file does not cite it itself.
OUTSIDE_DOC = "PRODUCT" + ".md"
#: What is shipped or read by people: the package, its tests, docs, scripts and front page.
SCANNED = ("src", "tests", "docs", "scripts", "README.md", "pyproject.toml")
#: Calls and arguments of the step as src/gpuwise/probe runs it; the page must name each.
STEP_CALLS = (
    "labels=ids",
    "zero_grad(set_to_none=True)",
    "use_reentrant",
    "enable_input_require_grads",
    "prepare_model_for_kbit_training",
    "lora_alpha=2",
    "lora_dropout=0",
    "foreach=True",
    "use_cache=True",
    "logits_to_keep=1",
    "bnb_4bit_use_double_quant=True",
    "momentum=0.9",
)


def _repo_files() -> list[Path]:
    out = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            out.append(path)
        for p in path.rglob("*") if path.is_dir() else ():
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p):
                out.append(p)
    return out


def test_the_reference_step_is_in_the_repository():
    text = DOC.read_text()
    for heading in ("## The training step", "## The inference prefill", "## Known traps"):
        assert heading in text
    for page in ("README.md", "docs/memory-model.md", "docs/measure.md", "src/gpuwise/workload.py"):
        assert "reference-step.md" in (ROOT / page).read_text(), page


def test_the_page_names_what_the_code_runs():
    """Each call or argument the page names is one the step's code makes (the page goes stale
    the moment the code stops making one of them), and vice versa for this list."""
    code = "".join(p.read_text() for p in sorted((ROOT / "src/gpuwise/probe").glob("*.py")))
    page = DOC.read_text().replace(" ", "").replace("·", "*")
    assert STEP_CALLS
    for call in STEP_CALLS:
        assert call.replace(" ", "") in code.replace(" ", ""), f"the code no longer has {call}"
        assert call.replace(" ", "") in page, f"docs/reference-step.md does not name {call}"


def test_the_page_names_the_versions_the_grid_was_simulated_with():
    versions = json.loads((ROOT / "tests/accuracy/simulated.json").read_text())["versions"]
    text = " ".join(DOC.read_text().split())  # a version may be wrapped onto the next line
    assert {"torch", "transformers", "peft"} <= set(versions)
    for package in ("torch", "transformers", "peft"):
        assert f"{package} {versions[package]}" in text, package


def test_no_file_cites_a_document_outside_the_repository():
    files = _repo_files()
    assert len(files) > 100  # the walk found the repository
    citing = [str(p.relative_to(ROOT)) for p in files if OUTSIDE_DOC.encode() in p.read_bytes()]
    assert citing == [], f"cite docs/reference-step.md (or the doc that holds it) instead: {citing}"
