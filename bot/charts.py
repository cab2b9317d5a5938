"""The adoption trend as a PNG (matplotlib, Agg backend: no display), for the page and the Slack digest."""

from __future__ import annotations

import io

from catalog.adoption.report import AdoptionReport


def trend_png(report: AdoptionReport) -> bytes:
    """Daily active people (as a share of engineers when known) against the daily-active bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # a Figure, not pyplot: no global state shared between threads

    figure = Figure(figsize=(7, 2.6), dpi=100)
    axes = figure.subplots()
    days = list(range(1, len(report.daily_active) + 1))
    if report.engineers:
        axes.plot(days, [100 * n / report.engineers for n in report.daily_active], color="#1d3557", label="daily active, % of engineers")
        axes.axhline(100 * report.daily_active_bar, color="#e63946", linestyle="--", label=f"bar: {report.daily_active_bar:.0%}")
        axes.set_ylim(0, 100)
        axes.set_ylabel("%")
    else:
        axes.plot(days, report.daily_active, color="#1d3557", label="daily active people")
    axes.set_xlabel(f"day ({report.since:%Y-%m-%d} – {report.until:%Y-%m-%d})")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
