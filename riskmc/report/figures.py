"""Figures as inline SVG, byte-stable for the same data (fixed hash salt, no dates)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLE = {
    "svg.hashsalt": "riskmc",
    "svg.fonttype": "none",  # text stays text: smaller, selectable, printable
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
INK = "#1f4e79"
ACCENT = "#c0504d"


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE for inline use


def distribution(edges, density, marks: dict[str, float], xlabel: str, fmt) -> str:
    """A run's histogram (from its reductions) with p5/p50/p95 marked."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 2.6))
        ax.stairs(density, edges, fill=True, color=INK, alpha=0.75)
        for label, v in marks.items():
            ax.axvline(v, color=ACCENT, lw=1, ls="--" if label != "p50" else "-")
            ax.annotate(f"{label} {fmt(v)}", (v, ax.get_ylim()[1]), rotation=90, va="top",
                        ha="right", fontsize=7, color=ACCENT)
        ax.set_xlabel(xlabel)
        ax.set_yticks([])
        return _svg(fig)


def cdf(edges, values, xlabel: str) -> str:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 2.4))
        ax.plot(edges, values, color=INK)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("P(X <= x)")
        return _svg(fig)


def fan(years, q: dict[str, list[float]], ylabel: str, title: str) -> str:
    """Fan chart: p5-p95 and p25-p75 bands and the median line."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(3.6, 2.3))
        ax.fill_between(years, q["p5"], q["p95"], color=INK, alpha=0.18, lw=0, label="p5-p95")
        ax.fill_between(years, q["p25"], q["p75"], color=INK, alpha=0.35, lw=0, label="p25-p75")
        ax.plot(years, q["p50"], color=INK, lw=1.6, label="median")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(ylabel)
        ax.set_xticks(years)
        ax.legend(fontsize=6, frameon=False, loc="best")
        return _svg(fig)


def density(xs: np.ndarray, ys: np.ndarray, stated: list[float], discrete: bool = False) -> str:
    """A small picture of a prior's density, the stated quantiles marked."""
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, ax = plt.subplots(figsize=(1.9, 0.8))
        if discrete:
            ax.bar(xs, ys, width=0.3, color=INK)
        else:
            ax.fill_between(xs, ys, color=INK, alpha=0.6, lw=0)
        for v in stated:
            ax.axvline(v, color=ACCENT, lw=0.8)
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
        ax.spines["left"].set_visible(False)
        return _svg(fig)


def rank_bars(rows: list[dict], title: str) -> str:
    """Horizontal bars of each prior's rank correlation with the output."""
    rows = rows[:10][::-1]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 0.25 * len(rows) + 0.8))
        vals = [r["spearman"] for r in rows]
        ax.barh([r["input"] for r in rows], vals, color=[INK if v >= 0 else ACCENT for v in vals],
                xerr=[2 * r["mcse"] for r in rows], error_kw={"lw": 0.8})
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("Spearman rank correlation with the output (bars: 2 MCSE)")
        ax.set_title(title, fontsize=9)
        return _svg(fig)


def tornado(base: float, rows: list[dict], title: str, fmt) -> str:
    """The output as each prior alone moves from its p05 to its p95, others at medians."""
    rows = rows[:12][::-1]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 0.28 * len(rows) + 0.9))
        for k, r in enumerate(rows):
            lo, hi = r["at_low"], r["at_high"]
            ax.barh(k, hi - base, left=base, color=INK, height=0.6)
            ax.barh(k, lo - base, left=base, color=ACCENT, height=0.6)
        ax.set_yticks(range(len(rows)), [r["input"] for r in rows])
        ax.axvline(base, color="black", lw=0.8)
        ax.set_xlabel(f"output (base {fmt(base)}): blue at the prior's p95, red at its p05")
        ax.set_title(title, fontsize=9)
        return _svg(fig)


def overlay(ha: dict, hb: dict, xlabel: str, label_a: str, label_b: str) -> str:
    """Two runs' distributions of one output, overlaid."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 2.6))
        ax.stairs(ha["density"], ha["edges"], fill=True, color=INK, alpha=0.45, label=f"A: {label_a}")
        ax.stairs(hb["density"], hb["edges"], fill=True, color=ACCENT, alpha=0.45, label=f"B: {label_b}")
        ax.set_xlabel(xlabel)
        ax.set_yticks([])
        ax.legend(fontsize=7, frameon=False)
        return _svg(fig)


def convergence(trace: list[dict], title: str, ylabel: str) -> str:
    """Running p5, median and p95 as draws accumulate, each with a 2-MCSE band."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 2.4))
        n = [t["draws"] for t in trace]
        for key, color in (("p5", ACCENT), ("p50", INK), ("p95", ACCENT)):
            v = np.array([t[key]["value"] for t in trace])
            e = np.array([t[key]["mcse"] or 0.0 for t in trace])
            ax.plot(n, v, marker="o", ms=3, color=color, label=key)
            ax.fill_between(n, v - 2 * e, v + 2 * e, color=color, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("draws so far")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, frameon=False, ncol=3)
        return _svg(fig)
