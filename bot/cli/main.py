"""The `wayfinder` command line (DESIGN.md "Command line"): a thin adapter over `catalog.core`."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli import scorecards as scorecard_commands
from bot.cli.actions import actions_app
from bot.cli.adoption import aliases_app, report_app
from bot.cli.asking import DEFAULT_TIMEOUT, MIN_TIMEOUT, AskArgs, cli_asker, run_ask
from bot.cli.errors import EXIT_ERROR, EXIT_SYNC_FAILED, GuardedGroup, report_error
from bot.cli.priority import batch_priority
from bot.cli.terminal import Col, err, fit_consoles, fitted_table, out, say

# A command imports what it needs when it runs: `wayfinder ask` is a new process per question, and
# the scheduler, migrations, the Slack and web stack or (remotely) the whole database layer would
# cost it more than the answer itself (README "From a laptop", "Start-up").
if TYPE_CHECKING:
    import socket

    from pydantic import SecretStr

    from bot.compose import Services
    from bot.http.app import SlackCredentials
    from bot.settings import Settings
    from catalog.core import Catalog
    from catalog.store.models import SyncRun
    from catalog.sync.engine import SyncReport
    from catalog.sync.sources.registry import Progress as ProgressFn

app = typer.Typer(
    cls=GuardedGroup, help="Wayfinder: who owns what, answered where you work.", no_args_is_help=True, add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would print DATABASE_URL and tokens
)  # fmt: skip
sync_app = typer.Typer(help="Run syncs once, or show recent runs with `sync status`.")
db_app = typer.Typer(help="Database maintenance.")
app.add_typer(sync_app, name="sync")
app.add_typer(db_app, name="db")
app.add_typer(actions_app, name="actions")
app.add_typer(report_app, name="report")
app.add_typer(aliases_app, name="aliases")
NoMigrate = Annotated[
    bool, typer.Option("--no-migrate", help="Do not create or upgrade the schema on start (also WAYFINDER_AUTO_MIGRATE=false).")
]


@app.callback()
def _each_run() -> None:
    fit_consoles()


@contextmanager
def _progress(enabled: bool) -> Iterator[callable]:  # type: ignore[valid-type]
    """A progress bar per source, only on a terminal."""
    if not enabled:
        yield lambda name: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:

        def for_source(name: str) -> ProgressFn:
            task = bar.add_task(f"sync {name}", total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)

        yield for_source


def _error_count(report: SyncReport) -> int:
    return sum(1 for p in report.problems if p.severity == "error")


def _count(header: str, drop: int = 0) -> Col:
    return Col(header, drop=drop, justify="right")


# Narrow terminals lose these first, in this order: seconds, unchanged, warnings.
REPORT_COLUMNS = (
    Col("source"), Col("status"), _count("added"), _count("updated"), _count("removed"), _count("unchanged", drop=2),
    _count("errors"), _count("warnings", drop=3), _count("seconds", drop=1),
)  # fmt: skip


def _print_reports(reports: list[SyncReport]) -> None:
    rows = []
    for r in reports:
        errors = _error_count(r)
        rows.append([r.source, r.status, *(str(n) for n in (r.added, r.updated, r.removed, r.unchanged, errors, len(r.problems) - errors)), f"{r.seconds:.2f}"])
    out.print(fitted_table(out, REPORT_COLUMNS, rows))
    for r in reports:
        for p in r.problems:
            say(err, f"{r.source}: {p}")
        if r.error:
            say(err, f"{r.source}: {r.status}: {r.error}")


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
    allow_large_delete: Annotated[bool, typer.Option(help="Allow a run to retire most or all of a source's entities.")] = False,
    no_migrate: NoMigrate = False,
) -> None:
    """Run every configured source once (or only --source NAME); exit 1 if any failed or skipped a file or entity with an error."""
    if ctx.invoked_subcommand:
        return
    from bot.compose import open_catalog
    from bot.settings import Settings

    catalog = open_catalog(Settings(), migrate=not no_migrate)
    if not catalog.config.sources:  # an empty config file: say so, rather than an empty table
        say(err, f"No sources are configured in {catalog.config.path or 'the config'}: nothing to sync (README \"Configuration\").")
        return
    with _progress(sys.stderr.isatty()) as progress, batch_priority():
        reports = catalog.sync(source, allow_large_delete=allow_large_delete, progress=progress)
    _print_reports(reports)
    if any(not r.ok or _error_count(r) for r in reports):  # warnings alone keep exit 0
        raise typer.Exit(EXIT_SYNC_FAILED)


@sync_app.command("status")
def sync_status(limit: Annotated[int, typer.Option(help="Also list this many recent runs per source (1: the summary only).")] = 1) -> None:
    """Per source: fresh or STALE, last success and attempt, the last run's counts, time and requests, the last error."""
    from bot.compose import open_catalog
    from bot.settings import Settings

    catalog = open_catalog(Settings())
    now = datetime.now(UTC)
    statuses = catalog.source_statuses(now=now)
    runs = catalog.last_runs(limit) if limit > 1 else []
    if not statuses:
        out.print("No sources are configured and no syncs were recorded.")
        return
    rows = []
    for st in statuses:
        run = st.last_run
        counts = (run.added, run.updated, run.removed, run.unchanged, run.error_count, run.requests) if run else ("-",) * 6
        rows.append([
            st.name, st.type or "-", "STALE" if st.stale else "fresh", _when(st.last_success_at), _when(st.last_attempt_at),
            run.status if run else "-", f"{st.seconds:.2f}" if st.seconds is not None else "-", *(str(n) for n in counts),
        ])  # fmt: skip
    out.print(fitted_table(out, STATUS_COLUMNS, rows))
    for st in statuses:
        if not st.configured:
            say(out, f"{st.name}: not in the config any more; its facts stay until the source is removed")
        if st.stale:
            say(out, f"{st.name}: STALE: {st.stale_reason}")
        if st.last_error:
            when = "" if st.failed_runs_since_success else ", recovered since"
            say(out, f"{st.name}: last error at {_when(st.last_error_at)} UTC{when}: {st.last_error}")
    if runs:
        _print_runs(runs)


