"""`wayfinder actions list | show | audit | approve | reject`: self-service actions from the terminal.

Approve and reject go through the same checks as the Slack buttons, acting as the configured local
user (`WAYFINDER_USER`, a catalog User such as `user:default/jane.doe` or `jane.doe`). With
SLACK_BOT_TOKEN set, the approval card, its thread and the requester's DM are updated as from Slack.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.errors import EXIT_ERROR
from bot.cli.terminal import Col, err, fitted_table, out, say

if TYPE_CHECKING:
    from actions.read import RequestView
    from actions.service import ActionService, Actor

actions_app = typer.Typer(help="Self-service actions: requests, approvals and their audit log.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
COLUMNS = [Col("#", justify="right"), Col("action"), Col("state"), Col("requester", drop=2), Col("target", drop=1), Col("created", drop=3)]
_SINCE = re.compile(r"^(\d+)([mhdw])$")


def _service() -> ActionService:
    from slack_sdk import WebClient

    from bot.compose import build_services, open_catalog
    from bot.settings import Settings
    from bot.slack.actions import SlackActionNotifier

    settings = Settings()
    services = build_services(settings, open_catalog(settings))
    if settings.slack_bot_token:
        client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
        services.actions.notifier = SlackActionNotifier(services, client)
    return services.actions


def _me() -> Actor:
    from actions.service import Actor
    from bot.settings import Settings
    from catalog.store.refs import parse_ref

    user = Settings().user
    if not user:
        say(err, "error: set WAYFINDER_USER to your catalog User (for example user:default/jane.doe) to approve or reject from the terminal.")
        raise typer.Exit(EXIT_ERROR)
    try:
        ref = str(parse_ref(user, default_kind="user"))
    except ValueError as exc:
        say(err, f"error: WAYFINDER_USER: {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    return Actor("cli", user_ref=ref, name=ref.rpartition("/")[2])


def _row(r: RequestView) -> list[str]:
    return [str(r.id), r.action_id, r.state, r.requester_name, r.target_ref or "-", f"{r.created_at:%Y-%m-%d %H:%M}"]


@actions_app.command("list")
def list_requests(
    state: Annotated[list[str] | None, typer.Option("--state", help="Only requests in this state (repeatable).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """Recent requests, newest first."""
    found = _service().list_requests(states=state, limit=limit)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in found]))
    elif not found:
        out.print("No requests.")
    else:
        out.print(fitted_table(out, COLUMNS, [_row(r) for r in found]))


@actions_app.command("show")
def show(request: Annotated[int, typer.Argument(help="The request number.")], as_json: Json = False) -> None:
    """One request: inputs (secrets masked), approvers per stage, decisions, result."""
    view = _service().get(request)
    if as_json:
        print(view.model_dump_json())
        return
    say(out, f"#{view.id} {view.action_title} ({view.action_id}): {view.state}")
    say(out, f"requested by {view.requester_name} at {view.created_at:%Y-%m-%d %H:%M} UTC via {view.surface}" + (f", target {view.target_ref}" if view.target_ref else ""))
    for field in view.fields:
        say(out, f"  {field.label}: {field.text}")
    say(out, f"approval: {view.policy}")
    for n, stage in enumerate(view.stages):
        say(out, f"  stage {n + 1}: {stage.count} of {', '.join(p.name for p in stage.approvers) or 'nobody'}; approved by {', '.join(stage.approved_by) or 'nobody yet'}")
    for d in view.decisions:
        say(out, f"  {d.at:%Y-%m-%d %H:%M} {d.approver_name} {d.decision}d via {d.surface}" + (f": {d.reason}" if d.reason else ""))
    if view.result:
        say(out, f"result: {view.result}")
    if view.ttl_expires_at:
        say(out, f"ends: {view.ttl_expires_at:%Y-%m-%d %H:%M} UTC")


@actions_app.command("audit")
def audit(since: Annotated[str, typer.Option(help="How far back: 30m, 12h, 7d, 4w.")] = "7d") -> None:
    """The audit log as JSON lines: who, when, what, from which surface, inputs with secrets masked."""
    m = _SINCE.match(since.strip())
    if not m:
        say(err, f"error: --since {since!r} is not a duration like 30m, 12h, 7d or 4w")
        raise typer.Exit(EXIT_ERROR)
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
    for entry in _service().audit(since=datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})):
        print(json.dumps(entry, sort_keys=True))


@actions_app.command("approve")
def approve(request: Annotated[int, typer.Argument(help="The request number.")]) -> None:
    """Approve as WAYFINDER_USER, with the same checks as the Slack button."""
    view = _service().approve(request, _me())
    say(out, f"#{view.id} {view.action_title}: {view.state}" + (f" ({view.result})" if view.result else ""))


@actions_app.command("reject")
def reject(
    request: Annotated[int, typer.Argument(help="The request number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; the requester is told.")],
) -> None:
    """Reject as WAYFINDER_USER, with a reason."""
    view = _service().reject(request, _me(), reason)
    say(out, f"#{view.id} {view.action_title}: {view.state}")
