"""Experts weighted by their record (Cooke's classical model): known calibrations, and a
synthetic history in which one expert is calibrated and the other overconfident; the run
keeps the weights it used when the ledger learns more."""

import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from riskmc.cli import app
from riskmc.loading import load
from riskmc.store import cooke

runner = CliRunner()

N = 12  # resolved items in the synthetic history
MODEL = f'''
import riskmc


def total(x, years):
    return {{"y": sum(x[f"q{{i}}"] for i in range(1, {N + 1}))}}


MODEL = riskmc.Model("qs", inputs=[riskmc.Input(f"q{{i}}") for i in range(1, {N + 1})],
                     outputs=[riskmc.Output("y", headline=True)], vectorised=total)
'''


def test_calibration_is_one_when_the_bins_fill_as_stated():
    """20 values falling 1, 9, 9, 1 in an expert's four bins are exactly what a calibrated
    expert expects: I(s, p) = 0, so C = 1."""
    q = np.array([-1.0, 0.0, 1.0])
    values = [-2.0] + [-0.5] * 9 + [0.5] * 9 + [2.0]
    items = {f"v{k}": (v, {"a": q}) for k, v in enumerate(values)}
    rec = cooke.records(items)["a"]
    assert rec.items == 20 and rec.calibration == pytest.approx(1.0, abs=1e-12)


def test_calibration_of_an_expert_who_always_misses():
    """Half the values below the 5% quantile, half above the 95%: s = (1/2, 0, 0, 1/2), so
    I(s, p) = ln 10 and C = P(chi2_3 >= 2 N ln 10)."""
    q = np.array([-0.1, 0.0, 0.1])
    items = {f"v{k}": (v, {"a": q}) for k, v in enumerate([-1.0, 1.0] * 10)}
    rec = cooke.records(items)["a"]
    assert rec.calibration == pytest.approx(stats.chi2.sf(2 * 20 * math.log(10), 3), rel=1e-9)
    # Information: an item valued -1 has the intrinsic range [-1, 0.1] widened by 10% of
    # its 1.1 on each side, [-1.11, 0.21]; an item valued 1 its mirror image.
    r = np.diff([-1.11, -0.1, 0.0, 0.1, 0.21]) / 1.32
    assert rec.information == pytest.approx(float(np.sum(cooke.P * np.log(cooke.P / r))), rel=1e-12)


@pytest.fixture()
def history(tmp_path):
    """A recorded forecast in which expert `calib` states N(mu_i, 1) and expert `over`
    N(mu_i + 0.5, 0.2) for twelve priors, and the values, drawn from N(mu_i, 1), resolved."""
    (tmp_path / "qs.py").write_text(MODEL)
    mu = np.linspace(-3, 3, N)
    lines = ['model = "qs.py"', 'title = "history"']
    for i, m in enumerate(mu, 1):
        lines += [f"[priors.q{i}]", f'description = "q{i}"', 'unit = "x"',
                  f"[priors.q{i}.experts.calib]", f"range = [{m - 1.6449:.4f}, {m + 1.6449:.4f}]", 'source = "t"',
                  f"[priors.q{i}.experts.over]", f"range = [{m + 0.171:.4f}, {m + 0.829:.4f}]", 'source = "t"']
    lines += ["[claims.up]", 'output = "y"', "above = 0.0"]
    (tmp_path / "history.toml").write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["run", str(tmp_path / "history.toml"), "--out", str(tmp_path / "h"), "--draws",
                              "2000", "--seed", "1", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["ledger", "record", str(tmp_path / "h"), "--date", "2026-01-01", "--as-forecast"])
    assert res.exit_code == 0, res.output
    truth = mu + np.random.default_rng(3).normal(size=N)
    for i, v in enumerate(truth, 1):
        res = runner.invoke(app, ["ledger", "resolve", f"q{i}", "--value", repr(float(v)), "--date", "2026-06-01",
                                  "--source", "t", "--ledger", str(tmp_path / "ledger.sqlite")])
        assert res.exit_code == 0, res.output
    (tmp_path / "weighted.toml").write_text('extends = "history.toml"\n'
                                            '[priors.q1.experts.calib]\nweight = "record"\n'
                                            '[priors.q1.experts.over]\nweight = "record"\n')
    return tmp_path


