"""The `wayfinder` console script: the plain `ask` form answers before typer is even imported.

`wayfinder ask` runs as a new process per question; importing typer, rich and the command
definitions would cost it more than a remote answer (bot.cli.asking). Every other command, and
any `ask` that needs explaining, goes to the typer app in `bot.cli.main`.

Once answered, the process ends without the interpreter's teardown (`_end`): freeing every object
of every module one by one cost a question about 0.1 s of CPU, more than answering it.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from typing import NoReturn

from bot.cli.asking import fast_ask


def main(*, end_process: bool = True) -> None:
    """`end_process=False` in-process (tests): the fast path ends with `SystemExit`, as typer's commands do."""
    # A question's process allocates the modules, the answer and the catalog's index, and next to no cyclic
    # garbage: the ~190 collections that allocation triggered cost ~60 ms of its ~0.45 s (bench_cli_startup).
    # The collector stays off to the end of the process (`_end`); typer's commands and in-process callers get it back.
    gc.disable()
    try:
        code = fast_ask(sys.argv[1:])
        if code is None:
            from bot.cli.main import app

            gc.enable()
            app()
        elif end_process:
            _end(code)
        elif code:
            sys.exit(code)
    except BrokenPipeError:  # `wayfinder ask … | head -1`: the reader had enough, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's own flush cannot fail again
        sys.exit(141)  # what a shell reports for a process ended by SIGPIPE
    finally:
        gc.enable()


def _end(code: int) -> NoReturn:
    """Exit with `code` as `sys.exit` would, less the teardown nothing depends on.

    The output is flushed and the exit handlers run (logging's, a `RowBuffer`'s); the answer's
    transaction was committed and the catalog closed its connections (`bot.cli.asking`).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    main()
