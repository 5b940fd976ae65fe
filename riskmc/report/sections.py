"""The report's sections, in page order: each one registered entry (its id, its title, when
it applies, its context and its template under templates/sections/). The page and its
navigation are made from this registry; a new section is one more entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import fmt, modeldoc, pictures, svg

# Inputs listed in "What the evidence changed", most moved first.
MOVED_LISTED = 12


@dataclass(frozen=True)
class Page:
    """What every section may read: the run's files and what several sections share."""

    summary: dict
    sensitivity: dict | None
    last: int | None          # the last year (None: a model without years)
    when: str                 # ", 2030" or ""
    headline: list[dict]      # the headline outputs' statistics and pictures
    evidence: dict | None     # what the evidence changed, for a run with evidence
    voi: dict | None = None   # voi.json: what is worth learning, when riskmc voi wrote it

    def shared(self) -> dict:
        """The names every section template may use."""
        return {"s": self.summary, "last": self.last, "when": self.when,
                "in_when": f" in {self.last}" if self.last is not None else "",
                "headline": self.headline, "evidence": self.evidence}


@dataclass(frozen=True)
class Section:
    id: str
    title: Callable[[Page], str]
    context: Callable[[Page], dict]
    applies: Callable[[Page], bool] = lambda page: True

    @property
    def template(self) -> str:
        return f"sections/{self.id}.html.j2"


def _decisions(p: Page) -> dict:
    """Each decision's options, and a picture of their expected payoffs with error bars."""
    out = []
    for name, d in p.summary["decisions"].items():
        u = d["unit"]
        rows = [(k, o["expected"]["value"], 2 * o["expected"]["mcse"]) for k, o in d["options"].items()]
        out.append({"name": name, "d": d, "svg": svg.hbars(rows, f"{name}: expected payoff of each option (± 2 MCSE)",
                                                           lambda v, u=u: fmt.value(v, u))})
    return {"decisions": out}


def learning(v: dict) -> dict:
    """voi.json's figures as bars: each decision's EVPPI by input and group, each claim's
    Brier value of learning, with error bars (the run's report and voi.html alike)."""
    def name(g: str) -> str:
        parts = [fmt.label(x) for x in g.split("+")]
        said = " + ".join(parts)
        return said if len(said) <= 44 else f"{parts[0]} + {len(parts) - 1} more"
    decisions = []
    for d_name, d in v["decisions"].items():
        top = [(name(g), e) for g, e in d["evppi"].items() if e["value"] > 2 * e["mcse"]][:12]
        rows = [(g, e["value"], 2 * e["mcse"]) for g, e in top] or [("(none above its error)", 0.0, 0.0)]
        decisions.append({"name": d_name, "d": d, "top": top, "svg": svg.hbars(
            rows, "EVPPI of each input and group (± 2 MCSE)", lambda x, u=d["unit"]: fmt.gain(x, u))})
    claims = []
    for c_name, c in v["claims"].items():
        top = [(name(g), e) for g, e in c["value"].items() if e["value"] > 2 * e["mcse"]][:8]
        rows = [(g, e["value"], 2 * e["mcse"]) for g, e in top] or [("(none above its error)", 0.0, 0.0)]
        claims.append({"name": c_name, "c": c, "top": top, "svg": svg.hbars(
            rows, f"{c_name}: drop in the Brier score (± 2 MCSE)", lambda x: fmt.sig(x, 2))})
    return {"v": v, "learning_decisions": decisions, "learning_claims": claims}


def stats_at(o: dict, year) -> dict:
    """An output's statistics in a year, or its one set of statistics (a model without years)."""
    return o["stats"] if year is None else o["years"][str(year)]


def page(summary: dict, sensitivity: dict | None, voi: dict | None = None) -> Page:
    years = summary["years"]
    last = years[-1] if years else None
    when = f", {last}" if last is not None else ""
    headline = []
    for name, o in summary["outputs"].items():
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
    evidence = _evidence(summary, last, when) if "evidence" in summary else None
    return Page(summary, sensitivity, last, when, headline, evidence, voi)


# ---------------------------------------------------------------------------- contexts
def _claims(page: Page) -> dict:
    """The first page: headline, claims, what moves each headline output most, and each
    decision's best option (the page prints on its own)."""
    summary = page.summary
    claims = summary["claims"]
    outs = summary["outputs"]
    movers = []
    for n, rows in summary["drivers"]["outputs"].items():
        if outs[n]["headline"] and rows:
            movers.append({"label": outs[n]["label"],
                           "inputs": [(fmt.label(r["input"]), r["spearman"]) for r in rows[:3]]})
    return {"claims": sorted(claims.items(), key=lambda kv: (-kv[1]["probability"]["value"], kv[0])),
            "movers": movers, "drivers_year": summary["drivers"]["year"],
            "decided": [(k, d) for k, d in summary.get("decisions", {}).items()]}


def _paths(page: Page) -> dict:
    years, fans = page.summary["years"], []
    for name, o in page.summary["outputs"].items():
        if years is None:
            fans.append({"name": name, "o": o, "svg": None})
            continue
        q = {k: [o["years"][str(y)][k]["value"] for y in years] for k in ("p5", "p25", "p50", "p75", "p95")}
        fans.append({"name": name, "o": o, "svg": svg.fan(years, q, o["label"], fmt.tick(o["unit"]))})
    return {"fans": fans}


def _drivers(page: Page) -> dict:
    summary, sensitivity = page.summary, page.sensitivity
    outs = summary["outputs"]
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
    return {"drivers": drivers, "sens": sens}


def _diagnostics(page: Page) -> dict:
    outs = page.summary["outputs"]
    trace = page.summary.get("convergence_trace") or {"year": None, "outputs": {}}
    return {"traces": [{"o": outs[n], "svg": svg.convergence(
        t, outs[n]["label"] + (f", {trace['year']}" if trace["year"] else ""), fmt.tick(outs[n]["unit"]))}
        for n, t in trace["outputs"].items() if t]}


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


def _none(page: Page) -> dict:
    return {}


SECTIONS = (
    Section("headline", lambda p: "Headline", _claims),
    Section("evidence", lambda p: "What the evidence changed", _none, lambda p: p.evidence is not None),
    Section("decisions", lambda p: "Decisions", _decisions, lambda p: bool(p.summary.get("decisions"))),
    Section("learning", lambda p: "What is worth learning", lambda p: learning(p.voi), lambda p: p.voi is not None),
    Section("distributions", lambda p: "Distributions", _none),
    Section("paths", lambda p: "Paths" if p.summary["years"] else "Every output", _paths),
    Section("drivers", lambda p: "What drives it", _drivers),
    Section("diagnostics", lambda p: "Diagnostics", _diagnostics),
    Section("reproduce", lambda p: "Reproduce", _none),
    Section("priors", lambda p: "Priors", lambda p: {"priors": pictures.prior_rows(p.summary["inputs"])}),
    Section("model", lambda p: "Model", lambda p: {"model_html": modeldoc.model_doc(p.summary["model"]["doc"])}),
)
