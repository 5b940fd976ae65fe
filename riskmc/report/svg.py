"""Charts as SVG text: the few kinds the report draws, laid out by arithmetic, not measured.

Text stays text (selectable, printable, styled by the page's CSS), every number is
written with fixed precision so the same data give the same bytes, and a chart scales to
the page's width through its viewBox. Nothing is imported but the standard library and
numpy, so a report costs milliseconds, not the seconds a general plotting library spends
laying out and measuring text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

INK = "#1f4e79"
ACCENT = "#c0504d"
MUTED = "#52606d"
EXPERT_COLOURS = (ACCENT, MUTED)  # pooled experts' dashed lines, in the order they are stated
GRID = "#d9e2ec"
FONT = 11  # px in the viewBox: charts are drawn 640 units wide and scaled to the page
CHAR = 0.56  # a sans-serif character's average width, in font sizes


def _n(v: float) -> str:
    """A coordinate: two decimals, no trailing zeros, never '-0'."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def text_width(text: str, size: float = FONT) -> float:
    return len(str(text)) * size * CHAR


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0) * 1e-6
    raw = (hi - lo) / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(0.0 if abs(v) < step * 1e-9 else round(v, 12))
        v += step
    return ticks


@dataclass
class Axes:
    """A plot area inside a chart of `width` x `height`, with data-to-pixel scales."""

    width: float = 640
    height: float = 260
    left: float = 56
    right: float = 16
    top: float = 26
    bottom: float = 40
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0
    logx: bool = False
    parts: list[str] = field(default_factory=list)

    def px(self, x: float) -> float:
        if self.logx:
            x, a, b = math.log10(x), math.log10(self.x0), math.log10(self.x1)
        else:
            a, b = self.x0, self.x1
        return self.left + (x - a) / ((b - a) or 1.0) * (self.width - self.left - self.right)

    def py(self, y: float) -> float:
        return self.height - self.bottom - (y - self.y0) / ((self.y1 - self.y0) or 1.0) * (
            self.height - self.top - self.bottom)

    # ------------------------------------------------------------------ marks
    def add(self, s: str) -> None:
        self.parts.append(s)

    def path(self, xs, ys, stroke=INK, width=1.6, dash: str | None = None) -> None:
        d = " ".join(f"{'M' if k == 0 else 'L'}{_n(self.px(x))},{_n(self.py(y))}" for k, (x, y) in enumerate(zip(xs, ys)))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{width}"{extra}/>')

    def band(self, xs, lo, hi, fill=INK, opacity=0.2) -> None:
        pts = [(self.px(x), self.py(y)) for x, y in zip(xs, hi)]
        pts += [(self.px(x), self.py(y)) for x, y in zip(reversed(list(xs)), reversed(list(lo)))]
        d = " ".join(f"{'M' if k == 0 else 'L'}{_n(a)},{_n(b)}" for k, (a, b) in enumerate(pts)) + " Z"
        self.add(f'<path d="{d}" fill="{fill}" fill-opacity="{opacity}" stroke="none"/>')

    def stairs(self, edges, heights, fill=INK, opacity=0.75) -> None:
        base = self.py(self.y0)
        d = [f"M{_n(self.px(edges[0]))},{_n(base)}"]
        for k, h in enumerate(heights):
            y = _n(self.py(h))
            d.append(f"L{_n(self.px(edges[k]))},{y} L{_n(self.px(edges[k + 1]))},{y}")
        d.append(f"L{_n(self.px(edges[-1]))},{_n(base)} Z")
        self.add(f'<path d="{" ".join(d)}" fill="{fill}" fill-opacity="{opacity}" stroke="none"/>')

    def rect(self, x: float, y: float, w: float, h: float, fill=INK, opacity=1.0) -> None:
        if w < 0:
            x, w = x + w, -w
        if h < 0:
            y, h = y + h, -h
        op = f' fill-opacity="{opacity}"' if opacity != 1.0 else ""
        self.add(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.5))}" height="{_n(h)}" fill="{fill}"{op}/>')

    def line(self, x1, y1, x2, y2, stroke=MUTED, width=1.0, dash: str | None = None) -> None:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
                 f'stroke-width="{width}"{extra}/>')

    def text(self, x, y, s, anchor="middle", size=FONT, fill="#1f2933", weight: str | None = None,
             halo: bool = False) -> None:
        w = f' font-weight="{weight}"' if weight else ""
        h = ' class="halo"' if halo else ""
        self.add(f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{w}{h}>'
                 f"{esc(s)}</text>")

    # ------------------------------------------------------------------ axes
    def xaxis(self, ticks, fmt: Callable[[float], str], title: str = "") -> None:
        yb = self.height - self.bottom
        self.line(self.left, yb, self.width - self.right, yb, stroke=MUTED)
        for t in ticks:
            x = self.px(t)
            self.line(x, yb, x, yb + 4, stroke=MUTED)
            self.text(x, yb + 16, fmt(t), size=FONT - 1, fill=MUTED)
        if title:
            self.text((self.left + self.width - self.right) / 2, self.height - 6, title, size=FONT)

    def yaxis(self, ticks, fmt: Callable[[float], str], title: str = "", grid: bool = True) -> None:
        for t in ticks:
            y = self.py(t)
            if grid:
                self.line(self.left, y, self.width - self.right, y, stroke=GRID)
            self.text(self.left - 6, y + 4, fmt(t), anchor="end", size=FONT - 1, fill=MUTED)
        if title:
            self.text(self.left, self.top - 10, title, anchor="start", size=FONT - 1, fill=MUTED)

    def svg(self, label: str) -> str:
        body = "\n".join(self.parts)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(self.width)} {_n(self.height)}" '
                f'width="100%" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
                f'role="img" aria-label="{esc(label)}"><title>{esc(label)}</title>\n{body}\n</svg>')


