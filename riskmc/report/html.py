"""Render a run's report: one self-contained HTML file from summary.json (and sensitivity.json).

It reads only the run's files, never the priors or the model again, so `riskmc report`
re-renders a run anywhere; and it imports nothing heavier than jinja2 and markdown.
"""

from __future__ import annotations

import html as _html
import json
import re
import sys
from html.parser import HTMLParser

import jinja2
import numpy as np

from . import fmt, svg


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskmc.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        bytecode_cache=_template_cache(),
    )
    env.filters["value"] = fmt.value
    env.filters["mcse"] = fmt.mcse
    env.filters["shift"] = fmt.shift
    env.filters["label"] = fmt.label
    env.filters["prob"] = lambda p: fmt.prob(p["value"], p["mcse"])
    env.filters["prob_value"] = lambda p: fmt.prob_value(p["value"], p["mcse"])
    env.filters["num"] = lambda v, unit="": fmt.value(v, "year") if unit == "year" else f"{v:.4g}"
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


# ---------------------------------------------------------------------------- the model's doc
_ALLOWED = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre", "ul", "ol", "li",
            "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub"}
_VOID = {"hr", "br"}


class _Clean(HTMLParser):
    """Re-emits markdown's HTML keeping only plain structural tags, without attributes:
    a model file's doc is the user's text, and no script or link of it reaches the report."""

    def __init__(self, shift: int) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.shift = shift

    def _tag(self, tag: str) -> str | None:
        if tag not in _ALLOWED:
            return None
        m = re.fullmatch(r"h([1-6])", tag)
        return f"h{min(int(m.group(1)) + self.shift, 6)}" if m else tag

    def handle_starttag(self, tag, attrs):
        t = self._tag(tag)
        if t:
            self.out.append(f"<{t}>")

    def handle_endtag(self, tag):
        t = self._tag(tag)
        if t and t not in _VOID:
            self.out.append(f"</{t}>")

    def handle_data(self, data):
        self.out.append(_html.escape(data, quote=False))


def model_doc(text: str) -> str:
    """A model's documentation (markdown, from summary.json) as safe HTML nested under the
    report's Model heading: its h1 becomes h3. Code stays code: `a <= b` reads as written.

    The same text gives the same HTML, so it is kept in riskmc's cache (keyed, like the
    priors' pictures, by this file's source): rendering it took a tenth of a second of
    every run."""
    from ..numeric import cache
    k = cache.key("model-doc", cache.sources(sys.modules[__name__]), cache.stamp("markdown", "__meta__.py"), text)
    kept = cache.load_bytes("model-doc", k, ".html")
    if kept is not None:
        return kept.decode()
    import markdown
    plain = re.sub(r"<!--.*?-->\n?", "", text or "", flags=re.S)  # generator markers
    body = markdown.markdown(plain, extensions=["tables", "fenced_code"])
    clean = _Clean(shift=2)
    clean.feed(body)
    clean.close()
    out = "".join(clean.out)
    cache.save_bytes("model-doc", k, ".html", out.encode())
    return out


# ---------------------------------------------------------------------------- priors
def _prior_picture(name: str, entry: dict) -> str:
    """The prior's density over its central range, the stated quantiles marked."""
    from ..priors.families import rebuild
    d = entry["distribution"]
    fam = rebuild(d)
    if not fam.varies:
        return ""
    stated = list(entry["stated"].values())
    unit = entry["unit"]
    if fam.discrete:
        xs = np.array(fam.atoms())
        return svg.density(xs, fam.pdf(xs), [], True, fmt.tick(unit), fmt.label(name))
    lo, hi = fam.support()
    p05, p95 = entry["implied"]["p05"], entry["implied"]["p95"]
    span = (p95 - p05) or abs(p05) or 1.0
    a, b = max(lo, p05 - 0.75 * span), min(hi, p95 + 0.75 * span)
    xs = np.linspace(a, b, 160)
    with np.errstate(all="ignore"):
        ys = np.nan_to_num(fam.pdf(xs), nan=0.0, posinf=0.0)
        # Pooled experts: each one's density, drawn at its weight in the pool.
        parts = [np.nan_to_num(w * p.pdf(xs), nan=0.0, posinf=0.0) for w, p in zip(fam.weights, fam.parts)
                 ] if d["family"] == "pool" and d["extra"]["kind"] == "linear" else []
    return svg.density(xs, ys, stated, False, fmt.tick(unit), fmt.label(name), parts)


