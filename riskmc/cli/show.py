"""What commands print on the terminal: the answer first, in a table that fits 80 columns,
the path of the file that says more last (a pipeline can take the last line)."""

from __future__ import annotations

import os
import sys

from ..report import fmt

WIDTH = 80


def _console():
    from rich.console import Console
    width = WIDTH
    if sys.stdout.isatty():
        width = min(WIDTH, os.get_terminal_size().columns)
    return Console(width=width, highlight=False, soft_wrap=False, emoji=False, markup=False)


def _table(*columns):
    from rich import box
    from rich.table import Table
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name, kw in columns:
        t.add_column(name, **kw)
    return t


def fit(rows: list[list[str]], flexible: int, width: int = WIDTH, headers: list[str] | None = None) -> list[list[str]]:
    """Cut the text of column `flexible` so every row fits `width` (columns are three apart)."""
    cols = len(rows[0]) if rows else 0
    widths = [max([len(r[k]) for r in rows] + [len(headers[k]) if headers else 0]) for k in range(cols)]
    room = width - sum(w for k, w in enumerate(widths) if k != flexible) - 3 * (cols - 1) - 1
    room = max(room, 8)
    out = []
    for r in rows:
        r = list(r)
        if len(r[flexible]) > room:
            r[flexible] = r[flexible][: room - 1].rstrip() + "…"
        out.append(r)
    return out


def headline_rows(summary: dict) -> list[tuple[str, dict, str]]:
    """(label, statistics, unit) of each headline output in the last year (or overall)."""
    years = summary["years"]
    last = years[-1] if years else None
    out = []
    for o in summary["outputs"].values():
        if o["headline"]:
            st = o["stats"] if last is None else o["years"][str(last)]
            out.append((o["label"], st, o["unit"]))
    return out


def run(summary: dict, report) -> None:
    """After `riskmc run`: the headline, each claim's probability, the report's path."""
    c = _console()
    c.print(summary["title"], overflow="ellipsis", no_wrap=True)
    c.print(f"{summary.get('role', 'forecast')} · {summary['draws']:,} draws ({summary['sampler']}), seed "
            f"{summary['seed']}, model {summary['model']['name']}", overflow="ellipsis", no_wrap=True)
    ev = summary.get("evidence")
    if ev is not None:
        c.print(evidence_line(ev), overflow="fold")
    last = summary["years"][-1] if summary["years"] else None
    heads = [("posterior" if ev else "headline") + (f", {last}" if last is not None else ""),
             "median", "90% interval", "± MCSE"]
    rows = [[label, fmt.value(st["p50"]["value"], unit),
             f"[{fmt.value(st['p5']['value'], unit)}, {fmt.value(st['p95']['value'], unit)}]",
             fmt.mcse(st["p50"]["mcse"], unit)] for label, st, unit in headline_rows(summary)]
    t = _table((heads[0], {"no_wrap": True}), *[(h, {"no_wrap": True, "justify": "right"}) for h in heads[1:]])
    for r in fit(rows, 0, headers=heads):
        t.add_row(*r)
    c.print(t)
    if summary["claims"]:
        claims = sorted(summary["claims"].items(), key=lambda kv: -kv[1]["probability"]["value"])
        heads = ["claim", "prior → posterior" if ev else "probability", "thesis"]
        prior = summary["prior"]["claims"] if ev else {}

        def p(pr):
            return fmt.prob(pr["value"], pr["mcse"])
        rows = [[name, (f"{p(prior[name]['probability'])} → " if ev else "") + p(cl["probability"]), cl["text"]]
                for name, cl in claims]
        t = _table(("claim", {"no_wrap": True}), (heads[1], {"no_wrap": True, "justify": "right"}),
                   ("thesis", {"no_wrap": True}))
        for r in fit(rows, 2, headers=heads):
            t.add_row(*r)
        c.print(t)
    for name, d in summary.get("decisions", {}).items():
        decision(c, name, d)
    c.print(str(report), overflow="ignore", crop=False)


def decision(c, name: str, d: dict) -> None:
    """A decision's options: expected payoff ± MCSE and the chance each pays the most."""
    u = d["unit"]
    heads = [f"{name}: option", "expected payoff", "P(best)", "payoff"]
    rows = [[("▸ " if k == d["best"] else "  ") + k,
             f"{fmt.gain(o['expected']['value'], u)} ± {fmt.mcse(o['expected']['mcse'], u)}",
             fmt.prob(o["p_best"]["value"], o["p_best"]["mcse"]), o["payoff"]] for k, o in d["options"].items()]
    t = _table((heads[0], {"no_wrap": True}), (heads[1], {"no_wrap": True, "justify": "right"}),
               (heads[2], {"no_wrap": True, "justify": "right"}), (heads[3], {"no_wrap": True}))
    for r in fit(rows, 3, headers=heads):
        t.add_row(*r)
    c.print(t)


