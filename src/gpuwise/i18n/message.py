"""Messages: a key into the catalogue and its parameters, rendered in a language when shown.

A template's placeholders are ``{name}`` (letters, digits, ``_``); ``{{`` and ``}}`` stand for
braces. No format specs: a number is formatted by the caller (``f"{n:,}"``) before it becomes a
parameter, so that the web page renders the same templates with a one-line replace. A
parameter may be a :class:`Message` itself, rendered in the same language. A template that
depends on a count is ``{"one": ..., "other": ...}``, picked by the parameter ``count`` (1:
"one"; Chinese has only "other").
"""

from __future__ import annotations

import json
import os
import re

from gpuwise.i18n.languages import DEFAULT, LANGUAGES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: ``{name}``, ``{{`` or ``}}`` in a template (compiled on the first message rendered: a
#: command that renders none does not pay for it).
_PLACEHOLDER = r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}"
_FOLDER = os.path.join(os.path.dirname(__file__), "messages")
_loaded: dict[tuple[str, str], dict[str, Any]] = {}
_current = DEFAULT


def use(language: str) -> str:
    """Speak ``language`` (one of :data:`LANGUAGES`) from now on; returns the one before."""
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; languages: {', '.join(LANGUAGES)}")
    before, _current = _current, language
    return before


def current() -> str:
    """The language messages are rendered in when none is named."""
    return _current


def catalogue(language: str, area: str) -> dict[str, Any]:
    """``messages/<language>/<area>.json``: the messages whose keys begin ``<area>.``, read on
    first use (only the areas a command speaks, in the language in use). An area with no file
    is empty."""
    found = _loaded.get((language, area))
    if found is None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; languages: {', '.join(LANGUAGES)}")
        try:
            with open(os.path.join(_FOLDER, language, f"{area}.json"), encoding="utf-8") as f:
                found = json.load(f)
        except FileNotFoundError:
            found = {}
        _loaded[(language, area)] = found
    return found


def areas(language: str) -> list[str]:
    """The areas ``language`` has a file for, in name order."""
    names = os.listdir(os.path.join(_FOLDER, language))
    return sorted(n[: -len(".json")] for n in names if n.endswith(".json"))


def area_of(key: str) -> str:
    """The area (file) of message ``key``: its first dotted part."""
    return key.partition(".")[0]


def _template(key: str, language: str, params: dict[str, Any]) -> str:
    area = area_of(key)
    entry = catalogue(language, area).get(key)
    if entry is None and language != DEFAULT:
        entry = catalogue(DEFAULT, area).get(key)  # a catalogue behind the English one
    if entry is None:
        raise KeyError(f"no message {key!r} in messages/{DEFAULT}/{area}.json")
    if isinstance(entry, dict):
        form = "one" if params.get("count") == 1 and "one" in entry else "other"
        return str(entry[form])
    return str(entry)


def render(key: str, params: dict[str, Any], language: str | None = None) -> str:
    """The text of message ``key`` with ``params``, in ``language`` (default: the current)."""
    lang = language or _current
    template = _template(key, lang, params)

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group()[0]
        value = params[name]
        return value.render(lang) if isinstance(value, Message) else str(value)

    return re.sub(_PLACEHOLDER, fill, template)


class Message:
    """What to say, not yet said: a catalogue key and its parameters. ``str()`` renders it in
    the current language; :meth:`render` in any."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params

    def render(self, language: str | None = None) -> str:
        return render(self.key, self.params, language)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Message({self.key!r}{args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.key == other.key and self.params == other.params

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted(self.params.items()))))


#: What may be shown to people: plain text, or a message said in their language.
Text = str | Message


def t(key: str, /, **params: Any) -> str:
    """Message ``key`` in the current language, now: what tables and help texts call."""
    return render(key, params)


def known(prefix: str, english: str) -> str | Message:
    """The message under ``prefix`` whose English text is ``english``, or ``english`` itself:
    how words gpuwise did not write (the JSON parser's "Expecting value", the system's
    "Permission denied") are said in the user's language when the catalogue has them."""
    for key, text in catalogue(DEFAULT, area_of(prefix)).items():
        if text == english and key.startswith(prefix):
            return Message(key)
    return english


def cut(text: str, limit: int) -> str | Message:
    """``text`` for an error line: one longer than ``limit`` is cut, with its length said
    (a 5,000-character name must not become a 5,000-character error)."""
    if len(text) <= limit:
        return text
    return Message("text.cut", start=text[:limit], length=len(text))