def _prior_pictures(entries: dict) -> list[str]:
    """Each prior's picture. They depend on the priors alone, not on the run, so they are
    kept in riskmc's cache, keyed by what they are drawn from and the code that draws
    them: drawing 33 took half the time of writing a run's files."""
    from ..numeric import cache, normal
    from ..priors import pool
    from ..priors.families import RECORDED, base
    drawn = [(n, p["distribution"], p.get("stated"), p.get("unit"), p.get("implied")) for n, p in entries.items()]
    family_modules = sorted({sys.modules[c.__module__] for c in RECORDED.values()}, key=lambda m: m.__name__)
    code = cache.sources(sys.modules[__name__], svg, fmt, base, pool, normal, *family_modules)
    # As JSON: a fit fresh from SciPy and one read back from the cache hold the same
    # numbers in different types (numpy floats, tuples), whose repr differs.
    k = cache.key("prior-svg", code, json.dumps(drawn, default=repr))
    kept = cache.load_json("prior-svg", k)
    pictures = kept.get("svg") if isinstance(kept, dict) else None
    if isinstance(pictures, list) and len(pictures) == len(entries) and all(isinstance(x, str) for x in pictures):
        return pictures
    # Missing, or damaged by something other than riskmc: drawn again.
    out = [_prior_picture(n, p) for n, p in entries.items()]
    cache.save_json("prior-svg", k, {"svg": out})
    return out


def _prior_rows(entries: dict) -> list[dict]:
    pictures = _prior_pictures(entries)
    return [{"name": n, "p": p, "svg": pic,
             "disagreement": fmt.disagreement(p["disagreement"]) if len(p.get("experts", ())) > 1 else ""}
            for (n, p), pic in zip(entries.items(), pictures)]


def render_priors(ps) -> str:
    """A page showing what riskmc understood from a priors file, one picture per prior."""
    return _env().get_template("priors.html.j2").render(
        title=ps.title, files=ps.files, scenario=ps.scenario,
        priors=_prior_rows({n: p.as_dict() for n, p in ps.priors.items()}),
        correlations=[{"between": [a, b], "spearman": v} for a, b, v in ps.dependence.pairs])


# ---------------------------------------------------------------------------- the report
def stats_at(o: dict, year) -> dict:
    """An output's statistics in a year, or its one set of statistics (a model without years)."""
    return o["stats"] if year is None else o["years"][str(year)]


def render(summary: dict, sensitivity: dict | None = None) -> str:
    """The report as an HTML string, from summary.json (and sensitivity.json if there is one)."""
    years = summary["years"]
    last = years[-1] if years else None
    when = f", {last}" if last is not None else ""
    outs = summary["outputs"]
    headline = []
    for name, o in outs.items():
        if not o["headline"]:
            continue
        s = stats_at(o, last)
        h = o["histogram"]
        tick = fmt.tick(o["unit"])
        marks = {k: s[k]["value"] for k in ("p5", "p50", "p95")}
        headline.append({"name": name, "o": o, "s": s,
                         "hist": svg.distribution(h["edges"], h["density"], marks, o["label"] + when, tick,
                                                  lambda v, u=o["unit"]: fmt.value(v, u)),
                         "cdf": svg.cdf(h["edges"], h["cdf"], o["label"] + when, tick)})
    claims = sorted(summary["claims"].items(), key=lambda kv: (-kv[1]["probability"]["value"], kv[0]))
    fans = []
    for name, o in outs.items():
        if years is None:
            fans.append({"name": name, "o": o, "svg": None})
            continue
        q = {k: [o["years"][str(y)][k]["value"] for y in years] for k in ("p5", "p25", "p50", "p75", "p95")}
        fans.append({"name": name, "o": o, "svg": svg.fan(years, q, o["label"], fmt.tick(o["unit"]))})
    dyear = summary["drivers"]["year"]
    drivers = []
    for n, rows in summary["drivers"]["outputs"].items():
        top = rows[:10]
        bars = [(fmt.label(r["input"]), r["spearman"], 2 * r["mcse"]) for r in top]
        drivers.append({"name": n, "label": outs[n]["label"], "rows": top,
                        "svg": svg.hbars(bars, outs[n]["label"] + (f", {dyear}" if dyear else ""),
                                         lambda v: f"{v:+.1f}" if v else "0", -1.0, 1.0,
                                         "rank correlation with the output (whiskers: +-2 MCSE)")})
    sens = None
    if sensitivity is not None:
        at = f", {sensitivity['year']}" if sensitivity["year"] is not None else ""
        labels = {r["input"]: fmt.label(r["input"]) for o in sensitivity["outputs"].values()
                  for r in o["tornado"]["rows"]}
        sens = {"meta": sensitivity, "outputs": [
            {"name": n, "o": o, "swings": {r["input"]: r["swing"] for r in o["tornado"]["rows"]},
             "svg": svg.tornado(o["tornado"]["base"], o["tornado"]["rows"][:12], f"{o['label']}{at}",
                                fmt.tick(o["unit"]), labels)}
            for n, o in sensitivity["outputs"].items()],
            "experts": [{**e, "share": fmt.whom(e, sensitivity)} for e in sensitivity.get("experts", [])]}
    trace = summary.get("convergence_trace") or {"year": None, "outputs": {}}
    traces = [{"o": outs[n], "svg": svg.convergence(
        t, outs[n]["label"] + (f", {trace['year']}" if trace["year"] else ""), fmt.tick(outs[n]["unit"]))}
              for n, t in trace["outputs"].items() if t]
    return _env().get_template("report.html.j2").render(
        s=summary, last=last, when=when, in_when=f" in {last}" if last is not None else "",
        headline=headline, claims=claims, fans=fans, drivers=drivers, sens=sens, traces=traces,
        evidence=_evidence(summary, last, when) if "evidence" in summary else None,
        priors=_prior_rows(summary["inputs"]), model_html=model_doc(summary["model"]["doc"]),
    )


