"""Checks several test modules make of what a command printed."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: hypothesis settings for tests that take pytest's function-scoped fixtures (``cli``,
#: ``tmp_path``): each example runs a command, so no deadline.
fixture_ok = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: The smallest config.json that loads: a two-layer model with grouped KV heads, for tests of
#: where configs come from (hub caches, downloads) rather than what they hold.
TINY_CONFIG = {
    "model_type": "llama",
    "vocab_size": 1000,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


#: Any JSON value, small: what a malformed config or card file may hold at one key.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def one_line(r: Any, *says: str) -> None:
    """A refusal as promised: exit 2, exactly one line on stderr naming ``says``, no
    traceback."""
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert r.err.count("\n") == 1, r.err
    for text in says:
        assert text in r.err, r.err


def all_finite(doc: Any) -> None:
    """Every float anywhere in ``doc`` is finite."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            assert math.isfinite(item), f"a non-finite number: {item}"


def finite_document(text: str) -> Any:
    """The ``--json`` document; NaN / Infinity literals and non-finite floats fail the test."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the --json output")

    doc = json.loads(text, parse_constant=refuse)
    all_finite(doc)
    return doc


def loads_none_of(code: str, modules: tuple[str, ...]) -> None:
    """Run ``code`` in a new Python (from the repository's root) and fail if it ends with any
    of ``modules`` imported, or fails itself."""
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        f"import sys\n{code}\n"
        f"loaded = [m for m in {modules!r} if m in sys.modules]\n"
        "sys.exit(f'imported {loaded}' if loaded else 0)\n"
    )
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr


def command_loads_none_of(args: list[str], modules: tuple[str, ...]) -> None:
    """``gpuwise ARGS`` in a new Python succeeds with none of ``modules`` imported."""
    loads_none_of(
        f"from gpuwise.cli.main import main\nif main({args!r}):\n    sys.exit('failed')", modules
    )