# ---------------------------------------------------------------------------- charts
def distribution(edges: Sequence[float], density: Sequence[float], marks: dict[str, float], label: str,
                 fmt: Callable[[float], str], mark_fmt: Callable[[float], str] | None = None) -> str:
    """A histogram with p5, median and p95 marked and labelled above the plot."""
    edges, density = np.asarray(edges, float), np.asarray(density, float)
    ax = Axes(height=230, top=34, left=20, x0=float(edges[0]), x1=float(edges[-1]),
              y0=0.0, y1=float(density.max() or 1.0) * 1.05)
    ax.stairs(edges, density)
    ax.xaxis(nice_ticks(ax.x0, ax.x1, 6), fmt, label)
    for name, v in marks.items():
        x = ax.px(v)
        ax.line(x, ax.py(0), x, ax.top - 4, stroke=ACCENT, width=1.4 if name == "p50" else 1.0,
                dash=None if name == "p50" else "4 3")
        ax.text(x, ax.top - 8, f"{'median' if name == 'p50' else name} {(mark_fmt or fmt)(v)}", size=FONT - 1,
                fill="#1f2933",
                weight="600" if name == "p50" else None, halo=True)
    return ax.svg(f"Distribution of {label}")


def cdf(edges: Sequence[float], values: Sequence[float], label: str, fmt: Callable[[float], str]) -> str:
    """The cumulative distribution, to read the chance of any threshold off the curve."""
    ax = Axes(height=220, x0=float(edges[0]), x1=float(edges[-1]), y0=0.0, y1=1.0)
    ax.yaxis([0, 0.25, 0.5, 0.75, 1.0], lambda v: f"{100 * v:.0f}%", "chance of a value at or below x")
    ax.path(edges, values)
    ax.xaxis(nice_ticks(ax.x0, ax.x1, 6), fmt, label)
    return ax.svg(f"Cumulative distribution of {label}")


def _title_lines(text: str, fits: float) -> list[str]:
    """The title on one line, or on two split at the space nearest its middle when it is
    longer than `fits` characters."""
    if len(text) <= fits or " " not in text:
        return [text]
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut], text[cut + 1:]]


