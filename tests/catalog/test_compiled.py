"""The compiled catalogue commands read is the card files people edit, checked: a card file
changed without ``python scripts/build_catalog.py`` fails here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from gpuwise.catalog.load import compile_packaged, packaged_files

ROOT = Path(__file__).resolve().parents[2]


def _build_script():
    spec = importlib.util.spec_from_file_location(
        "build_catalog", ROOT / "scripts/build_catalog.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_compiled_table_is_the_card_files():
    script = _build_script()
    for path, text in script.texts().items():
        on_disk = path.read_text(encoding="utf-8")
        assert on_disk == text, f"{path.name}: card files changed: run scripts/build_catalog.py"


def test_every_card_and_source_of_the_files_is_in_the_table():
    table = compile_packaged()
    slugs = [c["slug"] for _, text in packaged_files() for c in json.loads(text)["cards"]]
    assert len(slugs) >= 100
    assert [c["slug"] for c in table["cards"]] == slugs
    cited = [key for keys in table["cited"].values() for key in keys.values()]
    assert cited and set(cited) == set(table["sources"])