# On a narrow terminal the run's details go first; source, freshness, last success, status and errors stay.
STATUS_COLUMNS = (
    Col("source"), Col("type", drop=3), Col("freshness"), Col("last success (UTC)"), Col("last attempt (UTC)", drop=2),
    Col("last run"), _count("seconds", drop=4), _count("added", drop=8), _count("updated", drop=7), _count("removed", drop=6),
    _count("unchanged", drop=5), _count("errors"), _count("requests", drop=1),
)  # fmt: skip
RUN_COLUMNS = (
    Col("source"), Col("started (UTC)"), Col("status"), _count("seconds", drop=3), _count("added", drop=7), _count("updated", drop=6),
    _count("removed", drop=5), _count("unchanged", drop=4), _count("errors"), _count("requests", drop=1), _count("files parsed/skipped", drop=1),
    Col("message", drop=2, max_width=40),
)  # fmt: skip


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "never"


def _print_runs(runs: list[SyncRun]) -> None:
    rows = []
    for r in runs:
        seconds = f"{(r.finished_at - r.started_at).total_seconds():.2f}" if r.finished_at else "-"
        rows.append([
            r.source, _when(r.started_at), r.status, seconds,
            *(str(n) for n in (r.added, r.updated, r.removed, r.unchanged, r.error_count, r.requests)),
            f"{r.files_parsed}/{r.files_skipped}" if r.files_parsed is not None else "-", r.message or "",
        ])  # fmt: skip
    out.print(fitted_table(out, RUN_COLUMNS, rows, title="Recent runs"))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='For example "who owns payments-service?"')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="WAYFINDER_URL",
            show_envvar=False,
            help="Ask the Wayfinder server at this URL instead of the database (also WAYFINDER_URL; token from WAYFINDER_TOKEN).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="With --url: seconds to wait for the server.", min=MIN_TIMEOUT)] = DEFAULT_TIMEOUT,
) -> None:
    """Answer a question exactly as the bot would in Slack; exit 3 when not found, ambiguous or not understood."""
    code = run_ask(AskArgs(question, as_json, url, timeout))  # the plain form never gets here: `main` runs it (bot.cli.asking)
    if code:
        raise typer.Exit(code)