def evidence_line(ev: dict) -> str:
    """How a run with evidence found its posterior, in one line."""
    n = len(ev["items"])
    what = f"{n} piece{'s' if n != 1 else ''} of evidence"
    imp = ev["diagnostics"]["importance"]
    if ev["method"] == "importance":
        k = imp["khat"]
        kt = "tied weights" if k is None else f"k-hat {k:.2f}"
        return f"{what}, weighed by importance sampling ({kt}, ESS {imp['ess']:,.0f})"
    t = ev["diagnostics"]["tempered"]
    return (f"{what}, weighed by tempered SMC ({t['particles']:,} particles, {t['stages']} stages): "
            f"{ev['why']}")


def compare(res: dict, page) -> None:
    """After `riskmc compare`: claims before -> after, then the page's path."""
    c = _console()
    runs = res["runs"]
    paired = res["common_random_numbers"] and all(e == "paired" for e in res["errors"][1:])
    how = ("  (common random numbers: paired errors)" if paired else
           "  (same seed, but independent errors: see the notes)" if res["common_random_numbers"] else "")
    c.print(" -> ".join(r["label"] for r in runs) + how)
    for note in res.get("notes", []):
        c.print(f"note: {note}", overflow="fold")
    if res["claims"]:
        heads = ["claim"] + [r["label"] for r in runs] + (
            [("paired shift" if res["errors"][1] == "paired" else "shift")] if len(runs) == 2 else [])
        rows = []
        for name, cl in res["claims"].items():
            row = [name] + [fmt.prob_value(p["value"], p["mcse"]) if p else "-" for p in cl["probabilities"]]
            if len(runs) == 2:
                sh = cl["shifts"][1]
                row.append(f"{fmt.shift(sh['value'], 'fraction')} ± {fmt.mcse(sh['mcse'], 'fraction')}" if sh else "-")
            rows.append(row)
        t = _table(*[(h[:20], {"no_wrap": True, "justify": "left" if k == 0 else "right"}) for k, h in enumerate(heads)])
        for r in rows:
            t.add_row(*r)
        c.print(t)
    for o in res["outputs"].values():
        if not o["headline"]:
            continue
        y = list(o["years"])[-1]
        med = o["years"][y]["p50"]
        parts = [fmt.value(v, o["unit"]) for v in med["values"]]
        c.print(f"  {o['label']}{'' if y == 'all' else ', ' + y}: median " + " -> ".join(parts), overflow="fold")
    c.print(str(page), overflow="ignore", crop=False)


def sensitivity(res: dict, path) -> None:
    """After `riskmc sensitivity`: the top drivers of each output, then the file's path."""
    c = _console()
    if res["note"]:
        _indented(c, f"note: {res['note']}", "")
    at = f", {res['year']}" if res["year"] is not None else ""
    for o in res["outputs"].values():
        c.print(f"{o['label']}{at}: what drives it", overflow="ellipsis", no_wrap=True)
        total = any(r["ST"] is not None for r in o["sobol"])
        heads = ["factor", "Sobol S1 [95%]", "total ST [95%]"][:3 if total else 2]
        rows = [([fmt.label(r["factor"]), "-", "-"] if r["S1"] is None else
                 [fmt.label(r["factor"]), f"{r['S1']:.2f} [{r['S1_ci'][0]:.2f}, {r['S1_ci'][1]:.2f}]",
                  f"{r['ST']:.2f} [{r['ST_ci'][0]:.2f}, {r['ST_ci'][1]:.2f}]" if r["ST"] is not None else "-"]
                 )[:len(heads)] for r in o["sobol"][:8]]
        t = _table(*[(h, {"no_wrap": True, **({"justify": "right"} if i else {})}) for i, h in enumerate(heads)])
        for r in fit(rows, 0, headers=heads):
            t.add_row(*r)
        c.print(t)
        sh = o.get("shapley") or {}
        if sh.get("effects"):
            heads = ["input", "Shapley share [95%]"]
            rows = [[fmt.label(k), f"{100 * v['value']:.0f}% [{100 * v['ci'][0]:.0f}, {100 * v['ci'][1]:.0f}]"]
                    for k, v in list(sh["effects"].items())[:6]]
            if sh.get("rest") is not None:
                rows.append(["(the other inputs)", f"{100 * sh['rest']:.0f}%"])
            t = _table((heads[0], {"no_wrap": True}), (heads[1], {"no_wrap": True, "justify": "right"}))
            for r in fit(rows, 0, headers=heads):
                t.add_row(*r)
            c.print(t)
    for e in res.get("experts", []):
        _indented(c, f"whom you believe on {fmt.label(e['prior'])}: {fmt.whom(e, res)}", "")
        for x in e["experts"]:
            means = "; ".join(f"{res['outputs'][n]['label']} mean {fmt.value(m['mean'], res['outputs'][n]['unit'])}"
                              f" ± {fmt.mcse(m['mcse'], res['outputs'][n]['unit'])}" for n, m in x["if_right"].items())
            _indented(c, f"if {x['expert']} ({100 * x['weight']:.0f}%) is right: {means}", "  ")
            claims = "; ".join(f"{k} {fmt.prob(v['value'], v['mcse'])}" for k, v in x["claims_if_right"].items()
                               if v["value"] is not None)
            if claims:
                _indented(c, f"claims: {claims}", "    ")
    c.print(str(path), overflow="ignore", crop=False)


