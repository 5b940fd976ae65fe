"""run.xlsx: a run as a colleague opens it in a spreadsheet.

One sheet each: the outputs (an output and statistic per row, the years as columns, shares
as percent and money in $B with their number formats), their Monte Carlo errors in the
same shape, the claims with their theses, the decisions' options priced, the inputs (each
prior as stated and as fitted), the evidence, and the draws when the run saved them. Every sheet has a frozen header and a
filter. The workbook is written in xlsxwriter's constant-memory mode, row by row, so the
draws sheet of a large run costs its rows' time, not its size in memory. Text is written
as text, never as a formula or a link (OWASP's advice on CSV injection: a claim's thesis
could read =HYPERLINK(...)).
"""

from __future__ import annotations

from pathlib import Path

from . import fmt
from .fmt import SHARE_UNITS

STATISTICS = ("mean", "p5", "p50", "p95")


def number_format(unit: str, error: bool = False) -> str:
    """The Excel number format of a value in `unit`, as the report prints it; a Monte
    Carlo error's (`error`) one digit finer."""
    more = "0" if error else ""
    if unit in SHARE_UNITS:
        return f"0.0{more}%"
    if unit.startswith("$B"):
        return f'"$"#,##0.0{more}"B"'
    if unit == "$":
        return f'"$"#,##0.00{more}'
    if unit == "year" and not error:
        return "0"
    return f"#,##0.000{more}"


class _Sheet:
    """A worksheet written row by row: a bold frozen header with a filter, then rows of
    (value, format name or None); text always as text."""

    def __init__(self, wb, formats: dict, name: str, header: list[str], widths: list[int]) -> None:
        self.ws, self.formats, self.row = wb.add_worksheet(name), formats, 1
        for col, w in enumerate(widths):
            self.ws.set_column(col, col, w)
        for col, h in enumerate(header):
            self.ws.write_string(0, col, h, formats["header"])
        self.ws.freeze_panes(1, 0)
        self.width = len(header)

    def add(self, cells) -> None:
        for col, (v, style) in enumerate(cells):
            f = self.formats.get(style) if style else None
            if v is None:
                continue
            if isinstance(v, str):
                self.ws.write_string(self.row, col, v, f)
            else:
                self.ws.write_number(self.row, col, float(v), f)
        self.row += 1

    def close(self) -> None:
        self.ws.autofilter(0, 0, max(self.row - 1, 0), self.width - 1)