def fan(years: Sequence[int], q: dict[str, Sequence[float]], label: str, fmt: Callable[[float], str]) -> str:
    """Median with its 50% and 90% bands over the years."""
    lo, hi = min(q["p5"]), max(q["p95"])
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    ticks = nice_ticks(lo - pad, hi + pad, 4)
    # A long title takes two lines rather than run past the picture's edge.
    lines = _title_lines(label, (320 - 52 - 10) / (FONT * CHAR))
    ax = Axes(width=320, height=210 + 14 * (len(lines) - 1), left=52, right=10, top=30 + 14 * (len(lines) - 1),
              bottom=26, x0=years[0] - 0.3, x1=years[-1] + 0.3, y0=min(ticks[0], lo - pad),
              y1=max(ticks[-1], hi + pad))
    for k, line in enumerate(lines):
        ax.text(ax.left, 14 + 14 * k, line, anchor="start", size=FONT, weight="600")
    ax.yaxis(ticks, fmt)
    ax.band(years, q["p5"], q["p95"], opacity=0.18)
    ax.band(years, q["p25"], q["p75"], opacity=0.35)
    ax.path(years, q["p50"], width=2)
    yb = ax.height - ax.bottom
    ax.line(ax.left, yb, ax.width - ax.right, yb, stroke=MUTED)
    for y in years:
        ax.text(ax.px(y), yb + 15, str(y), size=FONT - 2, fill=MUTED)
    return ax.svg(f"Fan chart of {label}, {years[0]} to {years[-1]}")


def density(xs: np.ndarray, ys: np.ndarray, stated: Sequence[float], discrete: bool, fmt: Callable[[float], str],
            label: str, parts: Sequence[np.ndarray] = (), equal: np.ndarray | None = None) -> str:
    """A small picture of a prior's density, the quantiles the expert stated marked; with
    `parts`, each pooled expert's share of it as a dashed line; with `equal`, the pool of
    the same experts at equal weights as a thin dark line."""
    ax = Axes(width=240, height=84, left=8, right=8, top=6, bottom=22, x0=float(xs[0]), x1=float(xs[-1]),
              y0=0.0, y1=float(max(np.max(ys), np.max(equal) if equal is not None else 0.0) or 1.0) * 1.05)
    if discrete:
        span = (ax.x1 - ax.x0) or 1.0
        ax.x0, ax.x1 = ax.x0 - 0.2 * span - 0.5, ax.x1 + 0.2 * span + 0.5
        for x, y in zip(xs, ys):
            ax.rect(ax.px(x) - 6, ax.py(y), 12, ax.py(0) - ax.py(y), opacity=0.75)
    else:
        ax.band(xs, np.zeros_like(ys), ys, opacity=0.55)
        for k, part in enumerate(parts):
            ax.path(xs, part, stroke=EXPERT_COLOURS[k % len(EXPERT_COLOURS)], width=1.2, dash="4 2")
        if equal is not None:
            ax.path(xs, equal, stroke="#1f2933", width=1.0)
    for v in stated:
        ax.line(ax.px(v), ax.py(0), ax.px(v), ax.top, stroke=ACCENT, width=1.2)
    ticks = list(xs) if discrete else nice_ticks(ax.x0, ax.x1, 3)
    ax.xaxis([t for t in ticks if ax.x0 <= t <= ax.x1], fmt)
    return ax.svg(f"Density of the prior {label}")


def hbars(rows: Sequence[tuple[str, float, float | None]], title: str, fmt: Callable[[float], str],
          lo: float | None = None, hi: float | None = None, axis_title: str = "") -> str:
    """Horizontal bars from zero (positive in ink, negative in accent), with +-error whiskers."""
    values = [v for _, v, _ in rows]
    errs = [e or 0.0 for _, _, e in rows]
    lo = min([0.0, *[v - e for v, e in zip(values, errs)]]) if lo is None else lo
    hi = max([0.0, *[v + e for v, e in zip(values, errs)]]) if hi is None else hi
    left = min(max(text_width(name) for name, _, _ in rows) + 14, 300) if rows else 60
    bar = 20
    ax = Axes(height=30 + bar * len(rows) + 42, left=left, top=30, bottom=42, x0=lo, x1=hi, y0=0, y1=len(rows))
    ax.text(ax.left, 16, title, anchor="start", size=FONT, weight="600")
    ticks = nice_ticks(lo, hi, 5)
    for t in ticks:
        ax.line(ax.px(t), ax.top, ax.px(t), ax.height - ax.bottom, stroke=GRID)
    for k, (name, v, e) in enumerate(rows):
        y = ax.top + k * bar
        ax.rect(ax.px(0), y + 4, ax.px(v) - ax.px(0), bar - 8, fill=INK if v >= 0 else ACCENT, opacity=0.85)
        if e:
            ax.line(ax.px(v - e), y + bar / 2, ax.px(v + e), y + bar / 2, stroke="#1f2933", width=1)
        ax.text(ax.left - 8, y + bar / 2 + 4, name, anchor="end", size=FONT - 1)
    ax.line(ax.px(0), ax.top, ax.px(0), ax.height - ax.bottom, stroke="#1f2933", width=1)
    ax.xaxis([t for t in ticks if lo <= t <= hi], fmt, axis_title)
    return ax.svg(f"Bar chart: {title}")


