"""The one rich console gpuwise prints through, and the text pieces its tables use.

Every string rich renders (a table's cells, headers, title and caption, a printed line) becomes
text through :meth:`SafeConsole.render_str`, and every rich ``Text`` is drawn through
:meth:`SafeConsole.render`: both show unsafe characters as escapes (:mod:`gpuwise.visible`)
and neither reads rich markup, so a card named ``[/bold]`` is shown as such and a name holding
ESC sequences cannot clear the screen. A table built anywhere is safe once printed here; colour
and weight are given as styles (:func:`styled`), never as markup in a string.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from gpuwise.visible import unsafe, visible

# What a cell keeps as it is: line breaks (captions have several lines).
_KEEP = "\n"
_OUTSIDE_ASCII = re.compile(r"[^\x20-\x7e\n]")


class SafeConsole(Console):
    """A rich console that shows text, never acts on it: no markup, no emoji codes, unsafe
    characters as escapes."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(visible(text, keep=_KEEP), **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        if isinstance(renderable, Text):
            renderable = visible_text(renderable)
        return super().render(renderable, options)


def visible_text(text: Text) -> Text:
    """``text`` with unsafe characters as escapes, its styles kept on what is left."""
    cuts: set[int] = set()
    for m in _OUTSIDE_ASCII.finditer(text.plain):
        if unsafe(m.group()):
            cuts.update((m.start(), m.end()))
    if not cuts:
        return text
    out = text.blank_copy()
    for piece in text.divide(sorted(cuts)):
        if len(piece) == 1 and unsafe(piece.plain):
            escaped = Text(visible(piece.plain), style=piece.style)
            for span in piece.spans:
                escaped.stylize(span.style)
            piece = escaped
        out.append_text(piece)
    return out


def styled(text: str, style: str | Style) -> Text:
    """``text`` (shown as it is, escaped where unsafe) in ``style``, e.g. ``"bold"``, ``"red"``."""
    return Text(visible(text, keep=_KEEP), style=style)


def console() -> SafeConsole:
    """The terminal's width on a terminal; 120 columns when piped (rich would assume 80)."""
    return SafeConsole(
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
        width=None if sys.stdout.isatty() else 120,
    )
