"""What one ownership page costs the server, counted in instructions: a measure this VM's changing speed does not move.

`bench_pages.py` measures what a responder waits for, but the CPU per page it reports moved between
1.35 and 2.56 ms from one minute to the next here, more than most changes to the page. This counts
the instructions instead (valgrind's callgrind, `apt install valgrind`), for this checkout and with
`--baseline-src` another, on one synced catalog:

    .venv/bin/python -m benchmarks.bench_page_cost --entities 10000 --pages 400 --baseline-src /tmp/head

Each tree runs twice in a child process under callgrind: once warming up on every sampled name (the
templates compiled, the caches as a running server has them), once doing that and then `--pages`
more pages; the difference over `--pages` is the cost of a page. The pages are served by
`wayfinder serve`'s ASGI app called in-process, without HTTP (the same for both trees). Page views
are written in one batch as the child exits, not every half second: on a timer, under valgrind's
50-fold slowdown, their writes' count would depend on the clock, not the code. The two runs of a tree run at once (two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from starlette.types import Message


def pages(database_url: str, names: list[str], count: int) -> None:
    """The child: every name's page once, then `count` more in turn, through the production app."""
    from bot.compose import Services
    from bot.http.app import create_http_app
    from catalog.config import Config
    from catalog.core import Catalog

    catalog = Catalog(database_url, Config())
    catalog.records.interval = 24 * 3600.0  # page views written once, at the exit (see above)
    catalog.build_index()
    app = create_http_app(Services(catalog=catalog), slack=None)
    paths = [f"/o/component/default/{quote(n)}" for n in names]

    async def get(path: str) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
            "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [(b"host", b"wayfinder"), (b"accept", b"text/html")],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"{path} answered {sent[0]['status']}")

    async def run() -> None:
        for path in paths + [paths[i % len(paths)] for i in range(count)]:
            await get(path)

    asyncio.run(run())


def instructions(src: Path, database: Path, names_file: Path, count: int) -> int:
    """Instructions of one child run, over its own copy of the database."""
    with tempfile.TemporaryDirectory(prefix="wayfinder-page-cost-") as tmp:
        copy = Path(tmp) / "pages.db"
        shutil.copy(database, copy)
        # this file's own child, importing Wayfinder from `src` (a baseline checkout may predate this file)
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(Path(__file__).resolve())]
        command += ["--child", f"sqlite:///{copy}", str(names_file), str(count)]
        env = os.environ | {"PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the child in {src} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10000)
    parser.add_argument("--pages", type=int, default=400, help="pages counted, after one warm-up page per sampled name")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-src", type=Path, help="another checkout, counted on the same catalog")
    parser.add_argument("--child", nargs=3, metavar=("DATABASE_URL", "NAMES_FILE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pages(args.child[0], Path(args.child[1]).read_text(encoding="utf-8").split("\n"), int(args.child[2]))
        return
    from benchmarks.bench_pages import prepare

    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt install valgrind): this benchmark counts instructions with its callgrind tool")
    with tempfile.TemporaryDirectory(prefix="wayfinder-bench-page-cost-") as tmp:
        url, names = prepare(Path(tmp), args.entities, args.seed)
        names_file = Path(tmp) / "names.txt"
        names_file.write_text("\n".join(names), encoding="utf-8")
        database = Path(url.removeprefix("sqlite:///"))
        trees = [("baseline", args.baseline_src)] if args.baseline_src else []
        trees.append(("this", Path(__file__).resolve().parents[1]))
        print(f"{args.entities} entities, {len(names)} names warmed up, {args.pages} pages counted; instructions per page (callgrind)")
        for label, src in trees:
            with ThreadPoolExecutor(2) as pool:
                warm, counted = pool.map(lambda n, src=src: instructions(src, database, names_file, n), (0, args.pages))
            print(f"{label:9} {(counted - warm) / args.pages / 1e6:8.3f} M   ({src})", flush=True)


if __name__ == "__main__":
    main()