def write_workbook(path: str | Path, summary: dict, draws=None, weights=None, check=lambda: None) -> None:
    """run.xlsx at `path` from a run's summary (and its saved draws, a polars frame, with
    each draw's posterior weight when given). `check` is called between rows of the draws
    (where a stop request is honoured)."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    # The file's own "created" is the run's timestamp (SOURCE_DATE_EPOCH), else zip's
    # epoch: never the clock, so the same run gives the same bytes.
    import datetime as dt
    when = summary.get("created")
    wb.set_properties({"created": dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ") if when
                       else dt.datetime(1980, 1, 1)})
    try:
        formats: dict = {"header": wb.add_format({"bold": True, "bottom": 1}),
                         "text": wb.add_format({"text_wrap": False})}
        units = ({o["unit"] for o in summary["outputs"].values()} | {i["unit"] for i in summary["inputs"].values()}
                 | {d["unit"] for d in summary.get("decisions", {}).values() if d["unit"]})
        for u in units | {"fraction"}:
            formats[f"v:{u}"] = wb.add_format({"num_format": number_format(u)})
            formats[f"e:{u}"] = wb.add_format({"num_format": number_format(u, error=True)})
        _outputs(wb, formats, summary, "outputs", "v")
        _outputs(wb, formats, summary, "outputs_mcse", "e")
        _claims(wb, formats, summary)
        if summary.get("decisions"):
            _decisions(wb, formats, summary["decisions"])
        _inputs(wb, formats, summary)
        if summary.get("evidence"):
            _evidence(wb, formats, summary["evidence"])
        if draws is not None:
            _draws(wb, formats, draws, weights, check)
    finally:
        wb.close()


def _outputs(wb, formats, summary: dict, name: str, kind: str) -> None:
    """An output and statistic per row, the years as columns (the posterior's under
    evidence, the prior's below it)."""
    years = summary["years"]
    ev = summary.get("evidence")
    bases = [("posterior", summary["outputs"]), ("prior", summary["prior"]["outputs"])] if ev else \
        [("", summary["outputs"])]
    cols = [str(y) for y in years] if years else ["value"]
    head = (["basis"] if ev else []) + ["output", "label", "unit", "statistic"] + cols
    sheet = _Sheet(wb, formats, name, head, ([10] if ev else []) + [26, 44, 10, 10] + [11] * len(cols))
    for basis, outputs in bases:
        for out_name, o in outputs.items():
            f = f"{kind}:{o['unit']}"
            for stat in STATISTICS:
                key = "value" if kind == "v" else "mcse"
                vals = [o["stats"][stat][key]] if not years else [o["years"][str(y)][stat][key] for y in years]
                sheet.add(([(basis, None)] if ev else []) + [(out_name, None), (o["label"], None), (o["unit"], None),
                                                             (stat, None)] + [(v, f) for v in vals])
    sheet.close()


def _claims(wb, formats, summary: dict) -> None:
    ev = summary.get("evidence")
    head = ["claim", "thesis", "event", "probability", "MCSE"] + (["prior probability", "prior MCSE"] if ev else [])
    sheet = _Sheet(wb, formats, "claims", head, [8, 60, 44, 12, 10] + ([16, 12] if ev else []))
    for name, c in summary["claims"].items():
        p = c["probability"]
        row = [(name, None), (c["text"], None), (c.get("event", ""), None), (p["value"], "v:fraction"),
               (p["mcse"], "e:fraction")]
        if ev:
            q = summary["prior"]["claims"][name]["probability"]
            row += [(q["value"], "v:fraction"), (q["mcse"], "e:fraction")]
        sheet.add(row)
    sheet.close()


def _decisions(wb, formats, decisions: dict) -> None:
    """Each option of each decision: its payoff, expected payoff and chance of being best."""
    head = ["decision", "option", "payoff", "expected payoff", "MCSE", "P(best)", "P(best) MCSE", "best"]
    sheet = _Sheet(wb, formats, "decisions", head, [18, 14, 44, 16, 12, 10, 12, 6])
    for name, d in decisions.items():
        u = d["unit"] if f"v:{d['unit']}" in formats else ""
        for option, o in d["options"].items():
            e, p = o["expected"], o["p_best"]
            sheet.add([(name, None), (option, None), (o["payoff"], None), (e["value"], f"v:{u}" if u else None),
                       (e["mcse"], f"e:{u}" if u else None), (p["value"], "v:fraction"), (p["mcse"], "e:fraction"),
                       ("yes" if option == d["best"] else "", None)])
    sheet.close()


def _inputs(wb, formats, summary: dict) -> None:
    """Each prior: what was stated, the distribution riskmc fitted, its implied quantiles."""
    head = ["input", "description", "unit", "stated", "distribution", "p05", "p50", "p95", "source"]
    sheet = _Sheet(wb, formats, "inputs", head, [28, 50, 10, 24, 40, 11, 11, 11, 50])
    for name, i in summary["inputs"].items():
        f = f"v:{i['unit']}"
        stated = " ".join(f"{k}={fmt.exact(v, i['unit'])}" for k, v in (i.get("stated") or {}).items())
        imp = i.get("implied") or {}
        sheet.add([(name, None), (i.get("description") or "", None), (i["unit"], None), (stated, None),
                   (i["distribution"]["text"], None), (imp.get("p05"), f), (imp.get("p50"), f), (imp.get("p95"), f),
                   (i.get("source") or "", None)])
    sheet.close()


def _evidence(wb, formats, ev: dict) -> None:
    head = ["evidence", "observation", "source", "date", "prior percentile", "prior probability"]
    sheet = _Sheet(wb, formats, "evidence", head, [24, 50, 50, 12, 16, 16])
    for name, it in ev["items"].items():
        pp = it["prior_predictive"]
        sheet.add([(name, None), (it["text"], None), (it["source"], None), (it.get("date") or "", None),
                   (pp.get("percentile"), "v:fraction"), (pp.get("probability"), "v:fraction")])
    sheet.close()


def _draws(wb, formats, draws, weights, check) -> None:
    """Every saved draw, a row each, written as it goes (constant memory)."""
    import numpy as np
    names = list(draws.columns) + (["weight"] if weights is not None else [])
    sheet = _Sheet(wb, formats, "draws", names, [14] * len(names))
    ws = sheet.ws
    batch = 4096
    for start in range(0, draws.height, batch):
        check()
        block = draws.slice(start, batch).to_numpy().astype(float)
        if weights is not None:
            block = np.column_stack([block, weights[start:start + batch]])
        for r, row in enumerate(block.tolist(), start=sheet.row):
            ws.write_row(r, 0, row)
        sheet.row += len(block)
    sheet.close()