def _group(name: str) -> str:
    """An input, or inputs learnt together (a+b), as words, as sensitivity and ask name them."""
    return " + ".join(fmt.label(part) for part in name.split("+"))


def _indented(c, text: str, indent: str) -> None:
    """A long line wrapped at the terminal's width, its continuation indented under it
    (never back at column 0), breaking between words only."""
    import textwrap
    for line in textwrap.wrap(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                              break_on_hyphens=False):
        c.print(line, overflow="ignore", crop=False)


def _pp(p: dict) -> str:
    return fmt.prob(p["value"], p["mcse"])


def ask(res: dict, page) -> None:
    """After `riskmc ask`: the probabilities, what moved, the claims; the page's path."""
    c = _console()
    r = res["run"]
    c.print(r["title"], overflow="ellipsis", no_wrap=True)
    c.print(f"{r['draws']:,} draws ({r['sampler']}), seed {r['seed']}: {_source(res)}", overflow="ellipsis",
            no_wrap=True)
    if "event" in res:
        c.print(f"P({res['event']}) = {_pp(res['probability'])}", overflow="fold")
    g = res.get("given")
    if g:
        eff = f" ({g['effective_draws']:,.0f} effective)" if "effective_draws" in g else ""
        c.print(f"given {g['event']}: {g['draws']:,} draws{eff}, P = {_pp(g['probability'])}", overflow="fold")
        if "conditional" in res:
            c.print(f"P({res['event']} | given) = {_pp(res['conditional'])}", overflow="fold")
        _moved_table(c, res["moved"], "given it", "what else holds")
    s = res.get("stress")
    if s:
        c.print(f"stress {s['stress']} (from {_stress_from(s)}); the draws reweighted with the least change, "
                f"{s['ess']:,.0f} effective draws:", overflow="fold")
        if "warning" in s:
            c.print(f"warning: {s['warning']}", overflow="fold")
        _moved_table(c, s["moved"], "stressed", "what must move")
    if res["claims"]:
        heads = ["claim", "probability"] + (["given"] if g else []) + (["stressed"] if s else [])
        t = _table(*[(h, {"no_wrap": True, "justify": "left" if k == 0 else "right"}) for k, h in enumerate(heads)])
        for name, cl in res["claims"].items():
            row = [name, _pp(cl["probability"])]
            if g:
                row.append(_pp(cl["given"]))
            if s:
                row.append(_pp(s["claims"][name]))
            t.add_row(*row)
        c.print(t)
    if page is not None:
        c.print(str(page), overflow="ignore", crop=False)


def _stress_from(s: dict) -> str:
    """Where a stressed figure stood before, in its own terms: a probability in percent,
    a mean in its variable's unit."""
    if s["stress"].startswith("P("):
        return f"{100 * s['from']:.1f}%"
    return fmt.value(s["from"], s.get("unit", ""))


def _source(res: dict) -> str:
    """Where an answer's draws came from: the run's own, or its posterior."""
    post = res.get("posterior")
    if post is None:
        return "the run's draws, re-created"
    if post["method"] == "importance":
        return (f"the run's posterior, its draws re-created and weighed by the evidence "
                f"({post['effective_draws']:,.0f} effective draws)")
    return f"the run's tempered posterior, {post['particles']:,} particles in {post['replicates']} replicates"


def _moved_table(c, rows: list[dict], after: str, title: str) -> None:
    # Medians; a mean stress reweights moments only, and then both columns are means.
    stat = "p50" if rows and "p50" in rows[0]["after"] else "mean"
    word = "median" if stat == "p50" else "mean"
    heads = [title, f"{word} before", f"{word} {after}", "shift"]
    body = [[fmt.label(r["name"]), fmt.value(r["before"][stat]["value"], r["unit"]),
             fmt.value(r["after"][stat]["value"], r["unit"]), f"{r['shift_sd']:+.2f} sd"] for r in rows[:8]]
    t = _table((heads[0], {"no_wrap": True}), *[(h, {"no_wrap": True, "justify": "right"}) for h in heads[1:]])
    for row in fit(body, 0, headers=heads):
        t.add_row(*row)
    c.print(t)


