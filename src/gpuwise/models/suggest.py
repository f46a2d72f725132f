"""The presets closest to a model name that names none: "qwen2.5-14" -> qwen2.5-14b, ...

A name is compared with every preset's slug, aliases and Hugging Face id (the part after the
``/`` too), lower case, and without the ending that names a tuned variant ("-Instruct",
"-chat", "-it", ...: their shapes are the base model's); each preset counts with its best
match, the closest first.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_VARIANT = re.compile(r"(-(instruct|chat|it|base|hf|pt))+$")

#: Least similarity (difflib's ratio) of a name to be suggested at all.
CUTOFF = 0.5


def _keys(slug: str, entry: dict[str, Any]) -> set[str]:
    hf_id = str(entry.get("hf_id", "")).lower()
    keys = {slug, hf_id, hf_id.rpartition("/")[2], *(a.lower() for a in entry.get("aliases", ()))}
    return keys | {_VARIANT.sub("", k) for k in keys}


def closest_presets(name: str, index: dict[str, dict[str, Any]], n: int = 5) -> list[str]:
    """Slugs of the ``n`` presets of ``index`` (slug -> entry) most like ``name``."""
    import difflib  # only for a name that names nothing

    target = name.strip().lower()
    texts = {target, target.rpartition("/")[2]}
    texts |= {_VARIANT.sub("", t) for t in texts}
    matcher = difflib.SequenceMatcher(autojunk=False)
    best: dict[str, float] = {}
    for slug, entry in index.items():
        for key in _keys(slug, entry) - {""}:
            matcher.set_seq2(key)
            for text in texts - {""}:
                matcher.set_seq1(text)
                if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF:
                    best[slug] = max(best.get(slug, 0.0), matcher.ratio())
    ranked = sorted((s for s in best if best[s] >= CUTOFF), key=lambda s: (-best[s], s))
    return ranked[:n]
