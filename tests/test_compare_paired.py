"""compare pairs the draws of runs made with common random numbers: every shift (means,
quantiles, claims) carries the error of the difference, draw by draw. An output the
changed priors cannot reach shifts by 0 with an error of 0; over many seeds the paired
errors cover known shifts; runs that cannot be paired keep the independent error and say
why."""

import json
import math
import textwrap

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

import riskmc
from riskmc.analyze.compare import compare
from riskmc.cli import app
from riskmc.runs import Run
from tests.conftest import ROOT
from tests.test_evidence import MODEL_FILE, PRIORS

runner = CliRunner()


def _run(priors, out, *args):
    res = runner.invoke(app, ["run", str(priors), "--draws", "20000", "--out", str(out), "--quiet", *args])
    assert res.exit_code == 0, res.output


def test_an_output_the_changes_cannot_reach_shifts_by_zero_with_error_zero(tmp_path):
    """Base and bull at one seed: bull changes no prior that AI-accelerator spend depends on,
    so its every statistic shifts by exactly 0 with a paired error of exactly 0 (the
    independent runs' error would say +-$0.2B); NVIDIA's share moves, measured far more
    precisely than independent runs could."""
    _run(ROOT / "priors" / "base.toml", tmp_path / "base", "--seed", "5")
    _run(ROOT / "priors" / "bull.toml", tmp_path / "bull", "--seed", "5")
    res = runner.invoke(app, ["compare", str(tmp_path / "base"), str(tmp_path / "bull"), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    cmp = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert cmp["errors"] == ["baseline", "paired"] and cmp["paired_errors"] and cmp["notes"] == []
    spend = cmp["outputs"]["ai_accelerator_spend"]["years"]
    for row in spend.values():
        for k, stat in row.items():
            sh = stat["shifts"][1]
            assert sh["value"] == 0 and sh["mcse"] == 0 and sh["paired"], (k, sh)
            assert sh["mcse_independent"] > 0
    share = cmp["outputs"]["nvidia_share"]["years"]["2030"]
    for k in ("mean", "p5", "p50", "p95"):
        sh = share[k]["shifts"][1]
        assert sh["value"] < 0 and 0 < sh["mcse"] < sh["mcse_independent"] / 2, (k, sh)
    for name, c in cmp["claims"].items():
        assert c["shifts"][1]["paired"] and c["shifts"][1]["mcse"] <= c["shifts"][1]["mcse_independent"], name
    html = (tmp_path / "c" / "compare.html").read_text()
    assert "Every shift's error below is <strong>paired</strong>" in html
    # One chart per output of its median's shift by year, the figures folded under it.
    shifts = html[html.index('<section id="shifts">'):]
    assert shifts.count("<svg") == len(cmp["outputs"]) and "median, bull − base (± 2 MCSE)" in shifts
    assert shifts.count("<details><summary>") == len(cmp["outputs"])
    assert "paired shift" in res.output


def test_runs_that_cannot_be_paired_keep_the_independent_error_and_say_why(tmp_path):
    """Another seed: independent errors, said on the page. A priors file changed since its
    run: the draws cannot be re-created; a note says so and compare still answers."""
    (tmp_path / "p.toml").write_text((ROOT / "priors" / "base.toml").read_text())
    _run(ROOT / "priors" / "base.toml", tmp_path / "a", "--seed", "5")
    _run(ROOT / "priors" / "base.toml", tmp_path / "b", "--seed", "6")
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c1")])
    assert res.exit_code == 0, res.output
    cmp = json.loads((tmp_path / "c1" / "compare.json").read_text())
    assert cmp["errors"] == ["baseline", "independent"] and not cmp["common_random_numbers"]
    sh = cmp["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["shifts"][1]
    assert sh["mcse"] == sh["mcse_independent"] and not sh["paired"] and "mcse_paired" not in sh

    _run(tmp_path / "p.toml", tmp_path / "d", "--seed", "5")
    (tmp_path / "p.toml").write_text((ROOT / "priors" / "base.toml").read_text() + "\n# edited\n")
    res = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "d"), "--out", str(tmp_path / "c2")])
    assert res.exit_code == 0, res.output
    cmp = json.loads((tmp_path / "c2" / "compare.json").read_text())
    assert cmp["errors"] == ["baseline", "independent"] and cmp["common_random_numbers"]
    assert len(cmp["notes"]) == 1 and "changed since this run" in cmp["notes"][0]
    assert cmp["notes"][0].count("cannot be re-created") == 1
    assert "note: " in res.output and "independent runs' error" in res.output
    assert res.output.splitlines()[0].endswith("(same seed, but independent errors: see the notes)")


# ------------------------------------------------------------------ coverage on known shifts
@pytest.fixture(scope="module")
def lin(tmp_path_factory):
    d = tmp_path_factory.mktemp("lin")
    (d / "lin.py").write_text(MODEL_FILE)
    base = textwrap.dedent(PRIORS)
    (d / "a.toml").write_text(base)
    (d / "wider.toml").write_text(base.replace("mean = 1.0\nsd = 2.0", "mean = 1.5\nsd = 2.5"))
    (d / "posterior.toml").write_text(base + '[evidence.obs]\ninput = "a"\nvalue = 4.0\nsd = 1.0\nsource = "test"\n')
    return d


Z95 = stats.norm.ppf(0.95)


def _exact(ya: tuple, yb: tuple) -> dict:
    """Shifts of y's mean, p5, p50, p95 and P(y > 5) between two normals (mean, sd)."""
    return {"mean": yb[0] - ya[0], "p5": (yb[0] - Z95 * yb[1]) - (ya[0] - Z95 * ya[1]), "p50": yb[0] - ya[0],
            "p95": (yb[0] + Z95 * yb[1]) - (ya[0] + Z95 * ya[1]),
            "claim": stats.norm.sf(5, *yb) - stats.norm.sf(5, *ya)}


@pytest.mark.parametrize("other, sampler, yb", [
    ("wider", "mc", (3.0, math.sqrt(26))),
    ("wider", "lhs", (3.0, math.sqrt(26))),
    ("posterior", "mc", (6.8, math.sqrt(4 / 1.25 + 1))),
])
def test_paired_errors_cover_known_shifts(lin, other, sampler, yb):
    """y = 2a + b with a ~ N(1, 2^2) against a ~ N(1.5, 2.5^2) (plain Monte Carlo and LHS)
    or a's posterior N(3.4, 0.894^2) (weighted draws): over 200 seeds of 4,096 draws each
    paired shift lies within 2 of its MCSE of the exact shift 90% to 99% of the time."""
    exact = _exact((2.0, math.sqrt(17)), yb)
    z = {k: [] for k in exact}
    for seed in range(200):
        ra = riskmc.run(lin / "a.toml", draws=4_096, seed=seed, workers=1, sampler=sampler)
        rb = riskmc.run(lin / f"{other}.toml", draws=4_096, seed=seed, workers=1, sampler=sampler)
        res = compare([ra.summary, rb.summary], ["a", "b"],
                      [Run.of(ra.summary, ra.priors), Run.of(rb.summary, rb.priors)])
        row = res["outputs"]["y"]["years"]["all"]
        got = {k: row[k]["shifts"][1] for k in ("mean", "p5", "p50", "p95")} | {
            "claim": res["claims"]["big"]["shifts"][1]}
        for k, e in exact.items():
            assert got[k]["paired"]
            z[k].append(abs(got[k]["value"] - e) / got[k]["mcse"])
    cover = {k: float(np.mean(np.array(v) < 2)) for k, v in z.items()}
    for k, v in cover.items():
        assert 0.90 <= v <= 0.99, (k, cover)