def seek(res: dict) -> None:
    """After `riskmc seek`: the median that meets the target, its error, the steps."""
    c = _console()
    u, tu = res["unit"], res["target_unit"]
    a, b = res["from"], res["to"]

    def target(v, err):
        return fmt.prob(v, err) if tu == "probability" else f"{fmt.value(v, tu)} ± {fmt.mcse(err, tu)}"

    c.print(f"{res['target']}: move {fmt.label(res['vary'])}'s median from {fmt.value(a['median'], u)} "
            f"to {fmt.value(b['median'], u)} ± {fmt.mcse(b['mcse'], u)}", overflow="fold")
    under = "posterior: the evidence weighed at every step; " if res.get("posterior") else ""
    c.print(f"at the current median the target is {target(a['value'], a['mcse'])}; at the new one "
            f"{target(b['value'], b['value_mcse'])} ({under}{res['draws']:,} draws a step, seed {res['seed']}, "
            f"{len(res['steps'])} steps)", overflow="fold")
    t = _table(("median", {"no_wrap": True, "justify": "right"}), ("target", {"no_wrap": True, "justify": "right"}))
    for r in res["path"]:
        t.add_row(fmt.value(r["median"], u), target(r["value"], r["mcse"]))
    c.print(t)


def voi(res: dict, page) -> None:
    """After `riskmc voi`: each decision's EVPI and the inputs worth learning, most first;
    each claim's Brier value of learning; the page's path."""
    c = _console()
    n, of = res["draws"], res.get("run_draws", res["draws"])
    drawn = f"{n:,} draws" if n >= of else f"the first {n:,} of the run's {of:,} draws"
    c.print(f"{res['title']}: what is worth learning ({drawn}"
            f"{', the ' + res['posterior'] + ' posterior' if res['posterior'] else ''}; "
            f"errors from {res['bootstrap']} bootstrap resamples)", overflow="fold")
    for name, d in res["decisions"].items():
        u = d["unit"]
        e = d["evpi"]
        c.print(f"{name}: EVPI {fmt.gain(e['value'], u)} ± {fmt.mcse(e['mcse'], u)}"
                f"{' ' + u if u and u not in fmt.SHARE_UNITS and not u.startswith('$') else ''}", overflow="fold")
        heads = ["learn first", "EVPPI", "share of EVPI"]
        # What is worth learning: estimates clearly above their error, at most a dozen.
        shown = [(g, v) for g, v in d["evppi"].items() if v["value"] > 2 * v["mcse"]][:12]
        rows = [[_group(g), f"{fmt.gain(v['value'], u)} ± {fmt.mcse(v['mcse'], u)}",
                 f"{100 * v['value'] / e['value']:.0f}%" if e["value"] > 0 else "n/a"] for g, v in shown]
        t = _table((heads[0], {"no_wrap": True}), (heads[1], {"no_wrap": True, "justify": "right"}),
                   (heads[2], {"no_wrap": True, "justify": "right"}))
        for r in fit(rows, 0, headers=heads):
            t.add_row(*r)
        if rows:
            c.print(t)
        rest = len(d["evppi"]) - len(shown)
        if rest:
            c.print(f"({rest} {'more ' if shown else ''}inputs and groups within two errors of zero: learning "
                    f"{'them' if shown else 'any one alone'} is worth nothing measurable; all in --json"
                    f"{' and the report' if page is not None else ''})", overflow="fold")
    for name, cl in res["claims"].items():
        top = [(g, v) for g, v in cl["value"].items() if v["value"] > 2 * v["mcse"]][:3]
        c.print(f"claim {name} (Brier {cl['brier']:.4f} today): learning first lowers it by"
                + ("" if top else " nothing measurable"), overflow="fold")
        if top:
            heads = ["learn first", "lowers Brier by"]
            t = _table((heads[0], {"no_wrap": True}), (heads[1], {"no_wrap": True, "justify": "right"}))
            for r in fit([[_group(g), f"{fmt.sig(v['value'], 2)} ± {fmt.sig(v['mcse'], 2)}"] for g, v in top], 0,
                         headers=heads):
                t.add_row(*r)
            c.print(t)
    if not res["decisions"] and not res["claims"]:
        c.print("no decisions ([decisions.NAME]) and no claims in the run's priors file: nothing to value")
    if page is not None:
        c.print(str(page), overflow="ignore", crop=False)
