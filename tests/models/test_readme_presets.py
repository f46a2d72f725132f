"""The README's list of presets is the list `gpuwise model --list` prints, no more, no less."""

from __future__ import annotations

import re
from pathlib import Path

from gpuwise.models import preset_names

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_preset_once():
    text = README.read_text(encoding="utf-8")
    start = text.index("**Presets**")
    paragraph = text[start : text.index("\n\n", start)]
    listed = re.findall(r"`([a-z0-9][a-z0-9.\-]*)`", paragraph.split("):", 1)[1])
    assert listed, "no preset names after the Presets heading"
    assert sorted(listed) == preset_names()
