"""Two questions about paths that the caches of configs ask, neither of which ever raises."""

from __future__ import annotations

import os


def exists(path: str) -> bool:
    """Whether something is at ``path`` (links followed): a name the system cannot look up
    (too long, a NUL, a parent that is not a searchable folder) is nothing."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path``, with every link followed, is inside ``folder`` (its links followed)."""
    try:
        real, base = os.path.realpath(path), os.path.realpath(folder)
        return real != base and os.path.commonpath([real, base]) == base
    except (OSError, ValueError):
        return False
