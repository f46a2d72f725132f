"""Write src/gpuwise/catalog/data/compiled.json from the card files beside it.

The card files (one per series, each figure with its source) are what people edit; commands
read the compiled table, one file already checked, so that ``gpuwise gpus`` parses one file and
checks nothing at start-up. tests/catalog/test_compiled.py fails when the two disagree: run
this script after editing a card file.

Usage: python scripts/build_catalog.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gpuwise.catalog.load import compile_packaged  # noqa: E402

OUT = ROOT / "src/gpuwise/catalog/data/compiled.json"
#: Where each figure comes from: most of the bytes, read only by the commands that show sources.
OUT_SOURCES = ROOT / "src/gpuwise/catalog/data/compiled_sources.json"


_WHAT = {"what": "built by scripts/build_catalog.py from cards/*.json; edit those, not this"}


def texts() -> dict[Path, str]:
    """Each file's text: the cards compact, one per line (a readable diff when a card
    changes); their sources in a file of their own."""
    table = compile_packaged()
    cards = ",\n".join(json.dumps(c, ensure_ascii=False, sort_keys=True) for c in table["cards"])
    head = json.dumps(_WHAT)
    rest = {k: table[k] for k in ("cited", "sources")}
    body = json.dumps({**_WHAT, **rest}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return {OUT: f'{head[:-1]}, "cards": [\n{cards}\n]}}\n', OUT_SOURCES: body + "\n"}


def main() -> int:
    for path, text in texts().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
