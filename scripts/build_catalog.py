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


def text() -> str:
    """The file's text: compact, one card per line (a readable diff when a card changes)."""
    table = compile_packaged()
    cards = ",\n".join(json.dumps(c, ensure_ascii=False, sort_keys=True) for c in table["cards"])
    rest = {k: table[k] for k in ("cited", "sources")}
    head = json.dumps(
        {"what": "built by scripts/build_catalog.py from cards/*.json; edit those, not this"}
    )
    body = json.dumps(rest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return f'{head[:-1]}, "cards": [\n{cards}\n], {body[1:]}\n'


def main() -> int:
    OUT.write_text(text(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
