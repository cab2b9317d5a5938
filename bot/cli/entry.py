"""The `wayfinder` console script: the plain `ask` form answers before typer is even imported.

`wayfinder ask` runs as a new process per question; importing typer, rich and the command
definitions would cost it more than a remote answer (bot.cli.asking). Every other command, and
any `ask` that needs explaining, goes to the typer app in `bot.cli.main`.
"""

from __future__ import annotations

import os
import sys

from bot.cli.asking import fast_ask


def main() -> None:
    try:
        code = fast_ask(sys.argv[1:])
        if code is None:
            from bot.cli.main import app

            app()
        elif code:
            sys.exit(code)
    except BrokenPipeError:  # `wayfinder ask … | head -1`: the reader had enough, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's own flush cannot fail again
        sys.exit(141)  # what a shell reports for a process ended by SIGPIPE


if __name__ == "__main__":
    main()