def test_the_calibrated_expert_earns_the_weight(history):
    ps = load(history / "weighted.toml")
    calib, over = ps.priors["q1"].experts
    assert calib.record.items == over.record.items == N
    # The calibrated expert's values fall as stated; the overconfident one's miss its
    # 90% range most of the time (its range covers N(mu, 1) with probability ~0.2).
    assert calib.record.calibration > 0.05 > 1e-4 > over.record.calibration
    assert over.record.information > calib.record.information   # sharper, and wrong
    assert calib.weight > 0.99 and calib.weight + over.weight == pytest.approx(1.0)
    # The pool is the record-weighted mixture.
    assert ps.priors["q1"].family.weights == pytest.approx((calib.weight, over.weight))


def test_priors_show_and_the_run_say_the_record(history):
    res = runner.invoke(app, ["priors", "show", str(history / "weighted.toml")])
    assert res.exit_code == 0
    assert "      weighted by record: 12 resolved views, calibration " in res.output
    assert "(equal weights: 50%)" in res.output
    res = runner.invoke(app, ["run", str(history / "weighted.toml"), "--out", str(history / "w"), "--draws", "2000",
                              "--seed", "1", "-q"])
    assert res.exit_code == 0, res.output
    experts = json.loads((history / "w" / "summary.json").read_text())["inputs"]["q1"]["experts"]
    assert [x["record"]["resolved"] for x in experts] == [N, N]
    html = (history / "w" / "report.html").read_text()
    assert "by record (equal: 50%): 12 resolved views" in html and "thin dark line" in html


def test_a_run_keeps_the_weights_it_used(history):
    """The ledger learns more after the run: the run's draws are re-created from the pool
    it drew (ask answers as the run did), and verify says stale (exit 7)."""
    out = history / "w"
    res = runner.invoke(app, ["run", str(history / "weighted.toml"), "--out", str(out), "--draws", "2000",
                              "--seed", "1", "-q"])
    assert res.exit_code == 0, res.output
    before = json.loads((out / "summary.json").read_text())["claims"]["up"]["probability"]
    res = runner.invoke(app, ["ledger", "resolve", "q1", "--value", "-2.5", "--date", "2026-06-01", "--source",
                              "revised", "--ledger", str(history / "ledger.sqlite"), "--replace"])
    assert res.exit_code == 0, res.output
    now = load(history / "weighted.toml").priors["q1"].family.weights
    was = json.loads((out / "summary.json").read_text())["inputs"]["q1"]["distribution"]["extra"]["weights"]
    assert tuple(now) != tuple(was)
    from riskmc.runs import Run
    assert Run.open(out).priors.priors["q1"].family.weights == tuple(was)
    res = runner.invoke(app, ["ask", str(out), "y > 0", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["probability"] == before
    res = runner.invoke(app, ["verify", str(out)])
    assert res.exit_code == 7
    assert "stale: the experts of q1 are weighted by their record, and the ledger weighs them otherwise" in res.output


def test_record_weights_need_a_record(history):
    (history / "lone.toml").write_text('extends = "history.toml"\n[priors.q1.experts.calib]\nweight = "record"\n'
                                       '[priors.q1.experts.over]\nweight = 2\n')
    res = runner.invoke(app, ["priors", "check", str(history / "lone.toml")])
    assert res.exit_code == 3
    assert "lone.toml:5: prior 'q1': expert 'over' has a number for a weight while others are weighted by their " \
           "record" in res.output
    fresh = history / "fresh"
    fresh.mkdir()
    for name in ("qs.py", "history.toml", "weighted.toml"):
        (fresh / name).write_text((history / name).read_text())
    res = runner.invoke(app, ["priors", "check", str(fresh / "weighted.toml")])
    assert res.exit_code == 3
    assert "weighted.toml:3: prior 'q1': weight = \"record\" reads the experts' track record from " in res.output
    assert "there is no ledger there yet" in res.output


def test_a_record_weighted_run_depends_on_its_ledger(history):
    """make rebuilds a run whose experts are weighted by their record when the ledger
    changes: the depfile lists the ledger beside the priors files and the model; a run
    with numbers for weights does not."""
    res = runner.invoke(app, ["run", str(history / "weighted.toml"), "--out", str(history / "w"), "--draws", "2000",
                              "--seed", "1", "-q", "--depfile", str(history / "w.d")])
    assert res.exit_code == 0, res.output
    rule = (history / "w.d").read_text()
    assert str(history / "ledger.sqlite") in rule and str(history / "history.toml") in rule
    res = runner.invoke(app, ["run", str(history / "history.toml"), "--out", str(history / "e"), "--draws", "2000",
                              "--seed", "1", "-q", "--depfile", str(history / "e.d")])
    assert res.exit_code == 0, res.output
    assert "ledger.sqlite" not in (history / "e.d").read_text()
