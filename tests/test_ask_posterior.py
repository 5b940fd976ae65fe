"""Asking a run with evidence: its posterior, re-created as the run weighed it. The answer
to a claim's event is the run's own posterior probability; the same bits from saved or
re-created draws and on any worker count; and over many seeds the weighted answers'
error bars cover known answers (a conjugate normal posterior)."""

import json
import math
import textwrap

import numpy as np
import pytest
from scipy import integrate, stats
from typer.testing import CliRunner

import riskmc
from riskmc.ask.query import ask
from riskmc.cli import app
from riskmc.runs import Run
from tests.conftest import ROOT
from tests.test_evidence import AWS136, MODEL_FILE, PRIORS

runner = CliRunner()


@pytest.fixture(scope="module")
def q4(tmp_path_factory):
    """The shipped Q4 update, run at 20,000 draws with its draws saved."""
    out = tmp_path_factory.mktemp("q4") / "run"
    res = runner.invoke(app, ["run", str(ROOT / "priors" / "base-q4-2025.toml"), "--draws", "20000", "--seed", "7",
                              "--save-draws", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


def _ask_json(folder, *args) -> dict:
    res = runner.invoke(app, ["ask", str(folder), *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_a_claims_event_is_the_runs_own_posterior_probability(q4):
    """P(C2's event) asked of the run is the run's posterior C2: the same PSIS weights, so
    the same number to rounding (and so within its MCSE)."""
    s = json.loads((q4 / "summary.json").read_text())
    assert s["evidence"]["method"] == "importance"
    a = _ask_json(q4, "aws_revenue[2026] > 154")
    c2 = s["claims"]["C2"]["probability"]
    assert a["probability"]["value"] == pytest.approx(c2["value"], rel=1e-9)
    assert a["probability"]["mcse"] == pytest.approx(c2["mcse"], rel=1e-9)
    assert abs(a["probability"]["value"] - c2["value"]) < c2["mcse"]
    for name, c in s["claims"].items():
        assert a["claims"][name]["probability"]["value"] == pytest.approx(c["probability"]["value"], rel=1e-9), name
    assert a["posterior"]["method"] == "importance"
    assert a["posterior"]["effective_draws"] == pytest.approx(s["evidence"]["diagnostics"]["importance"]["ess"],
                                                             rel=1e-9)
    # ... and not the prior's: AWS 2025 revenue was observed at 128.7 +- 0.3, which the
    # prior put anywhere in [126, 131].
    assert _ask_json(q4, "aws_revenue[2025] > 129.5")["probability"]["value"] < 0.02


def test_posterior_answers_are_the_same_from_saved_draws_and_on_any_workers(q4, tmp_path):
    """draws.parquet or the seed, one worker or two: the same bytes."""
    args = ["aws_revenue[2026] > 150", "--given", "nvidia_share[2030] < 0.6",
            "--stress", "P(nvidia_share[2030] < 0.55) = 0.5"]
    saved = runner.invoke(app, ["ask", str(q4), *args, "--json", "--workers", "1"])
    assert saved.exit_code == 0, saved.output
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in ("summary.json", "report.html", "manifest.json"):
        (bare / f).write_bytes((q4 / f).read_bytes())
    doc = json.loads((bare / "manifest.json").read_text())
    doc["files"] = {k: v for k, v in doc["files"].items() if k != "draws.parquet"}
    (bare / "manifest.json").write_text(json.dumps(doc))
    for workers in ("1", "2"):
        res = runner.invoke(app, ["ask", str(bare), *args, "--json", "--workers", workers])
        assert res.exit_code == 0, res.output
        assert res.output == saved.output
    a = json.loads(saved.output)
    assert a["given"]["effective_draws"] < a["given"]["draws"]
    assert "stress" in a and a["stress"]["ess"] > 0


def test_a_tempered_runs_answers_are_its_particles(tmp_path):
    """Evidence that surprises the prior: the run tempers, and ask re-creates its
    particles: its claim's event has the run's own probability and error, exactly."""
    p = tmp_path / "aws136.toml"
    p.write_text(AWS136.format(base=ROOT / "priors" / "base.toml", value=136.0, sd=0.3))
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(p), "--draws", "20000", "--seed", "1", "--out", str(out),
                               "--quiet"]).exit_code == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["evidence"]["method"] == "tempered"
    a = _ask_json(out, "aws_revenue[2026] > 154", "--given", "nvidia_share[2030] < 0.6")
    assert a["probability"] == s["claims"]["C2"]["probability"]
    assert a["posterior"] == {"method": "tempered", "replicates": 32, "particles": 32 * 312}
    # The conditional's error is the replicates' spread: wider than the pooled binomial's.
    n = a["given"]["draws"]
    p_c = a["conditional"]["value"]
    assert a["conditional"]["mcse"] >= math.sqrt(p_c * (1 - p_c) / n) * 0.5


# ------------------------------------------------------------------ coverage on a known posterior
@pytest.fixture(scope="module")
def lin(tmp_path_factory):
    d = tmp_path_factory.mktemp("lin")
    (d / "lin.py").write_text(MODEL_FILE)
    (d / "post.toml").write_text(textwrap.dedent(PRIORS)
                                 + '[evidence.obs]\ninput = "a"\nvalue = 4.0\nsd = 1.0\nsource = "test"\n')
    (d / "prior.toml").write_text(textwrap.dedent(PRIORS))
    return d


def _coverage(path, exact: dict, questions, seeds, draws) -> dict:
    """Share of seeds whose answer lies within 2 of its own MCSE of the exact value."""
    z = {k: [] for k in exact}
    for seed in seeds:
        r = riskmc.run(path, draws=draws, seed=seed, workers=1)
        got = questions(Run.of(r.summary, r.priors))
        for k, e in exact.items():
            z[k].append(abs(got[k]["value"] - e) / got[k]["mcse"])
    return {k: float(np.mean(np.array(v) < 2)) for k, v in z.items()}


def _after(res: dict) -> dict:
    return {m["name"]: m["after"] for m in res["moved"]}


def test_weighted_answers_error_bars_cover(lin):
    """y = 2a + b, a ~ N(1, 2^2) observed at 4 +- 1, so a's posterior is N(3.4, 0.894^2),
    b ~ N(0, 1) apart. Over 200 seeds of 4,096 draws each weighted answer lies within 2
    MCSE of the exact value 90% to 99% of the time (about 95% expected; three binomial
    sds either side): an event, a conditional probability, means given a condition, a
    probability stress (the mixture's mean and p95) and a mean stress (tilting a normal
    keeps its sd; the claim follows)."""
    mu, sd = 3.4, 1.25 ** -0.5
    q = stats.norm.sf(0.5)
    za = (4 - mu) / sd
    exact = {
        "event": stats.norm.sf(4, mu, sd),
        "conditional": integrate.quad(lambda b: stats.norm.pdf(b) * stats.norm.sf((8 - b) / 2, mu, sd),
                                      0.5, np.inf)[0] / q,
        "b given": stats.norm.pdf(0.5) / q, "a given": mu,
        "stressed mean": 0.5 * (mu + sd * stats.norm.pdf(za) / stats.norm.sf(za))
        + 0.5 * (mu - sd * stats.norm.pdf(za) / stats.norm.cdf(za)),
        "stressed p95": mu + sd * stats.norm.isf(0.1 * stats.norm.sf(za)),
        "tilted sd": sd, "tilted claim": stats.norm.sf(5, 6, math.sqrt(4 * sd * sd + 1))}

    def questions(run):
        a1 = ask(run, "y > 8", given="b > 0.5", workers=1)
        a2 = ask(run, stress="P(a > 4) = 0.5", workers=1)
        a3 = ask(run, "a > 4", stress="mean(a) = 3.0", workers=1)
        assert a3["posterior"]["method"] == "importance"
        g, s2, s3 = _after(a1), _after(a2["stress"]), _after(a3["stress"])
        return {"event": a3["probability"], "conditional": a1["conditional"], "b given": g["b"]["mean"],
                "a given": g["a"]["mean"], "stressed mean": s2["a"]["mean"], "stressed p95": s2["a"]["p95"],
                "tilted sd": s3["a"]["sd"], "tilted claim": a3["stress"]["claims"]["big"]}
    cover = _coverage(str(lin / "post.toml"), exact, questions, range(200), 4_096)
    for k, v in cover.items():
        assert 0.90 <= v <= 0.99, (k, cover)


def test_mean_stress_error_bars_cover(lin):
    """Tilting a prior run to mean(a) = 3 (a ~ N(1, 2^2)): the tilted a is N(3, 2^2), b
    and p do not move, and y = 2a + b is N(6, 17). The estimates' errors follow the
    delta method with the tilt's constraint; over 300 seeds of 16,384 draws they cover
    90% to 99%, except the stressed input's own sd, whose error estimate is itself noisy
    where its weights are largest: 90.0% to 93.3% seen in `make validate`, 87% asked."""
    exact = {"a sd": 2.0, "b mean": 0.0, "p mean": 0.4, "y mean": 6.0, "claim": stats.norm.sf(5, 6, math.sqrt(17))}

    def questions(run):
        a = ask(run, stress="mean(a) = 3.0", workers=1)
        m = _after(a["stress"])
        return {"a sd": m["a"]["sd"], "b mean": m["b"]["mean"], "p mean": m["p"]["mean"], "y mean": m["y"]["mean"],
                "claim": a["stress"]["claims"]["big"]}
    cover = _coverage(str(lin / "prior.toml"), exact, questions, range(300), 16_384)
    for k, v in cover.items():
        assert (0.87 if k == "a sd" else 0.90) <= v <= 0.99, (k, cover)


def test_export_gives_each_draw_its_posterior_weight(q4, tmp_path):
    """The exported draws of an importance-sampled run carry the run's own weights: the
    weighted mean of a column is the run's posterior mean, their ESS the run's."""
    import polars as pl
    res = runner.invoke(app, ["export", str(q4), "--csv", "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    d = pl.read_csv(tmp_path / "x" / "draws.csv")
    s = json.loads((q4 / "summary.json").read_text())
    w = d["weight"].to_numpy()
    assert w.mean() == pytest.approx(1.0)
    x = d["aws_revenue_y2026"].to_numpy()
    assert (w * x).sum() / w.sum() == pytest.approx(s["outputs"]["aws_revenue"]["years"]["2026"]["mean"]["value"],
                                                   rel=1e-12)
    assert (w * (x > 154)).sum() / w.sum() == pytest.approx(s["claims"]["C2"]["probability"]["value"], rel=1e-9)
    assert w.sum() ** 2 / (w * w).sum() == pytest.approx(s["evidence"]["diagnostics"]["importance"]["ess"], rel=1e-9)
