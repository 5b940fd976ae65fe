"""Quantities resolve to numbers: every recorded forecast of output[year] scored from its
distribution (CRPS, log score, PIT), against closed forms and against the run's own draws."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import polars as pl
import pytest
from scipy import stats
from typer.testing import CliRunner

from riskmc.cli import app
from riskmc.store.quantities import LEVELS, score
from tests.conftest import ROOT

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def normal_crps(mu: float, sd: float, y: float) -> float:
    """CRPS of N(mu, sd^2) at y (Gneiting and Raftery 2007, eq. 5)."""
    z = (y - mu) / sd
    return sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))


@pytest.mark.parametrize("y", [10.0, 12.0, 16.0, 3.0])
def test_scores_of_a_normal_forecast_match_the_closed_forms(y):
    """The grid of an exact normal: CRPS to 1e-4 relative; PIT to 1e-3; the log score to
    0.01 in the bulk (the grid's slope is coarse beyond its 1st and 99th percentiles)."""
    mu, sd = 10.0, 2.0
    s = score(stats.norm.ppf(LEVELS, mu, sd), 100_000, y)
    assert s.crps == pytest.approx(normal_crps(mu, sd, y), rel=1e-4)
    assert s.pit == pytest.approx(stats.norm.cdf(y, mu, sd), abs=1e-3)
    if abs(y - mu) <= 2 * sd:
        assert s.log_score == pytest.approx(stats.norm.logpdf(y, mu, sd), abs=0.01)
    if y < stats.norm.ppf(LEVELS[0], mu, sd):
        assert s.log_score is None and s.pit == 0.0


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the priors and a forecast of the base case that saved its draws."""
    root = tmp_path_factory.mktemp("q")
    shutil.copytree(ROOT / "priors", root / "priors")
    r = runner.invoke(app, ["run", str(root / "priors" / "base.toml"), "--save-draws", "--out",
                            str(root / "base"), "-q"])
    assert r.exit_code == 0, r.output
    return root


# The day the 10-K has landed: a resolution is recorded once it is known, so these tests
# set the ledger's clock (SOURCE_DATE_EPOCH, as a pipeline would) to 2027-03-01.
AFTER_10K = "1803859200"


def test_aws_revenue_resolved_scores_as_the_runs_own_draws_do(project, tmp_path, monkeypatch):
    """aws_revenue[2026] resolved at 171.3: ledger.json's CRPS within 2% of the unbiased
    CRPS of the run's draws.parquet (in fact far closer)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AFTER_10K)
    led = tmp_path / "l.sqlite"
    assert invoke("ledger", "record", project / "base", "--ledger", led, "--date", "2026-12-01").exit_code == 0
    r = invoke("ledger", "resolve", "aws_revenue[2026]", "--value", 171.3, "--date", "2027-02-05",
               "--source", "Amazon 10-K", "--ledger", led)
    assert r.exit_code == 0 and r.output == f"aws_revenue[2026]: resolved at 171.3 in {led}\n"
    assert invoke("ledger", "report", "--ledger", led, "--out", tmp_path / "rep", "-q").exit_code == 0
    got = json.loads((tmp_path / "rep" / "ledger.json").read_text())["quantities"]["aws_revenue[2026]"]
    (s,) = got["scores"]
    x = np.sort(pl.read_parquet(project / "base" / "draws.parquet")["aws_revenue_y2026"].to_numpy())
    n, y = len(x), 171.3
    direct = np.mean(np.abs(x - y)) - 2 * np.sum((2 * np.arange(n) - n + 1) * x) / (2 * n * (n - 1))
    assert s["crps"] == pytest.approx(direct, rel=0.02)
    assert abs(s["crps"] - direct) <= 4 * s["crps_mcse"]
    assert s["pit"] == pytest.approx(np.mean(x <= y), abs=1e-3)
    assert "CRPS" in (tmp_path / "rep" / "ledger.html").read_text()
    assert "aws_revenue[2026]  -> 171.3 (2027-02-05)" in invoke("ledger", "show", "--ledger", led).output


def test_bad_resolutions_are_one_line_and_change_nothing(project, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AFTER_10K)
    led = tmp_path / "l.sqlite"
    assert invoke("ledger", "record", project / "base", "--ledger", led, "--date", "2026-12-01").exit_code == 0
    before = led.read_bytes()
    cases = [
        (["nvidia_share[2040]", "--value", 0.4], f"riskmc: error: {led}: no recorded run forecasts "
         "'nvidia_share[2040]' (recorded: nvidia_share[2025], nvidia_share[2026], nvidia_share[2027], "
         "nvidia_share[2028], nvidia_share[2029], nvidia_share[2030])"),
        (["aws_revenue[2026]", "--value", "a lot"], "riskmc: error: invalid value for '--value': 'a lot' is not a "
         "valid float. (see 'riskmc ledger resolve --help')"),
        (["aws_revenue[2026]", "--value", 171.3, "--date", "2026-01-01"], f"riskmc: error: {led}: "
         "'aws_revenue[2026]' resolved on 2026-01-01, before its first recorded forecast (2026-12-01): nothing "
         "would be scored (check --date)"),
        (["aws_revenue[2026]"], "riskmc: error: give --outcome true|false for a claim, or --value X for a quantity"),
        (["aws_revenue[2026]", "--value", 171.3, "--date", "2027-03-02"], f"riskmc: error: {led}: "
         "'aws_revenue[2026]' resolved on 2027-03-02, after today (2027-03-01): an outcome is recorded once it is "
         "known; nothing was changed (check --date)"),
        (["C2", "--outcome", "false", "--date", "2027-03-02"], f"riskmc: error: {led}: 'C2' resolved on "
         "2027-03-02, after today (2027-03-01): an outcome is recorded once it is known; nothing was changed "
         "(check --date)"),
    ]
    for args, message in cases:
        date = [] if "--date" in args else ["--date", "2027-02-05"]
        r = invoke("ledger", "resolve", *args, *date, "--source", "s", "--ledger", led)
        assert r.exit_code == 2, args
        assert r.output.strip() == message
        assert led.read_bytes() == before


def test_a_model_that_prints_and_exits_while_recording_costs_the_quantities_only(tmp_path, monkeypatch):
    """ledger record re-creates a run's draws: a user model that prints and exits there is a
    one-line note; the claims are recorded and stdout carries none of the model's print."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.py").write_text(
        "import os, sys\nimport riskmc\n\n\ndef f(x, years):\n    if os.environ.get('RISKMC_TEST_BYE'):\n"
        "        print('hello from the model')\n        sys.exit(0)\n    return {'y': x['a'] * 1.0}\n\n\n"
        "MODEL = riskmc.Model('m', inputs=[riskmc.Input('a', 'x')], outputs=[riskmc.Output('y', 'x', headline=True)],"
        " vectorised=f)\n")
    (tmp_path / "p.toml").write_text('model = "models/m.py"\n[run]\nseed = 1\ndraws = 4096\n[priors.a]\n'
                                     'description = "a"\nunit = "x"\nsource = "t"\nfamily = "normal"\nmean = 0.0\n'
                                     'sd = 1.0\n[claims.up]\noutput = "y"\nabove = 0.0\n')
    assert invoke("run", "p.toml", "--out", "r", "--no-save-draws", "-q").exit_code == 0
    monkeypatch.setenv("RISKMC_TEST_BYE", "1")
    r = invoke("ledger", "record", "r", "--ledger", "l.sqlite")
    assert r.exit_code == 0
    assert r.stdout == "r: recorded (1 claim) in l.sqlite\n"
    assert "riskmc: note: r: its quantities are not recorded (model 'm': f failed at draw 0 with SystemExit" in r.stderr
