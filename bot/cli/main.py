"""The `wayfinder` command line (DESIGN.md "Command line"): a thin adapter over `catalog.core`."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot.settings import BUNDLED_CONFIG, Settings
from catalog.config import load_config
from catalog.core import Catalog, migrate
from catalog.errors import WayfinderError
from catalog.store.models import SyncRun
from catalog.sync.engine import SyncReport
from catalog.sync.schedule import start_scheduler
from catalog.sync.sources.registry import Progress as ProgressFn
from catalog.sync.validate import validate_path

if TYPE_CHECKING:  # the Slack and ASGI stack is imported only by the commands that serve
    from bot.http.app import SlackCredentials

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
def sync_status(limit: Annotated[int, typer.Option(help="Also list this many recent runs per source (1: the summary only).")] = 1) -> None:
    """Per source: fresh or STALE, last success and attempt, the last run's counts, time and requests, the last error."""
    catalog = open_catalog(Settings())
    now = datetime.now(UTC)
    statuses = catalog.source_statuses(now=now)
    runs = catalog.last_runs(limit) if limit > 1 else []
    if not statuses:
        out.print("No sources are configured and no syncs were recorded.")
        return
    table = Table("source", "type", "freshness", "last success (UTC)", "last attempt (UTC)", "last run", "seconds", "added", "updated", "removed", "unchanged", "errors", "requests")
    for st in statuses:
        run = st.last_run
        counts = (run.added, run.updated, run.removed, run.unchanged, run.error_count, run.requests) if run else ("-",) * 6
        table.add_row(
            st.name, st.type or "-", "STALE" if st.stale else "fresh", _when(st.last_success_at), _when(st.last_attempt_at),
            run.status if run else "-", f"{st.seconds:.2f}" if st.seconds is not None else "-", *(str(n) for n in counts),
        )  # fmt: skip
    out.print(table)
    for st in statuses:
        if not st.configured:
            out.print(f"{st.name}: not in the config any more; its facts stay until the source is removed", markup=False, highlight=False)
        if st.stale:
            out.print(f"{st.name}: STALE: {st.stale_reason}", markup=False, highlight=False)
        if st.last_error:
            when = "" if st.failed_runs_since_success else ", recovered since"
            out.print(f"{st.name}: last error at {_when(st.last_error_at)} UTC{when}: {st.last_error}", markup=False, highlight=False)
    if runs:
        _print_runs(runs)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "never"


def _print_runs(runs: list[SyncRun]) -> None:
    table = Table("source", "started (UTC)", "status", "seconds", "added", "updated", "removed", "unchanged", "errors", "requests", "message", title="Recent runs")
    for r in runs:
        seconds = f"{(r.finished_at - r.started_at).total_seconds():.2f}" if r.finished_at else "-"
        table.add_row(
            r.source, _when(r.started_at), r.status, seconds,
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
    migrate(settings.database_url)
    out.print("Database is up to date.")


Port = Annotated[int, typer.Option(help="HTTP port (Slack events, /healthz).")]
Host = Annotated[str, typer.Option(help="Interface to listen on; 0.0.0.0 to accept outside connections.")]
SocketMode = Annotated[bool, typer.Option("--socket", help="Receive Slack over Socket Mode (needs SLACK_APP_TOKEN) instead of HTTP.")]


@app.command()
def serve(
    port: Port = 3000,
    host: Host = "127.0.0.1",
    socket_mode: SocketMode = False,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="Run scheduled syncs in-process (once across replicas sharing the database).")
    ] = True,
) -> None:
    """Run the bot: Slack on POST /slack/events (or Socket Mode with --socket) and GET /healthz."""
    settings = Settings()
    credentials = _slack_credentials(settings, socket_mode=socket_mode)
    _run_server(settings, open_catalog(settings), credentials, host=host, port=port, socket_mode=socket_mode, scheduler=scheduler)


@app.command()
def demo(
    port: Port = 3000,
    host: Host = "127.0.0.1",
    socket_mode: SocketMode = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after printing the answers.")] = False,
) -> None:
    """Sync the bundled example organisation into SQLite, show a few answers, then serve the bot."""
    settings = Settings()
    credentials = _slack_credentials(settings, socket_mode=socket_mode)
    migrate(settings.database_url)
    catalog = open_catalog(settings, config=BUNDLED_CONFIG)
    with _progress(sys.stderr.isatty()) as progress:
        _print_reports(catalog.sync(progress=progress))
    for question in ("who owns payments-service?", "what does team payments own?", "what depends on ledger-db?"):
        print(f"\n> {question}")
        print(catalog.ask(question, transport="demo").text)
    out.print('\nAsk your own: wayfinder ask "who owns checkout-api?"')
    if not no_serve:
        _run_server(settings, catalog, credentials, host=host, port=port, socket_mode=socket_mode, scheduler=False)


def _slack_credentials(settings: Settings, *, socket_mode: bool) -> SlackCredentials:
    """Slack settings for this mode; Socket Mode without its tokens is an error, HTTP just runs without Slack."""
    from bot.http.app import SlackCredentials

    credentials = SlackCredentials(
        bot_token=_secret(settings.slack_bot_token), signing_secret=_secret(settings.slack_signing_secret),
        app_token=_secret(settings.slack_app_token), api_url=settings.slack_api_url,
    )  # fmt: skip
    missing = credentials.missing(socket_mode=socket_mode)
    if socket_mode and missing:
        err.print(f"error: --socket needs {' and '.join(missing)} (see README \"Connect to Slack\").", markup=False, highlight=False)
        raise typer.Exit(2)
    return credentials


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _run_server(settings: Settings, catalog: Catalog, credentials: SlackCredentials, *, host: str, port: int, socket_mode: bool, scheduler: bool) -> None:
    """Serve HTTP in the foreground; Socket Mode and the scheduler in the background."""
    from bot.compose import Services
    from bot.http.app import build_slack, create_http_app, serve_http, start_socket_mode

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = Services(catalog=catalog, public_url=settings.public_url)
    missing = credentials.missing(socket_mode=socket_mode)
    slack = build_slack(services, credentials, socket_mode=socket_mode)
    if missing:
        hint = f"Slack is disabled: {' and '.join(missing)} not set. Serving /healthz only; see README \"Connect to Slack\"."
        err.print(hint, markup=False, highlight=False)
    with ExitStack() as background:
        if slack is not None and socket_mode:
            background.callback(start_socket_mode(slack, credentials.app_token or "").close)
        if scheduler:
            background.callback(start_scheduler(catalog).stop)
            scheduled = [f"{s.name} ({s.schedule})" for s in catalog.config.sources if s.schedule]
            out.print(f"Scheduled syncs: {', '.join(scheduled) or 'none (no source has a schedule)'}.", markup=False, highlight=False)
        mode = "Socket Mode" if socket_mode else f"HTTP at http://{host}:{port}/slack/events" if slack else "disabled"
        out.print(f"Wayfinder is serving on http://{host}:{port} (health: /healthz). Slack: {mode}.", markup=False, highlight=False)
        serve_http(create_http_app(services, slack=slack, missing=missing, socket_mode=socket_mode), host=host, port=port)


def main() -> None:
    try:
        app()
    except WayfinderError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
