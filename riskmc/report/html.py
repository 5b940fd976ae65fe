"""Render a run's report: one self-contained HTML file from summary.json and the draws."""

from __future__ import annotations

import html as _html
import re

import jinja2
import markdown
import numpy as np

from ..priors.families import make
from . import figures


def fmt_value(v: float, unit: str) -> str:
    """A number as a reader says it: 52.1%, $184B, $7.12, 0.95."""
    if v is None or not np.isfinite(v):
        return "n/a"
    if unit in ("fraction", "fraction/yr"):
        return f"{100 * v:.1f}%"
    if unit.startswith("$B"):
        return f"${v:,.0f}B" if abs(v) >= 100 else f"${v:,.1f}B"
    if unit == "$":
        return f"${v:,.2f}"
    return f"{v:,.3g}"


def fmt_mcse(v: float, unit: str) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    if unit in ("fraction", "fraction/yr"):
        return f"{100 * v:.2g} pp"
    return f"{v:.2g}"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskmc.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["value"] = fmt_value
    env.filters["mcse"] = fmt_mcse
    env.filters["pct"] = lambda v: f"{100 * v:.1f}%"
    return env


def model_doc(text: str) -> str:
    """A model's documentation (markdown, from summary.json) rendered to HTML."""
    text = re.sub(r"<!--.*?-->\n?", "", text or "", flags=re.S)  # generator markers
    # Raw HTML in the doc is escaped: the report embeds only what markdown makes.
    body = markdown.markdown(_html.escape(text, quote=False), extensions=["tables", "fenced_code"])
    # Nest the doc under the report's "Model" heading (h2): its h1 becomes h3, and so on.
    return re.sub(r"<(/?)h([1-4])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 2}>", body)


def _prior_picture(entry: dict) -> str:
    d = entry["distribution"]
    fam = make(d["family"], d["params"], **{k: tuple(v) for k, v in d.get("extra", {}).items()})
    if d["family"] == "fixed":
        return ""
    stated = [v for v in entry["stated"].values()]
    if fam.discrete:
        xs = np.array(fam.points if d["family"] == "discrete" else (0.0, 1.0))
        return figures.density(xs, fam.pdf(xs), [], discrete=True)
    lo, hi = fam.quantiles([0.001, 0.999])
    xs = np.linspace(lo, hi, 200)
    return figures.density(xs, fam.pdf(xs), stated)


def _prior_rows(entries: dict) -> list[dict]:
    return [{"name": n, "p": p, "svg": _prior_picture(p)} for n, p in entries.items()]


def render_priors(ps) -> str:
    """A page showing what riskmc understood from a priors file, one picture per prior."""
    return _env().get_template("priors.html.j2").render(
        title=ps.title, files=ps.files, scenario=ps.scenario,
        priors=_prior_rows({n: p.as_dict() for n, p in ps.priors.items()}),
        correlations=[{"between": [a, b], "spearman": v} for a, b, v in ps.dependence.pairs])


def stats_at(o: dict, year) -> dict:
    """An output's statistics in a year, or its one set of statistics (a model without years)."""
    return o["stats"] if year is None else o["years"][str(year)]


def render(summary: dict, sensitivity: dict | None = None) -> str:
    """The report as an HTML string, from summary.json (and sensitivity.json if there is one)."""
    years = summary["years"]
    last = years[-1] if years else None
    outs = summary["outputs"]
    headline = []
    for name, o in outs.items():
        if not o["headline"]:
            continue
        s = stats_at(o, last)
        h = o["histogram"]
        marks = {k: s[k]["value"] for k in ("p5", "p50", "p95")}
        label = f"{o['label']}, {h['year']}" if h["year"] is not None else o["label"]
        fig_hist = figures.distribution(h["edges"], h["density"], marks, label,
                                        lambda v, u=o["unit"]: fmt_value(v, u))
        fig_cdf = figures.cdf(h["edges"], h["cdf"], label)
        headline.append({"name": name, "o": o, "s": s, "hist": fig_hist, "cdf": fig_cdf})
    fans = []
    for name, o in outs.items():
        if years is None:
            fans.append({"name": name, "o": o, "svg": None})
            continue
        q = {k: [o["years"][str(y)][k]["value"] for y in years] for k in ("p5", "p25", "p50", "p75", "p95")}
        fans.append({"name": name, "o": o, "svg": figures.fan(years, q, o["unit"], o["label"])})
    drivers = [{"name": n, "label": outs[n]["label"], "rows": rows,
                "svg": figures.rank_bars(rows, outs[n]["label"] + (f", {summary['drivers']['year']}"
                                                                   if summary["drivers"]["year"] else ""))}
               for n, rows in summary["drivers"]["outputs"].items()]
    sens = None
    if sensitivity is not None:
        at = f", {sensitivity['year']}" if sensitivity["year"] is not None else ""
        sens = {"meta": sensitivity, "outputs": [
            {"name": n, "o": o, "svg": figures.tornado(
                o["tornado"]["base"], o["tornado"]["rows"], f"{o['label']}{at}",
                lambda v, u=o["unit"]: fmt_value(v, u))}
            for n, o in sensitivity["outputs"].items()]}
    priors = _prior_rows(summary["inputs"])
    trace = summary.get("convergence_trace")
    traces = [{"o": outs[n], "svg": figures.convergence(
        t, outs[n]["label"] + (f", {trace['year']}" if trace["year"] else ""), outs[n]["unit"])}
              for n, t in (trace or {"outputs": {}})["outputs"].items()]
    return _env().get_template("report.html.j2").render(
        s=summary, last=last, headline=headline, fans=fans, drivers=drivers, priors=priors, sens=sens,
        traces=traces, when=f", {last}" if last is not None else "",
        in_when=f" in {last}" if last is not None else "",
        model_html=model_doc(summary["model"]["doc"]),
    )


def render_compare(res: dict) -> str:
    """compare.html: both runs' distributions overlaid, shifts, claims, the priors diff."""
    overlays = []
    for o in res["outputs"].values():
        ha, hb = o["histograms"]
        if o["headline"] and ha and hb:
            overlays.append({"o": o, "svg": figures.overlay(ha, hb, f"{o['label']}, {ha['year']}",
                                                             res["a"]["title"], res["b"]["title"])})
    return _env().get_template("compare.html.j2").render(r=res, overlays=overlays)
