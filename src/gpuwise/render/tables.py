"""JSON documents -> rich tables for people. Tables read the same documents ``--json`` prints,
so a number on screen is always the number in the JSON.

Each command's tables are in their own module (render/card_tables.py, plan_tables.py,
recommend_tables.py, doctor_tables.py, measure_tables.py, mnist_tables.py, ...), every word said
through the catalogue. Importing them is cheap (rich is imported when a table is made), so a
command can name its table function before it knows whether ``--json`` was asked for. Print the
tables through :func:`gpuwise.render.console.console`, which shows every string as text (no
markup, unsafe characters escaped); colour and weight come from styles, never from markup.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table


def advice_table(a: dict[str, Any]) -> Table:
    """What to change so a job fits a card: now :func:`gpuwise.render.plan_tables.advice_table`
    (named here too for the recommend tables)."""
    from gpuwise.render.plan_tables import advice_table as made

    return made(a)
