"""`wayfinder report adoption` (terminal, with a sparkline per trend, or `--json`) and `wayfinder aliases`.

With `WAYFINDER_URL` set the report comes from the server's `GET /adoption` (same JSON), like `ask`.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.errors import EXIT_ERROR
from bot.cli.terminal import Col, err, fitted_table, out, say
from bot.compose import open_catalog

if TYPE_CHECKING:  # `wayfinder ask` loads this module too: the report models load when a report is made
    from catalog.adoption.report import AdoptionReport

report_app = typer.Typer(help="Reports: `report adoption`.")
aliases_app = typer.Typer(help="Aliases learned from confirmed answers: `aliases list`, `aliases export`.")

SPARKS = "▁▂▃▄▅▆▇█"
_PERIOD = re.compile(r"^(\d{1,4})([dw])$")


def sparkline(values: list[int]) -> str:
    """`▁▃█▅`: each value scaled to the largest (all-zero series stay flat)."""
    top = max(values, default=0)
    return "".join(SPARKS[round(v / top * (len(SPARKS) - 1))] if top else SPARKS[0] for v in values)


def period_days(since: str) -> int:
    """`30d` or `12w` in days."""
    m = _PERIOD.match(since.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise typer.BadParameter("write the period as days or weeks, e.g. 30d or 12w", param_hint="--since")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


@report_app.command("adoption")
def report_adoption(
    since: Annotated[str, typer.Option(help="The period up to now: 30d, 12w...")] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    url: Annotated[str | None, typer.Option("--url", envvar="WAYFINDER_URL", show_envvar=False, help="Ask this server instead of the database.")] = None,
) -> None:
    """Usage and adoption: active people and their share of engineers, return, answers, self-service, NPS, what to fix."""
    days = period_days(since)
    report = _remote_report(url, days) if url else _local_report(days)
    if as_json:
        print(json.dumps(report.to_json()))
        return
    _print(report)


def _local_report(days: int) -> AdoptionReport:
    from bot.settings import Settings
    from catalog.adoption.service import Adoption

    now = datetime.now(UTC)
    return Adoption(open_catalog(Settings())).report(since=now - timedelta(days=days), until=now)


def _remote_report(url: str, days: int) -> AdoptionReport:
    import httpx

    from catalog.adoption.report import AdoptionReport

    token = os.environ.get("WAYFINDER_TOKEN", "").strip()
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    try:
        response = httpx.get(url.rstrip("/") + "/adoption", params={"days": days}, headers=headers, timeout=30)
        response.raise_for_status()
        return AdoptionReport.model_validate(response.json())
    except (httpx.HTTPError, ValueError) as exc:
        say(err, f"error: the server did not give the adoption report: {type(exc).__name__}")
        raise typer.Exit(EXIT_ERROR) from None


def _print(report: AdoptionReport) -> None:
    from catalog.adoption.report import headlines

    say(out, f"Wayfinder adoption, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d} ({report.days} days)")
    rows = []
    for h in headlines(report):
        mark = "" if h.meets_bar is None else (" ok" if h.meets_bar else " BELOW BAR")
        rows.append([h.label, h.value + mark, sparkline(h.trend)])
    out.print(fitted_table(out, [Col("metric"), Col("value"), Col("trend", drop=1)], rows))
    if report.unanswered:
        fixes = [
            [q.question, str(q.asked), (f"add alias {q.fix.name} -> {q.fix.ref}" if q.fix.action == "add_alias" else f"create {q.fix.name}") if q.fix else ""]
            for q in report.unanswered
        ]
        out.print(fitted_table(out, [Col("unanswered question", max_width=60), Col("asked", justify="right"), Col("fix", drop=1)], fixes))
    if report.gaps:
        gaps = [[g.ref, str(g.asked), ", ".join(f"no {m}" for m in g.missing)] for g in report.gaps]
        out.print(fitted_table(out, [Col("asked about, with gaps"), Col("asked", justify="right"), Col("missing")], gaps))
    if report.satisfaction:
        votes = [[s.intent, str(s.up), str(s.down)] for s in report.satisfaction]
        out.print(fitted_table(out, [Col("intent"), Col("👍", justify="right"), Col("👎", justify="right")], votes))
    for comment in report.pulse.comments:
        say(out, f"  “{comment}”")


@aliases_app.command("list")
def aliases_list(status: Annotated[str | None, typer.Option(help="proposed, approved, rejected, expired or cancelled")] = None) -> None:
    """Learned aliases with their provenance."""
    from bot.settings import Settings
    from catalog.adoption.service import Adoption

    rows = [[a.alias, a.entity_ref, p] for a, p in Adoption(open_catalog(Settings())).aliases(status=status)]
    if not rows:
        say(out, "No learned aliases yet.")
        return
    out.print(fitted_table(out, [Col("alias"), Col("entity"), Col("provenance", drop=1)], rows))


@aliases_app.command("export")
def aliases_export() -> None:
    """Approved aliases as a patch to each entity's descriptor (apply it with `git apply` / `patch -p1`)."""
    from bot.settings import Settings
    from catalog.adoption.service import Adoption

    print(Adoption(open_catalog(Settings())).export_aliases(), end="")
