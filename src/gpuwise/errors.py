"""The one exception type users see.

Every problem with the user's input (an unknown card, a malformed config.json, an impossible
number) raises :class:`GpuwiseError` with a message that names the problem and what would be
accepted. The command line prints that message as one line on stderr and exits with code 2; with
``--json`` it also prints ``{"schema_version", "gpuwise_version", "error": {"code", "message"}}``
on stdout, where ``code`` is one of :data:`ERROR_CODES` (stable: scripts may branch on it).

The message is a :class:`~gpuwise.i18n.Message` (a catalogue key and its parameters), so that
the command line says it in the user's language: ``GpuwiseError(Message("catalog.unknown_card",
name=name, closest=...), code="unknown_card")``. ``str(error)`` is the English text, for the
Python API and logs; :meth:`GpuwiseError.text` renders it in any language. A plain string is
still taken (English only) until every message is in the catalogue.
"""

from __future__ import annotations

from gpuwise.i18n import Message

#: The machine-readable codes of an error, each with what it means (the README lists them).
ERROR_CODES: dict[str, str] = {
    "invalid_input": "a value gpuwise cannot use (the default)",
    "usage": "the command line itself: an unknown command or flag, a missing or malformed value",
    "unknown_card": "no catalogued or user card goes by that name",
    "unknown_model": (
        "no file, folder, preset, size or hub id (cached from Hugging Face or ModelScope, or "
        "downloaded) goes by that name"
    ),
    "internal_error": "a bug in gpuwise (exit code 1): please report it, with --debug",
}


class GpuwiseError(Exception):
    """A problem with the user's input, explained in one line; ``code`` says which kind."""

    exit_code = 2

    def __init__(self, message: str | Message, code: str = "invalid_input") -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}; codes: {', '.join(ERROR_CODES)}")
        super().__init__(message)
        self.message = message
        self.code = code

    def text(self, language: str | None = None) -> str:
        """The message in ``language`` (default: the language in use)."""
        if isinstance(self.message, Message):
            return self.message.render(language)
        return self.message

    def __str__(self) -> str:
        return self.text("en")


class InternalError(GpuwiseError):
    """Not the user's input but gpuwise itself (a result that cannot be written as JSON): one
    line all the same, exit code 1."""

    exit_code = 1

    def __init__(self, message: str | Message) -> None:
        super().__init__(message, code="internal_error")