@app.command()
def validate(path: Annotated[Path | None, typer.Argument(help="A config file, or a catalog file or directory.")] = None) -> None:
    """Check the config and catalog files; errors name file and line. Exit 1 on errors."""
    from actions.check import check_actions
    from bot.compose import config_path
    from bot.settings import Settings
    from catalog.sync.validate import validate_path

    path = path or config_path(Settings())
    problems = validate_path(path) + (check_actions(path) if path.is_file() else [])
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        say(err if p.severity == "error" else out, str(p))
    out.print(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from bot.settings import Settings
    from catalog.core import migrate

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
    workers: Annotated[
        int, typer.Option(envvar="WAYFINDER_WORKERS", min=1, help="Worker processes sharing the port, one per CPU core for pages and the API.")
    ] = 1,
    no_migrate: NoMigrate = False,
) -> None:
    """Run the bot: Slack on POST /slack/events (or Socket Mode with --socket) and GET /healthz."""
    # Start-up makes ~140k objects that live as long as the server and next to no garbage; the ~320
    # collections their allocation triggered cost ~0.2 s of CPU before serving. The server freezes
    # what is alive and turns collection back on (`bot.http.app.end_startup`); so does a `serve`
    # that fails to start, for an in-process caller (tests).
    gc.disable()
    try:
        _serve(host, port, socket_mode=socket_mode, scheduler=scheduler, workers=workers, no_migrate=no_migrate)
    finally:
        gc.enable()


def _serve(host: str, port: int, *, socket_mode: bool, scheduler: bool, workers: int, no_migrate: bool) -> None:
    from bot.compose import config_path, open_catalog
    from bot.http.app import bind_port
    from bot.settings import Settings

    settings = Settings()
    credentials = _slack_credentials(settings, socket_mode=socket_mode)
    with bind_port(host, port) as sock:
        if workers == 1:
            _run_server(settings, open_catalog(settings, migrate=not no_migrate), credentials, sock, socket_mode=socket_mode, scheduler=scheduler)
            return
        from bot.http.app import end_startup
        from bot.http.workers import CANNOT_START, supervise
        from bot.logs import configure_logging

        config = config_path(settings)
        catalog = open_catalog(settings, config=config, migrate=not no_migrate)  # migrate once, and fail here on a bad config or schema
        # The claims ledger too: on SQLite a file of its own, and workers creating it at the same moment found it locked.
        catalog.prepare_deliveries()
        catalog.dispose()
        configure_logging(settings.log_format)
        say(out, f"Starting {workers} workers on http://{host}:{port}; the first runs {'Socket Mode and ' if socket_mode else ''}the scheduler.")

        def worker(slot: int) -> None:
            try:
                catalog = open_catalog(settings, config=config)
                _run_server(settings, catalog, credentials, sock, socket_mode=socket_mode, scheduler=scheduler, primary=slot == 0)
            except Exception as exc:
                if report_error(exc):  # a startup error, printed as `serve` prints it; the supervisor stops
                    raise SystemExit(CANNOT_START) from None
                raise

        # What every worker imports to build its services and Slack app is imported once, before the fork.
        importlib.import_module("actions.service")
        if not credentials.missing(socket_mode=socket_mode):
            importlib.import_module("bot.slack.app")
        end_startup()  # before forking: the workers share the start-up heap's pages, which their collections never write to
        supervise(workers, worker)


@app.command()
def demo(
    port: Port = 3000,
    host: Host = "127.0.0.1",
    socket_mode: SocketMode = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after printing the answers.")] = False,
    no_migrate: NoMigrate = False,
) -> None:
    """Sync the bundled example organisation into SQLite, show a few answers, then serve the bot."""
    from bot.compose import open_catalog
    from bot.http.app import bind_port
    from bot.settings import BUNDLED_CONFIG, Settings

    settings = Settings()
    credentials = _slack_credentials(settings, socket_mode=socket_mode)
    # The port is taken first: a busy port fails before the sync, not after it.
    with (nullcontext() if no_serve else bind_port(host, port)) as sock:
        catalog = open_catalog(settings, config=BUNDLED_CONFIG, migrate=not no_migrate)
        with _progress(sys.stderr.isatty()) as progress:
            _print_reports(catalog.sync(progress=progress))
        for question in ("who owns payments-service?", "what does team payments own?", "what depends on ledger-db?"):
            print(f"\n> {question}")
            print(catalog.ask(question, transport="demo", asker=cli_asker()).text)
        out.print('\nAsk your own: wayfinder ask "who owns checkout-api?"')
        if sock is not None:
            _run_server(settings, catalog, credentials, sock, socket_mode=socket_mode, scheduler=False)


