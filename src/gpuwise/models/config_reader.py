"""Read fields of an untrusted config.json with transformers' defaults and strict type checks.

A field missing from the file takes the default of transformers' configuration class (from
``data/hf_defaults.json``, extracted by ``scripts/extract_hf_defaults.py``); a field present with
the wrong type or an impossible value is an error naming the field and what is accepted. Nothing
here guesses: a value that transformers would reject, or that would make our count differ from
transformers', stops with a :class:`~gpuwise.errors.GpuwiseError`.
"""

from __future__ import annotations

import functools
import json

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

_MISSING = object()

#: Largest value accepted for any size field: beyond it the count is no longer a real model.
MAX_DIM = 1 << 24


@functools.lru_cache(maxsize=1)
def hf_defaults() -> dict[str, Any]:
    """The transformers defaults data file, loaded once."""
    data: dict[str, Any] = packaged_json("gpuwise.models", "data/hf_defaults.json")
    return data


class ConfigReader:
    """Typed access to one config dict for one supported model_type."""

    def __init__(self, raw: dict[str, Any], model_type: str, where: Text) -> None:
        entry = hf_defaults()["model_types"][model_type]
        self.raw = raw
        self.model_type = model_type
        self.where = where
        self.defaults: dict[str, Any] = entry["defaults"]
        # transformers' attribute_map: {"hidden_size": "n_embd"} lets a file say either name.
        self.aliases: dict[str, list[str]] = {}
        for alias, target in entry["attribute_map"].items():
            self.aliases.setdefault(target, []).append(alias)

    # -- raw access -------------------------------------------------------------------------
    def _get(self, key: str) -> Any:
        if key in self.raw:
            return self.raw[key]
        for alias in self.aliases.get(key, ()):
            if alias in self.raw:
                return self.raw[alias]
        if key in self.defaults:
            return self.defaults[key]
        return _MISSING

    def has(self, key: str) -> bool:
        """True when the file itself gives a non-null value for ``key`` (or an alias of it)."""
        if self.raw.get(key) is not None:
            return True
        return any(self.raw.get(a) is not None for a in self.aliases.get(key, ()))

    def _fail(self, key: str, expected: Message, value: Any) -> GpuwiseError:
        shown = json.dumps(value) if not isinstance(value, str) else repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return GpuwiseError(
            Message(
                "models.bad_field",
                where=self.where,
                field=key,
                expected=expected,
                model_type=self.model_type,
                got=shown,
            )
        )

    # -- typed getters ----------------------------------------------------------------------
    def get_int(self, key: str, *, minimum: int = 1, default: Any = _MISSING) -> int:
        """A required integer >= ``minimum``; ``default`` when missing or null (if given)."""
        value = self._get(key)
        if value is None or value is _MISSING:
            if default is not _MISSING:
                return int(default)
            if value is _MISSING:
                raise GpuwiseError(
                    Message(
                        "models.missing_field",
                        where=self.where,
                        field=key,
                        model_type=self.model_type,
                    )
                )
            raise self._fail(key, Message("models.expect.int_min", minimum=minimum), value)
        return self._check_int(key, value, minimum)

    def opt_int(self, key: str, *, minimum: int = 1) -> int | None:
        """An optional integer >= ``minimum``: None when missing or null."""
        value = self._get(key)
        if value is None or value is _MISSING:
            return None
        return self._check_int(key, value, minimum)

    def _check_int(self, key: str, value: Any, minimum: int) -> int:
        # JSON has one number type: 4096.0 is accepted as 4096, 4096.5 is not.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, Message("models.expect.int_min", minimum=minimum), value)
        if value < minimum or value > MAX_DIM:
            raise self._fail(
                key, Message("models.expect.int_range", minimum=minimum, most=MAX_DIM), value
            )
        return value

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self._get(key)
        if value is None or value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, Message("models.expect.bool"), value)
        return value

    def get_str(self, key: str, default: str = "") -> str:
        value = self._get(key)
        if value is None or value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self._fail(key, Message("models.expect.str"), value)
        return value

    def int_list(self, key: str, *, minimum: int = 0) -> list[int]:
        value = self._get(key)
        if value is None or value is _MISSING:
            return []
        if not isinstance(value, list):
            raise self._fail(key, Message("models.expect.int_list"), value)
        return [self._check_int(key, v, minimum) for v in value]

    def str_list(self, key: str) -> list[str]:
        value = self._get(key)
        if value is None or value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, Message("models.expect.str_list"), value)
        return list(value)
