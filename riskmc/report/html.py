"""Render a run's report: one self-contained HTML file from summary.json (and sensitivity.json).

It reads only the run's files, never the priors or the model again, so `riskmc report`
re-renders a run anywhere; and it imports nothing heavier than jinja2 and markdown.
"""

from __future__ import annotations

import jinja2
from markupsafe import Markup

from . import fmt, pictures, sections, svg, track


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskmc.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        bytecode_cache=_template_cache(),
    )
    env.filters["value"] = fmt.value
    env.filters["mcse"] = fmt.mcse
    env.filters["gain"] = fmt.gain
    env.filters["shift"] = fmt.shift
    env.filters["label"] = fmt.label
    env.filters["fit_error"] = fmt.fit_error
    env.filters["prob"] = lambda p: fmt.prob(p["value"], p["mcse"])
    env.filters["prob_value"] = lambda p: fmt.prob_value(p["value"], p["mcse"])
    env.filters["num"] = lambda v, unit="": fmt.exact(v, unit)
    # A pooled expert's dashed line, as the prior's picture draws it: the table's legend.
    env.filters["expert_line"] = lambda k: Markup(
        f'<svg width="24" height="8" role="img" aria-label="dashed line"><line x1="0" y1="4" x2="24" y2="4" '
        f'stroke="{svg.EXPERT_COLOURS[k % len(svg.EXPERT_COLOURS)]}" stroke-width="1.5" stroke-dasharray="4 2"/></svg>')
    return env


def _template_cache():
    """Compiled templates kept in riskmc.numeric.cache's folder: compiling them takes longer than
    rendering a report. None where that folder cannot be made."""
    import contextlib

    from ..numeric import cache
    d = cache.directory()
    if d is None:
        return None
    with contextlib.suppress(OSError):
        (d / "templates").mkdir(parents=True, exist_ok=True)
        return jinja2.FileSystemBytecodeCache(str(d / "templates"))
    return None


def render_priors(ps) -> str:
    """A page showing what riskmc understood from a priors file, one picture per prior."""
    return _env().get_template("priors.html.j2").render(
        title=ps.title, files=ps.files, scenario=ps.scenario,
        priors=pictures.prior_rows({n: p.as_dict() for n, p in ps.priors.items()}),
        correlations=[{"between": [a, b], "spearman": v} for a, b, v in ps.dependence.pairs])


# ---------------------------------------------------------------------------- the report
def render(summary: dict, sensitivity: dict | None = None, voi: dict | None = None) -> str:
    """The report as an HTML string, from summary.json (and sensitivity.json and voi.json if
    there are): each registered section that applies, rendered from its own context, in
    page order."""
    env = _env()
    pg = sections.page(summary, sensitivity, voi)
    shared = pg.shared()
    made = [{"id": sec.id, "title": sec.title(pg),
             "html": Markup(env.get_template(sec.template).render(**shared, **sec.context(pg)))}
            for sec in sections.SECTIONS if sec.applies(pg)]
    return env.get_template("report.html.j2").render(s=summary, sections=made)


def render_compare(res: dict) -> str:
    """compare.html: the runs' distributions overlaid, claims before and after, shifts, priors."""
    overlays = []
    names = [r["label"] for r in res["runs"]]
    for o in res["outputs"].values():
        hists = o["histograms"]
        if o["headline"] and all(hists):
            year = hists[0]["year"]
            label = o["label"] + (f", {year}" if year is not None else "")
            overlays.append({"o": o, "svg": svg.overlay(hists, names, label, fmt.tick(o["unit"]))})
    # One chart per output and run: its median's shift from the first run in each year,
    # with error bars (a table per output read slowly; the figures stay under each chart).
    shift_charts = {}
    for name, o in res["outputs"].items():
        charts = []
        for k, label in enumerate(names[1:], start=1):
            rows = [(str(y), row["p50"]["shifts"][k]["value"], 2 * row["p50"]["shifts"][k]["mcse"])
                    for y, row in o["years"].items() if row["p50"]["shifts"][k] is not None]
            if rows:
                charts.append(svg.hbars(rows, f"{o['label']}: median, {label} − {names[0]} (± 2 MCSE)",
                                        lambda v, u=o["unit"]: fmt.shift(v, u)))
        shift_charts[name] = charts
    return _env().get_template("compare.html.j2").render(r=res, overlays=overlays, shift_charts=shift_charts)


def render_ask(answer: dict) -> str:
    """ask.html: a question's answer in the report's style."""
    return _env().get_template("ask.html.j2").render(a=answer)


def render_voi(v: dict) -> str:
    """voi.html: what is worth learning, each value of information with its error bar."""
    from ..store.io import jsonable
    v = jsonable(v)
    return _env().get_template("voi.html.j2").render(**sections.learning(v))


def render_ledger(data: dict, path: str) -> str:
    """The ledger's page: scores, calibration, and each claim's probability over time."""
    histories = [{"name": n, "c": c, "svg": track.history(
        [(h["date"], h["probability"], h["mcse"], h.get("role", "forecast")) for h in c["history"]],
        None if c["outcome"] is None else c["outcome"]["value"], n)} for n, c in data["claims"].items()]
    cal = None
    if data["calibration"]:
        cal = track.calibration([(b["forecast"], b["observed"], b["n"], tuple(b["interval"]))
                               for b in data["calibration"]])
    return _env().get_template("ledger.html.j2").render(d=data, path=path, histories=histories, calibration=cal)
