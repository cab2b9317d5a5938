"""The CLI's consoles: catalog and config text is printed literally, never as markup or escapes.

Sync problems, source names, error messages and table cells can carry text from catalog files;
rich would read `[link=...]` in them as markup and pass `\\x1b[2J` through to the terminal.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from catalog.safe_text import neutralise


class SafeConsole(Console):
    """A rich Console without markup or highlighting that neutralises every string it renders."""

    def __init__(self, *, stderr: bool = False) -> None:
        stream = sys.stderr if stderr else sys.stdout
        # Off a terminal rich would wrap at 80 columns; keep lines whole for logs and pipes.
        super().__init__(stderr=stderr, width=None if stream.isatty() else 200, markup=False, highlight=False)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(neutralise(text), **options)
