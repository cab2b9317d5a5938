"""The CLI's two consoles and tables that fit the terminal.

Catalog and config text is printed literally, never as markup or escapes: sync problems, source
names, error messages and table cells can carry text from catalog files, and rich would read
`[link=...]` in them as markup and pass `\\x1b[2J` through to the terminal.

On a terminal (or with `COLUMNS` set) tables fit its width: the least useful columns are dropped
first and what remains folds instead of being cut to `no…`. Off a terminal lines stay whole
(200 columns) for logs and pipes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

from catalog.safe_text import neutralise

PIPE_WIDTH = 200
UNBOUNDED = 10_000  # measuring within this width gives a table's natural (unwrapped) width


class SafeConsole(Console):
    """A rich Console without markup or highlighting that neutralises every string it renders."""

    def __init__(self, *, stderr: bool = False) -> None:
        stream = sys.stderr if stderr else sys.stdout
        super().__init__(stderr=stderr, width=None if stream.isatty() else PIPE_WIDTH, markup=False, highlight=False)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(neutralise(text), **options)


out = SafeConsole()
err = SafeConsole(stderr=True)


def fit_consoles() -> None:
    """Size both consoles for this run (tests and `COLUMNS=80 wayfinder ...` set it per run)."""
    out.width = _width(sys.stdout)
    err.width = _width(sys.stderr)


def _width(stream: TextIO) -> int:
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    if stream.isatty():
        return os.get_terminal_size(stream.fileno()).columns
    return PIPE_WIDTH


def say(console: Console, text: str) -> None:
    """Print catalog text as it is: no rich markup or highlighting (names may contain `[`), and no
    line breaks added at the terminal's edge, so a message stays one line for grep."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class Col:
    """A table column; `drop` > 0 gives the order in which it goes when the terminal is too narrow."""

    header: str
    drop: int = 0
    justify: Literal["left", "right"] = "left"
    max_width: int | None = None  # free text: wraps within this width instead of widening the table


def fitted_table(console: Console, columns: Sequence[Col], rows: Sequence[Sequence[str]], *, title: str | None = None) -> Table:
    """A table of `rows` no wider than `console`, keeping every column with `drop == 0`."""
    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    shown = list(range(len(columns)))
    while True:
        table = Table(
            *(Column(columns[i].header, justify=columns[i].justify, max_width=columns[i].max_width, overflow="fold") for i in shown),
            title=title,
        )
        for row in rows:
            table.add_row(*(row[i] for i in shown))
        if not droppable or Measurement.get(console, console.options.update_width(UNBOUNDED), table).maximum <= console.width:
            return table
        shown.remove(droppable.pop(0)[1])
