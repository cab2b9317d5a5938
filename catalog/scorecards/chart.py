"""The digest's trend chart: a small PNG of the team's average level per scorecard over the last weeks.

Rendered with matplotlib's Agg backend (no display, safe in server threads when each call uses its
own `Figure`, never pyplot's global state). Drawn only when a line moved: a flat chart says nothing
the text does not. matplotlib is imported on the first chart, not with this module: it costs about
half a second of CPU that a process which never sends a digest (a CLI run, each test process) need not pay.
"""

from __future__ import annotations

import io

from catalog.scorecards.digest import TeamDigest


def trend_png(digest: TeamDigest) -> bytes | None:
    """The chart as PNG bytes, or None when no scorecard's average level moved over the weeks shown."""
    lines = [t for t in digest.trends if t.moved]
    if not lines:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for line in lines:
        points = [(d, a) for d, a in zip(line.days, line.average, strict=True) if a is not None]
        axes.plot([d.strftime("%d %b") for d, _ in points], [a for _, a in points], marker="o", label=line.scorecard_title)
    top = max(len(line.levels) for line in lines)
    labels = ["none", *lines[0].levels] if all(line.levels == lines[0].levels for line in lines) else [str(i) for i in range(top + 1)]
    axes.set_yticks(range(top + 1), labels)
    axes.set_ylim(-0.2, top + 0.2)
    axes.set_title(f"{digest.team_name}: average level per week", fontsize=10)
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
