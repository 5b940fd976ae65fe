"""The track record's pictures: each claim's probability over time, and the calibration
diagram (the ledger's page), drawn with the report's own axes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from .svg import ACCENT, FONT, INK, MUTED, Axes


def history(points: Sequence[tuple], outcome: bool | None, title: str) -> str:
    """A claim's probability over time: (date, p, mcse, role) oldest first, at its date on
    the x axis, one point a day (the day's last forecast), +-2 MCSE whiskers; scenarios
    (context, never scored) as grey marks off the line; the outcome, once known, as a line
    at 0% or 100%."""
    forecasts, context = {}, []
    for d, p, e, *role in points:
        day = dt.date.fromisoformat(d).toordinal()
        if (role or ["forecast"])[0] == "forecast":
            forecasts[day] = (d, p, e)   # a later run of the same day replaces an earlier one
        else:
            context.append((day, p))
    days = sorted(set(forecasts) | {x for x, _ in context}) or [0]
    pad = max(1.0, 0.04 * (days[-1] - days[0]))
    ax = Axes(height=170, top=30, bottom=34, x0=days[0] - pad, x1=days[-1] + pad, y0=0.0, y1=1.0)
    ax.text(ax.left, 16, title, anchor="start", size=FONT, weight="600")
    ax.yaxis([0, 0.25, 0.5, 0.75, 1.0], lambda v: f"{100 * v:.0f}%")
    if outcome is not None:
        y = ax.py(1.0 if outcome else 0.0)
        ax.line(ax.left, y, ax.width - ax.right, y, stroke=ACCENT, width=1.5, dash="5 3")
        ax.text(ax.width - ax.right, y + (12 if outcome else -6), "came true" if outcome else "did not happen",
                anchor="end", size=FONT - 1, fill=ACCENT)
    line = sorted(forecasts)
    ax.path(line, [forecasts[x][1] for x in line])
    for x in line:
        _, p, e = forecasts[x]
        ax.line(ax.px(x), ax.py(max(p - 2 * e, 0)), ax.px(x), ax.py(min(p + 2 * e, 1)), stroke=INK, width=1.2)
        ax.rect(ax.px(x) - 3, ax.py(p) - 3, 6, 6)
    for x, p in context:
        ax.rect(ax.px(x) - 2.5, ax.py(p) - 2.5, 5, 5, fill=MUTED)
    step = max(1, math.ceil(len(days) / 6))
    ax.xaxis(days[::step], lambda x: dt.date.fromordinal(int(x)).isoformat())
    return ax.svg(f"{title}: probability at each recorded forecast, by date")


def calibration(bins: Sequence[tuple[float, float, int, tuple[float, float]]]) -> str:
    """Reliability diagram: per bin, the mean forecast against the share that came true,
    with its interval; the diagonal is perfect calibration."""
    ax = Axes(width=420, height=380, top=30, bottom=46, x0=0.0, x1=1.0, y0=0.0, y1=1.0)
    ax.text(ax.left, 16, "Calibration: forecast vs what happened", anchor="start", size=FONT, weight="600")
    ticks = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ax.yaxis(ticks, lambda v: f"{100 * v:.0f}%")
    ax.line(ax.px(0), ax.py(0), ax.px(1), ax.py(1), stroke=MUTED, dash="4 3")
    for f, o, n, (lo, hi) in bins:
        ax.line(ax.px(f), ax.py(lo), ax.px(f), ax.py(hi), stroke=INK, width=1.4)
        ax.rect(ax.px(f) - 4, ax.py(o) - 4, 8, 8)
        ax.text(ax.px(f) + 8, ax.py(o) + 4, f"n={n}", anchor="start", size=FONT - 2, fill=MUTED)
    ax.xaxis(ticks, lambda v: f"{100 * v:.0f}%", "forecast probability (whiskers: 90% interval of the true rate)")
    return ax.svg("Calibration diagram")
