"""`wayfinder scorecards`, `wayfinder check` (the deployment gate) and `wayfinder digest`: thin adapters over the facade."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from bot.cli.errors import EXIT_BELOW_LEVEL, EXIT_ERROR, EXIT_NOT_ANSWERED
from bot.cli.terminal import Col, err, fitted_table, out, say
from bot.compose import open_catalog


def register(app: typer.Typer) -> None:
    app.command("scorecards")(scorecards)
    app.command("check")(check)
    app.command("digest")(digest)


def scorecards(
    team: Annotated[str | None, typer.Option("--team", "-t", help="Only this team's entities.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    evaluate: Annotated[bool, typer.Option("--evaluate", help="Evaluate every scorecard now first (a sync does it too).")] = False,
) -> None:
    """Today's scorecard levels, with the change since last week and the fixes to the next level."""
    from bot.settings import Settings

    catalog = open_catalog(Settings())
    if evaluate:
        report = catalog.evaluate_scorecards(now=datetime.now(UTC))
        say(err, f"evaluated {report.results} results of {report.entities} entities: {report.changed} changed, {report.alerts} new degradation alerts")
    board = catalog.scoreboard(team=team, now=datetime.now(UTC))
    if board is None:
        say(err, f"error: no team called {team!r} in the catalog")
        raise typer.Exit(EXIT_NOT_ANSWERED)
    if as_json:
        print(board.model_dump_json())
        return
    rows = [[s.scorecard, s.name, s.level or "-", f"{s.change:+d}" if s.change else "", "; ".join(r.fix for r in s.next_fixes)] for s in board.scores]
    columns = (Col("scorecard"), Col("entity"), Col("level"), Col("week", drop=2), Col("to reach the next level", drop=1, max_width=80))
    out.print(fitted_table(out, columns, rows, title=f"Scorecards of {board.scope} on {board.day}"))


def check(
    entity: Annotated[str, typer.Argument(help="The entity's name or ref, e.g. payments-service or component:default/payments-service.")],
    scorecard: Annotated[str, typer.Option("--scorecard", "-s", help="The scorecard's id.")],
    min_level: Annotated[str, typer.Option("--min-level", "-l", help="The lowest level that passes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    url: Annotated[str | None, typer.Option("--url", envvar="WAYFINDER_URL", show_envvar=False, help="Ask the Wayfinder server at this URL (also WAYFINDER_URL).")] = None,
    timeout: Annotated[float, typer.Option(help="With --url: seconds to wait for the server.", min=0.001)] = 10.0,
) -> None:
    """The deployment gate for CI: exit 0 at or above the level, 1 below it (listing the rules to fix), 3 when the entity is unknown."""
    result = _check_remote(url, entity, scorecard, min_level, timeout) if url else _check_local(entity, scorecard, min_level)
    if as_json:
        print(json.dumps(result))
    else:
        print(result["message"])
        for rule in result.get("failing", []):
            print(f"  {rule['level']}: {rule['id']}: {rule['fix']}" + (f" ({rule['fix_url']})" if rule.get("fix_url") else ""))
    if result["status"] == "failed":
        raise typer.Exit(EXIT_BELOW_LEVEL)
    if result["status"] == "not_found":
        raise typer.Exit(EXIT_NOT_ANSWERED)


def _check_local(entity: str, scorecard: str, min_level: str) -> dict[str, Any]:
    from bot.settings import Settings

    return open_catalog(Settings()).gate(entity, scorecard=scorecard, min_level=min_level, now=datetime.now(UTC)).model_dump(mode="json")


def _check_remote(url: str, entity: str, scorecard: str, min_level: str, timeout: float) -> dict[str, Any]:
    from bot.cli.remote import RemoteError, get_json

    try:
        return get_json(url, "/api/v1/scorecards/check", {"entity": entity, "scorecard": scorecard, "min_level": min_level}, timeout=timeout, expect=("status", "message"))
    except RemoteError as exc:
        say(err, f"error: {exc}")
        raise typer.Exit(EXIT_ERROR) from None


def digest(
    team: Annotated[str | None, typer.Option("--team", "-t", help="The team whose digest to build.")] = None,
    leadership: Annotated[bool, typer.Option("--leadership", help="The leadership digest instead of a team's.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the message as Block Kit JSON instead of sending it.")] = False,
) -> None:
    """Print this week's digest of --team (or --leadership) as Block Kit JSON; `wayfinder serve` sends them on the schedule."""
    from bot.settings import Settings
    from bot.slack.views.digest import render_leadership_digest, render_team_digest
    from catalog.scorecards.service import Scorecards

    if not dry_run or bool(team) == leadership:
        say(err, "error: give --team T or --leadership, with --dry-run (digests are sent by `wayfinder serve` on the `digests.schedule`)")
        raise typer.Exit(EXIT_ERROR)
    settings = Settings()
    service = Scorecards(open_catalog(settings))
    now = datetime.now(UTC)
    if leadership:
        text, blocks = render_leadership_digest(service.leadership_digest(now=now))
        channel = service.config.digests.leadership_channel
    else:
        found = service.team_digest(team or "", now=now)
        if found is None:
            say(err, f"error: no team called {team!r} owns anything a scorecard applies to")
            raise typer.Exit(EXIT_NOT_ANSWERED)
        text, blocks = render_team_digest(found, public_url=settings.public_url)
        channel = found.channel
    print(json.dumps({"channel": channel, "text": text, "blocks": blocks}, indent=2))