def tornado(base: float, rows: Sequence[dict], title: str, fmt: Callable[[float], str], labels: dict) -> str:
    """The output as each prior alone moves from its p05 to its p95, the others at medians."""
    lows = [r["at_low"] for r in rows]
    highs = [r["at_high"] for r in rows]
    lo, hi = min([base, *lows, *highs]), max([base, *lows, *highs])
    pad = (hi - lo) * 0.04 or 1.0
    left = min(max((text_width(labels.get(r["input"], r["input"])) for r in rows), default=60) + 14, 300)
    bar = 22
    ax = Axes(height=56 + bar * len(rows) + 42, left=left, top=56, bottom=42, x0=lo - pad, x1=hi + pad, y0=0,
              y1=len(rows))
    ax.text(ax.left, 16, title, anchor="start", size=FONT, weight="600")
    # The legend sits above the bars, never on them.
    ax.rect(ax.left, 28, 10, 10, fill=INK)
    ax.text(ax.left + 14, 37, "prior at its p95", anchor="start", size=FONT - 1)
    ax.rect(ax.left + 130, 28, 10, 10, fill=ACCENT)
    ax.text(ax.left + 144, 37, "prior at its p05", anchor="start", size=FONT - 1)
    for k, r in enumerate(rows):
        y = ax.top + k * bar
        ax.rect(ax.px(base), y + 4, ax.px(r["at_high"]) - ax.px(base), bar - 8, fill=INK, opacity=0.85)
        ax.rect(ax.px(base), y + 4, ax.px(r["at_low"]) - ax.px(base), bar - 8, fill=ACCENT, opacity=0.85)
        ax.text(ax.left - 8, y + bar / 2 + 4, labels.get(r["input"], r["input"]), anchor="end", size=FONT - 1)
    ax.line(ax.px(base), ax.top - 4, ax.px(base), ax.height - ax.bottom, stroke="#1f2933", width=1)
    ax.xaxis(nice_ticks(ax.x0, ax.x1, 5), fmt, f"with every prior at its median: {fmt(base)}")
    return ax.svg(f"Tornado chart of {title}")


