"""Every line gpuwise shows people, in their language: English (``en``) or Simplified Chinese
(``zh-CN``).

One message catalogue per language, ``messages/en/`` and ``messages/zh-CN/``, one file per
area (the key's first part: ``plan.*`` in ``plan.json``): a flat object of key -> text (or, for
a text that depends on a count, ``{"one": ..., "other": ...}``), placeholders written
``{name}``, braces doubled for a brace; the same files, keys and order in both languages, so
that they read side by side. The command line and the web page read the same
files; docs/i18n.md gives the format and the recipe for converting a command.

- Domain code says what happened as a :class:`Message` (a key and its parameters), never as
  finished text: ``GpuwiseError(Message("catalog.unknown_card", name=...))``. A message is
  rendered when it is shown, in the language then in use; ``str(error)`` stays English.
- Faces (tables, help, the error line) call :func:`t` for text in the current language.
- :func:`use` sets that language (the command line does, from ``--lang`` or the locale);
  an area's file is read on its first use, and only in the language in use.

Standard library only, and cheap to import: the fast path imports it.
"""

from __future__ import annotations

from gpuwise.i18n.languages import DEFAULT, LANGUAGES, from_environment, parse_language
from gpuwise.i18n.message import (
    Message,
    Text,
    catalogue,
    current,
    cut,
    known,
    render,
    t,
    use,
)

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "Message",
    "Text",
    "catalogue",
    "current",
    "cut",
    "from_environment",
    "known",
    "parse_language",
    "render",
    "t",
    "use",
]
