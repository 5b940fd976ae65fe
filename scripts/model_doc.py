"""Regenerate the market model's inputs table (riskmc/model/market.md, shown in every
report) and the base case's figures (docs/base-case.md, a page of its own: a report
shows its own run's figures, never these).

Run with `make model-doc`. docs/base-case.md records the SHA-256 of priors/base.toml, and
tests fail when that file changes without the page being regenerated.
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "riskmc" / "model" / "market.md"
BASE_CASE = ROOT / "docs" / "base-case.md"
sys.path.insert(0, str(ROOT))

import riskmc  # noqa: E402
from riskmc.model import resolve  # noqa: E402
from riskmc.report.fmt import mcse as fmt_mcse  # noqa: E402
from riskmc.report.fmt import value as fmt_value  # noqa: E402


def _bound(v: float) -> str:
    return "∞" if v == math.inf else "−∞" if v == -math.inf else f"{v:g}"


def inputs_table() -> str:
    rows = ["| input | unit | support | what it is |", "|---|---|---|---|"]
    for i in resolve("market").inputs:
        rows.append(f"| `{i.name}` | {i.unit} | [{_bound(i.lower)}, {_bound(i.upper)}] | {i.description} |")
    return "\n".join(rows)


def base_case_page(priors: Path) -> str:
    r = riskmc.run(priors)
    s = r.summary
    lines = ["# The base case, in numbers", "",
             "The market model (`docs/model.md`) under `priors/base.toml`, with the file's own seed",
             "and draws. Made by `make model-doc`; a test fails when `priors/base.toml` changes",
             "without this page being made again.", "",
             f"Command: `{s['command']}` (priors SHA-256 `{s['priors_files'][0]['sha256']}`).", "",
             "| output, 2030 | p5 | p50 | p95 | mean ± MCSE |", "|---|---|---|---|---|"]
    for o in s["outputs"].values():
        if not o["headline"]:
            continue
        y = o["years"]["2030"]
        u = o["unit"]
        lines.append(f"| {o['label']} | {fmt_value(y['p5']['value'], u)} | {fmt_value(y['p50']['value'], u)} | "
                     f"{fmt_value(y['p95']['value'], u)} | {fmt_value(y['mean']['value'], u)} ± "
                     f"{fmt_mcse(y['mean']['mcse'], u)} |")
    lines += ["", "| claim | event | probability ± MCSE |", "|---|---|---|"]
    for name, c in s["claims"].items():
        p = c["probability"]
        lines.append(f"| {name}: {c['text']} | `{c['event']}` | {100 * p['value']:.2f}% ± "
                     f"{100 * p['mcse']:.2f} pp |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"model_doc: no <!-- {name}:start/end --> block in {DOC}")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> None:
    DOC.write_text(replace_block(DOC.read_text(), "inputs", inputs_table()))
    os.chdir(ROOT)  # the recorded command then names priors/base.toml, not this machine's path
    BASE_CASE.write_text(base_case_page(Path("priors/base.toml")))
    print(f"updated {DOC.relative_to(ROOT)} and {BASE_CASE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
