"""The one exception type users see.

Every problem with the user's input (an unknown card, a malformed config.json, an impossible
number) raises :class:`GpuwiseError` with a message that names the problem and what would be
accepted. The command line prints that message as one line on stderr and exits with code 2.
"""

from __future__ import annotations


class GpuwiseError(Exception):
    """A problem with the user's input, explained in one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
