"""The digest's trend chart: a small PNG of the team's average level per scorecard over the last weeks.

Rendered with matplotlib's Agg backend (no display, safe in server threads when each call uses its
own `Figure`, never pyplot's global state). Drawn only when a line moved: a flat chart says nothing
the text does not. matplotlib is imported on the first chart, not with this module: it costs about
half a second of CPU that a process which never sends a digest (a CLI run, each test process) need not pay.
A chart is a pure function of the team's name and its moved lines, so the last few are kept: a digest
retried after a 429 or the lease of a dead replica draws the same chart again (about 80 ms of CPU each).
"""

from __future__ import annotations

import functools
import io
from typing import NamedTuple

from catalog.scorecards.digest import TeamDigest, TrendLine


def trend_png(digest: TeamDigest) -> bytes | None:
    """The chart as PNG bytes, or None when no scorecard's average level moved over the weeks shown."""
    lines = tuple(_Line.of(t) for t in digest.trends if t.moved)
    return _render(digest.team_name, lines) if lines else None


class _Line(NamedTuple):
    """A moved `TrendLine`, hashable: the key of a kept chart."""

    scorecard_title: str
    levels: tuple[str, ...]
    days: tuple[str, ...]  # as the x axis labels them
    average: tuple[float | None, ...]

    @classmethod
    def of(cls, line: TrendLine) -> _Line:
        return cls(line.scorecard_title, tuple(line.levels), tuple(d.strftime("%d %b") for d in line.days), tuple(line.average))


@functools.lru_cache(maxsize=16)
def _render(team_name: str, lines: tuple[_Line, ...]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for line in lines:
        points = [(d, a) for d, a in zip(line.days, line.average, strict=True) if a is not None]
        axes.plot([d for d, _ in points], [a for _, a in points], marker="o", label=line.scorecard_title)
    top = max(len(line.levels) for line in lines)
    labels = ["none", *lines[0].levels] if all(line.levels == lines[0].levels for line in lines) else [str(i) for i in range(top + 1)]
    axes.set_yticks(range(top + 1), labels)
    axes.set_ylim(-0.2, top + 0.2)
    axes.set_title(f"{team_name}: average level per week", fontsize=10)
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
