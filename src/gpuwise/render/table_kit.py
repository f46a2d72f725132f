"""The pieces every table for people is made of: a rich table (rich imported only when one is
made), styled text, and columns as wide as what they hold, counted in terminal cells, so that
a column of Chinese headers (each character two cells wide) lines up as an English one does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from rich.table import Table
    from rich.text import Text


def table(**kwargs: Any) -> Table:
    """A rich table (rich imported only now)."""
    from rich.table import Table

    return Table(**kwargs)


def styled(text: str, style: str) -> Text:
    """``text`` in a rich style ("bold", "red"): how tables colour, instead of markup."""
    from gpuwise.render.console import styled as make

    return make(text, style)


def cells(text: str) -> int:
    """How many terminal cells ``text`` takes: a CJK character two, most others one."""
    from rich.cells import cell_len

    return cell_len(text)


def add_columns(
    tbl: Table, headers: Sequence[str], rows: Sequence[Sequence[Any]], text: Sequence[int] = ()
) -> None:
    """Columns ``headers`` for ``rows``: the ones at indexes ``text`` fold long text; every
    other is a figure, right-aligned and never cut, as wide as its widest cell or header line."""
    for i, header in enumerate(headers):
        if i in text:
            tbl.add_column(header, overflow="fold")
        else:
            lines = header.split("\n")  # a header of two lines is as wide as its longer
            width = max([*(cells(line) for line in lines), *(cells(str(r[i])) for r in rows)])
            tbl.add_column(header, justify="right", no_wrap=True, min_width=width)