def overlay(hists: Sequence[dict], names: Sequence[str], label: str, fmt: Callable[[float], str]) -> str:
    """Several runs' distributions of one output, overlaid, with a legend above the plot."""
    colors = [INK, ACCENT, "#2f855a", "#b7791f", "#6b46c1", "#2c7a7b"]
    lo = min(h["edges"][0] for h in hists)
    hi = max(h["edges"][-1] for h in hists)
    top = max(max(h["density"]) for h in hists) or 1.0
    rows = (len(names) + 1) // 2
    ax = Axes(height=240 + 16 * rows, top=24 + 16 * rows, left=20, x0=lo, x1=hi, y0=0.0, y1=top * 1.05)
    for k, (h, name) in enumerate(zip(hists, names)):
        c = colors[k % len(colors)]
        ax.stairs(h["edges"], h["density"], fill=c, opacity=0.35)
        ax.path([e for e in h["edges"] for _ in (0, 1)][1:-1], [d for d in h["density"] for _ in (0, 1)],
                stroke=c, width=1.2)
        x = ax.left + (k % 2) * (ax.width - ax.left - ax.right) / 2
        y = 14 + 16 * (k // 2)
        ax.rect(x, y - 9, 10, 10, fill=c)
        ax.text(x + 14, y, name, anchor="start", size=FONT - 1)
    ax.xaxis(nice_ticks(lo, hi, 6), fmt, label)
    return ax.svg(f"Distributions of {label}, run by run")


def convergence(trace: Sequence[dict], label: str, fmt: Callable[[float], str]) -> str:
    """Running p5, median and p95 as draws accumulate, each in a panel of its own scale with
    its band of +-2 MCSE (on one scale the bands would be too thin to see)."""
    n = [t["draws"] for t in trace]
    x0, x1 = n[0], n[-1] if n[-1] > n[0] else n[0] * 2
    width, gap = 640, 12
    panel = (width - 2 * gap) / 3
    parts = [f'<text x="0" y="16" text-anchor="start" font-size="{FONT}" fill="#1f2933" font-weight="600">'
             f"{esc(label)}</text>"]
    for k, (key, color) in enumerate((("p5", ACCENT), ("p50", INK), ("p95", ACCENT))):
        v = np.array([t[key]["value"] for t in trace])
        e = np.array([t[key]["mcse"] or 0.0 for t in trace])
        lo, hi = float(np.min(v - 2 * e)), float(np.max(v + 2 * e))
        pad = (hi - lo) * 0.1 or abs(hi) * 1e-3 or 1e-6
        ticks = nice_ticks(lo - pad, hi + pad, 4)
        ax = Axes(width=panel, height=230, left=58, right=8, top=44, bottom=40, x0=x0 / 1.2, x1=x1 * 1.2,
                  y0=min(ticks[0], lo - pad), y1=max(ticks[-1], hi + pad), logx=True)
        ax.text(ax.left, 36, "median" if key == "p50" else key, anchor="start", size=FONT, fill=color, weight="600")
        ax.yaxis([t for t in ticks if ax.y0 <= t <= ax.y1], fmt)
        ax.band(n, v - 2 * e, v + 2 * e, fill=color, opacity=0.25)
        ax.path(n, v, stroke=color, width=1.6)
        for x, y in zip(n, v):
            ax.add(f'<circle cx="{_n(ax.px(x))}" cy="{_n(ax.py(y))}" r="2.2" fill="{color}"/>')
        yb = ax.height - ax.bottom
        ax.line(ax.left, yb, ax.width - ax.right, yb, stroke=MUTED)
        for m in (n[0], n[-1]) if n[-1] > n[0] else (n[0],):
            ax.text(ax.px(m), yb + 15, count(m), size=FONT - 2, fill=MUTED)
        parts.append(f'<g transform="translate({_n(k * (panel + gap))},0)">' + "\n".join(ax.parts) + "</g>")
    parts.append(f'<text x="{_n(width / 2)}" y="224" text-anchor="middle" font-size="{FONT - 1}" fill="{MUTED}">'
                 "draws so far (log scale); bands: +-2 MCSE</text>")
    title = f"Running quantiles of {label}"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 232" width="100%" '
            f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" role="img" '
            f'aria-label="{esc(title)}"><title>{esc(title)}</title>\n' + "\n".join(parts) + "\n</svg>")


def count(v: float) -> str:
    """1000 -> 1k, 2000000 -> 2M."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:g}"


def meter(p: float, label: str) -> str:
    """A surprise meter: where an observation fell in the prior predictive, 0 to 100%, the
    outer 2.5% at each end shaded (an observation there surprised the prior)."""
    w, h, pad = 180, 26, 6
    x = pad + (w - 2 * pad) * min(max(p, 0.0), 1.0)
    tail = (w - 2 * pad) * 0.025
    parts = [f'<rect x="{pad}" y="8" width="{w - 2 * pad}" height="8" fill="{GRID}"/>',
             f'<rect x="{pad}" y="8" width="{_n(tail)}" height="8" fill="{ACCENT}" fill-opacity="0.45"/>',
             f'<rect x="{_n(w - pad - tail)}" y="8" width="{_n(tail)}" height="8" fill="{ACCENT}" fill-opacity="0.45"/>',
             f'<line x1="{_n(x)}" y1="3" x2="{_n(x)}" y2="21" stroke="#1f2933" stroke-width="2"/>',
             f'<text x="{pad}" y="{h}" font-size="8" fill="{MUTED}">0%</text>',
             f'<text x="{w - pad}" y="{h}" font-size="8" fill="{MUTED}" text-anchor="end">100%</text>']
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h + 2}" width="{w}" height="{h + 2}" '
            f'role="img" aria-label="{esc(label)}">' + "".join(parts) + "</svg>")
