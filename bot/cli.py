"""The `wayfinder` command line (DESIGN.md "Command line"): a thin adapter over `catalog.core`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot.settings import BUNDLED_CONFIG, Settings
from catalog.config import load_config
from catalog.core import Catalog
from catalog.db import make_engine, upgrade
from catalog.errors import WayfinderError
from catalog.sources.registry import Progress as ProgressFn
from catalog.sync import SyncReport, last_runs
from catalog.validate import validate_path

app = typer.Typer(help="Wayfinder: who owns what, answered where you work.", no_args_is_help=True, add_completion=False)
sync_app = typer.Typer(help="Run syncs once, or show recent runs with `sync status`.")
db_app = typer.Typer(help="Database maintenance.")
app.add_typer(sync_app, name="sync")
app.add_typer(db_app, name="db")
# Off a terminal rich would wrap at 80 columns; keep lines whole for logs and pipes.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_NOT_FOUND = 3


def open_catalog(settings: Settings, *, config: Path | None = None) -> Catalog:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    catalog = Catalog(settings.database_url, load_config(config or settings.config_path()), settings.slack_api_url, token)
    catalog.require_schema()
    return catalog


@contextmanager
def _progress(enabled: bool) -> Iterator[callable]:  # type: ignore[valid-type]
    """A progress bar per source, only on a terminal."""
    if not enabled:
        yield lambda name: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:

        def for_source(name: str) -> ProgressFn:
            task = bar.add_task(f"sync {name}", total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)

        yield for_source


def _print_reports(reports: list[SyncReport]) -> None:
    table = Table("source", "status", "added", "updated", "removed", "unchanged", "errors", "warnings", "seconds")
    for r in reports:
        errors = sum(1 for p in r.problems if p.severity == "error")
        table.add_row(r.source, r.status, *(str(n) for n in (r.added, r.updated, r.removed, r.unchanged, errors, len(r.problems) - errors)), f"{r.seconds:.2f}")
    out.print(table)
    for r in reports:
        for p in r.problems:
            err.print(f"{r.source}: {p}", markup=False, highlight=False)
        if r.error:
            err.print(f"{r.source}: {r.status}: {r.error}", markup=False, highlight=False)


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
    allow_large_delete: Annotated[bool, typer.Option(help="Allow a run to retire most or all of a source's entities.")] = False,
) -> None:
    """Run every configured source once (or only --source NAME); exit 1 if any failed."""
    if ctx.invoked_subcommand:
        return
    catalog = open_catalog(Settings())
    with _progress(sys.stderr.isatty()) as progress:
        reports = catalog.sync(source, allow_large_delete=allow_large_delete, progress=progress)
    _print_reports(reports)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


@sync_app.command("status")
def sync_status(limit: Annotated[int, typer.Option(help="Runs to show per source.")] = 1) -> None:
    """Show the last runs of each source."""
    catalog = open_catalog(Settings())
    with catalog.session() as session:
        runs = last_runs(session, limit)
    if not runs:
        out.print("No syncs have run yet. Run `wayfinder sync`.")
        return
    table = Table("source", "started (UTC)", "status", "seconds", "added", "updated", "removed", "unchanged", "errors", "requests", "message")
    for r in runs:
        seconds = f"{(r.finished_at - r.started_at).total_seconds():.2f}" if r.finished_at else "-"
        table.add_row(
            r.source, f"{r.started_at:%Y-%m-%d %H:%M:%S}", r.status, seconds,
            *(str(n) for n in (r.added, r.updated, r.removed, r.unchanged, r.error_count, r.requests)), r.message or "",
        )  # fmt: skip
    out.print(table)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='For example "who owns payments-service?"')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
) -> None:
    """Answer a question exactly as the bot would in Slack; exit 3 when not found or ambiguous."""
    answer = open_catalog(Settings()).ask(question, transport="cli")
    if as_json:
        print(json.dumps(answer.to_json(), default=str))
    else:
        print(answer.text)
    if answer.status in ("not_found", "ambiguous"):
        raise typer.Exit(EXIT_NOT_FOUND)


@app.command()
def validate(path: Annotated[Path | None, typer.Argument(help="A config file, or a catalog file or directory.")] = None) -> None:
    """Check the config and catalog files; errors name file and line. Exit 1 on errors."""
    problems = validate_path(path or Settings().config_path())
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        (err if p.severity == "error" else out).print(str(p), markup=False, highlight=False)
    out.print(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    settings = Settings()
    upgrade(make_engine(settings.database_url))
    out.print("Database is up to date.")


@app.command()
def demo() -> None:
    """Sync the bundled example organisation into SQLite and show a few answers."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    catalog = open_catalog(settings, config=BUNDLED_CONFIG)
    with _progress(sys.stderr.isatty()) as progress:
        _print_reports(catalog.sync(progress=progress))
    for question in ("who owns payments-service?", "what does team payments own?", "what depends on ledger-db?"):
        print(f"\n> {question}")
        print(catalog.ask(question, transport="demo").text)
    out.print('\nAsk your own: wayfinder ask "who owns checkout-api?"')


def main() -> None:
    try:
        app()
    except WayfinderError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
