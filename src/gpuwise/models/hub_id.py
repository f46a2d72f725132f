"""Model ids of the Hugging Face hub and ModelScope ("Qwen/Qwen2.5-7B"): which names are ids,
and their two parts, safe to use as folder names.

An id is ``org/name``, each part ASCII letters, digits, ``.``, ``_`` and ``-``, starting with a
letter or digit, with no ``..`` (as both hubs require). Only such an id is ever joined to a cache
folder or a URL, so neither part can climb out of a folder (``..``), name the root, or hold a
separator.
"""

from __future__ import annotations

import re

#: The hubs a model's config.json may be downloaded from, the default first.
SOURCES = ("huggingface", "modelscope")
#: What looks like an id at all (``org/name``): a name of this shape is looked up as one.
LOOKS_LIKE_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,95}")


def hub_id_parts(name: str) -> tuple[str, str] | None:
    """``(org, name)`` of a valid hub id, else None."""
    org, sep, repo = name.partition("/")
    if not sep:
        return None
    for part in (org, repo):
        if not _PART.fullmatch(part) or ".." in part:
            return None
    return org, repo