# Inputs listed in "What the evidence changed", most moved first.
MOVED_LISTED = 12


def _evidence(summary: dict, last, when: str) -> dict:
    """What the evidence changed: each observation and where it fell, claims and headline
    outputs prior against posterior, and the inputs it moved most."""
    ev = summary["evidence"]
    prior = summary["prior"]
    items = []
    for name, it in ev["items"].items():
        pp = it["prior_predictive"]
        p = pp.get("percentile")
        items.append({"name": name, "it": it, "pp": pp, "p": p,
                      "surprising": p is not None and (p < 0.025 or p > 0.975)
                      or pp.get("probability") is not None and pp["probability"] < 0.05,
                      "meter": svg.meter(p, f"{name}: the prior predictive's {100 * p:.1f}th percentile")
                      if p is not None else ""})
    claims = []
    for name, c in sorted(summary["claims"].items(), key=lambda kv: (-kv[1]["probability"]["value"], kv[0])):
        a, b = prior["claims"][name]["probability"], c["probability"]
        claims.append({"name": name, "c": c, "prior": a, "post": b, "shift": b["value"] - a["value"],
                       "shift_mcse": (a["mcse"] ** 2 + b["mcse"] ** 2) ** 0.5})
    heads = []
    for name, o in summary["outputs"].items():
        if not o["headline"]:
            continue
        po = prior["outputs"][name]
        heads.append({"o": o, "prior": stats_at(po, last), "post": stats_at(o, last),
                      "svg": svg.overlay([po["histogram"], o["histogram"]], ["prior", "posterior"], o["label"] + when,
                                         fmt.tick(o["unit"]))})
    inputs = []
    for name, e in list(ev["inputs"].items())[:MOVED_LISTED]:
        unit = summary["inputs"][name]["unit"]
        h = e.get("histograms")
        inputs.append({"name": name, "e": e, "unit": unit,
                       "svg": svg.overlay([h["prior"], h["posterior"]], ["prior", "posterior"], fmt.label(name),
                                          fmt.tick(unit)) if h else None})
    return {"ev": ev, "items": items, "claims": claims, "heads": heads, "inputs": inputs}


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
    return _env().get_template("compare.html.j2").render(r=res, overlays=overlays)


def render_ask(answer: dict) -> str:
    """ask.html: a question's answer in the report's style."""
    return _env().get_template("ask.html.j2").render(a=answer)


def render_ledger(data: dict, path: str) -> str:
    """The ledger's page: scores, calibration, and each claim's probability over time."""
    histories = [{"name": n, "c": c, "svg": svg.history(
        [(h["date"], h["probability"], h["mcse"]) for h in c["history"]],
        None if c["outcome"] is None else c["outcome"]["value"], n)} for n, c in data["claims"].items()]
    cal = None
    if data["calibration"]:
        cal = svg.calibration([(b["forecast"], b["observed"], b["n"], tuple(b["interval"]))
                               for b in data["calibration"]])
    return _env().get_template("ledger.html.j2").render(d=data, path=path, histories=histories, calibration=cal)