def _slack_credentials(settings: Settings, *, socket_mode: bool) -> SlackCredentials:
    """Slack settings for this mode; Socket Mode without its tokens is an error, HTTP just runs without Slack."""
    from bot.http.app import SlackCredentials

    credentials = SlackCredentials(
        bot_token=_secret(settings.slack_bot_token), signing_secret=_secret(settings.slack_signing_secret),
        app_token=_secret(settings.slack_app_token), api_url=settings.slack_api_url,
    )  # fmt: skip
    missing = credentials.missing(socket_mode=socket_mode)
    if socket_mode and missing:
        say(err, f"error: --socket needs {' and '.join(missing)} (see README \"Connect to Slack\").")
        raise typer.Exit(EXIT_ERROR)
    return credentials


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _run_server(
    settings: Settings, catalog: Catalog, credentials: SlackCredentials, sock: socket.socket, *, socket_mode: bool, scheduler: bool,
    primary: bool = True,
) -> None:
    """Serve HTTP in the foreground; Socket Mode and the scheduler in the background, in the `primary` worker only."""
    from bot.compose import build_services
    from bot.http.app import build_slack, create_http_app, freeze_heap, serve_http, start_socket_mode
    from bot.logs import configure_logging

    configure_logging(settings.log_format)
    services = build_services(settings, catalog)
    missing = credentials.missing(socket_mode=socket_mode)
    slack = build_slack(services, credentials, socket_mode=socket_mode)
    if missing:
        hint = f"Slack is disabled: {' and '.join(missing)} not set. Serving the pages, the API, webhooks and /healthz; see README \"Connect to Slack\"."
        say(err, hint)
    with ExitStack() as background:
        if slack is not None and socket_mode and primary:
            background.callback(start_socket_mode(slack, credentials.app_token or "").close)
        if scheduler and primary:  # the scheduler and the action jobs are imported by the one process that runs them
            from actions.jobs import ActionJobs
            from catalog.sync.schedule import start_scheduler

            running = start_scheduler(catalog)
            ActionJobs(services.actions).register(running.apscheduler)  # expiry, reminders, escalation, TTL, runs after a restart
            background.callback(running.stop)
            if slack is not None:  # the weekly adoption digest and the quarterly pulse post to Slack
                from bot.slack.adoption import start_adoption_jobs

                background.callback(start_adoption_jobs(services, slack.client).shutdown)
            scheduled = [f"{s.name} ({s.schedule})" for s in catalog.config.sources if s.schedule]
            say(out, f"Scheduled syncs: {', '.join(scheduled) or 'none (no source has a schedule)'}.")
            if slack is not None and catalog.config.scorecards:
                _schedule_digests(services, credentials, running.apscheduler)
        started = time.perf_counter()
        entities = catalog.build_index()  # before the socket listens: the first questions find it built
        logging.getLogger(__name__).info("resolution index of %d entities built in %.2f s", entities, time.perf_counter() - started)
        if slack is not None:
            catalog.prepare_deliveries()  # and the first Slack ack finds its claim ready
        host, port = sock.getsockname()[:2]
        mode = "Socket Mode" if socket_mode else f"HTTP at http://{host}:{port}/slack/events" if slack else "disabled"
        if primary:
            say(out, f"Wayfinder is serving on http://{host}:{port} (health: /healthz). Slack: {mode}.")
        catalog.pace_index_rebuilds()
        catalog.after_index_rebuild(freeze_heap)  # each new index joins the frozen startup heap (`serve_http`)
        serve_http(create_http_app(services, slack=slack, signing_secret=credentials.signing_secret, missing=missing, socket_mode=socket_mode), sock)


scorecard_commands.register(app)


def _schedule_digests(services: Services, credentials: SlackCredentials, apscheduler: Any) -> None:
    """Weekly digests and degradation alerts on the running scheduler, through their own rate-limit-aware client."""
    from bot.slack.digests import SlackDelivery, digest_client
    from catalog.scorecards.schedule import DigestJobs
    from catalog.scorecards.service import Scorecards

    catalog = services.catalog
    client = digest_client(catalog.metrics, token=credentials.bot_token, base_url=credentials.api_url)
    DigestJobs(Scorecards(catalog), SlackDelivery(client, public_url=services.public_url), clock=services.clock).register(apscheduler)
    digests = catalog.config.digests
    say(out, f"Scorecard digests: {digests.schedule} ({digests.timezone}); degradation alerts batched per {digests.alert_window}.")


def main() -> None:
    """The console script's entry (`bot.cli.entry.main`) for in-process callers (tests, `python -m bot.cli.main`):
    it ends with `SystemExit`, never by ending the process under its caller."""
    from bot.cli.entry import main as entry

    entry(end_process=False)


if __name__ == "__main__":
    main()
