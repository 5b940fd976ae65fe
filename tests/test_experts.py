"""Several experts on one prior: pools with known answers (mixture moments, the log pool
of normals), sampling through the compiled tables, the loader's handling of weights and
names, and "which expert is right" as a Sobol factor with a known index."""

import json
import math
import textwrap

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from riskmc.cli import app
from riskmc.kernel.marginals import Marginals
from riskmc.loading import load as load_file
from riskmc.model import Input
from riskmc.priors.families import make
from riskmc.priors.families import rebuild as from_dict
from riskmc.priors.families import record as to_dict
from riskmc.priors.families.pool import make_pool, overlap
from tests.conftest import ROOT

runner = CliRunner()

# Deterministic quadrature: the pool's quantiles at a fine midpoint grid of u, so moments
# are exact to the grid's error (no Monte Carlo here).
U = (np.arange(2 ** 20) + 0.5) / 2 ** 20


def normals(*pairs):
    return [make("normal", {"mean": m, "sd": s}) for m, s in pairs]


def test_linear_pool_of_normals_has_the_mixture_moments():
    parts, w = normals((0.0, 1.0), (5.0, 2.0), (-3.0, 0.5)), [0.5, 0.3, 0.2]
    pool = make_pool(parts, w)
    mean = 0.5 * 0 + 0.3 * 5 + 0.2 * -3
    var = 0.5 * (1 + 0) + 0.3 * (4 + 25) + 0.2 * (0.25 + 9) - mean ** 2
    x = pool.ppf(U)
    assert x.mean() == pytest.approx(mean, abs=1e-3)
    assert x.var() == pytest.approx(var, rel=1e-3)
    # Its CDF is the weighted sum of the experts' CDFs, exactly.
    grid = np.linspace(-6, 12, 101)
    exact = sum(wk * stats.norm(p.mean, p.sd).cdf(grid) for wk, p in zip(w, parts))
    np.testing.assert_allclose(pool.cdf(grid), exact, atol=1e-15)


def test_pool_quantiles_the_sampler_reads_match_exact_ones():
    """The table the compiled sampler reads (bulk and tails) against bisection on the CDF,
    within 1e-6 of the pool's spread: the standard every other family's table meets."""
    pool = make_pool([make("beta", {"a": 25.45, "b": 38.47}), make("beta", {"a": 17.0, "b": 47.0})], [1, 1])
    # Up to 1 - 1e-9 only: a CDF near one holds 1 - u to about 1e-16, so past that even
    # the "exact" quantiles carry the rounding.
    u = np.concatenate([np.geomspace(1e-12, 0.5, 400), 1 - np.geomspace(1e-9, 0.5, 400)])
    exact = pool.quantiles(u)
    spread = float(np.diff(pool.quantiles([0.05, 0.95]))[0])
    spec = Input("s", "fraction", lower=0.0, upper=1.0)

    class P:  # the least a PriorSet offers Marginals
        priors = {"s": type("Prior", (), {"family": pool})()}

    out = np.empty((1, len(u)))
    Marginals(P, (spec,))(u[None, :].copy(), out)
    assert np.max(np.abs(out[0] - exact)) < 1e-6 * spread


def test_log_pool_of_normals_is_the_precision_weighted_normal():
    parts, w = normals((1.0, 1.0), (4.0, 2.0)), [0.3, 0.7]
    pool = make_pool(parts, w, "log")
    tau = 0.3 / 1 + 0.7 / 4
    mu = (0.3 * 1 / 1 + 0.7 * 4 / 4) / tau
    u = np.linspace(1e-6, 1 - 1e-6, 1001)
    np.testing.assert_allclose(pool.ppf(u), stats.norm(mu, 1 / math.sqrt(tau)).ppf(u), atol=1e-5)
    x = np.linspace(-2, 6, 50)
    np.testing.assert_allclose(pool.pdf(x), stats.norm(mu, 1 / math.sqrt(tau)).pdf(x), rtol=1e-5)


def _lognormal(mu, sigma):
    return make("lognormal", {"mu": mu, "sigma": sigma})


@pytest.mark.parametrize("parts, w, exact", [
    # Normals far apart: the log pool sits between them, as narrow as they are.
    (normals((0.0, 0.6), (100.0, 0.6)), [1, 1], stats.norm(50.0, 0.6)),
    # Lognormals over decades: lognormal, precision-weighted in log space.
    ([_lognormal(1.0, 1.4), _lognormal(2.0, 2.1)], [0.5, 0.5],
     stats.lognorm(1 / math.sqrt(0.5 / 1.4 ** 2 + 0.5 / 2.1 ** 2),
                   scale=math.exp((0.5 * 1.0 / 1.4 ** 2 + 0.5 * 2.0 / 2.1 ** 2) / (0.5 / 1.4 ** 2 + 0.5 / 2.1 ** 2)))),
    # Betas: x^(sum w(a-1)) (1-x)^(sum w(b-1)), a beta again, also piled against an end.
    ([make("beta", {"a": 2.0, "b": 30.0}), make("beta", {"a": 1.5, "b": 10.0})], [0.3, 0.7],
     stats.beta(0.3 * 2.0 + 0.7 * 1.5, 0.3 * 30.0 + 0.7 * 10.0)),
    ([make("beta", {"a": 0.5, "b": 0.5})] * 2, [1, 1], stats.beta(0.5, 0.5)),
], ids=["normals-far-apart", "lognormals", "betas", "beta-half"])
def test_log_pools_with_known_answers(parts, w, exact):
    pool = make_pool(parts, w, "log")
    u = np.array([1e-4, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1 - 1e-4])
    spread = exact.ppf(0.95) - exact.ppf(0.05)
    np.testing.assert_allclose(pool.ppf(u), exact.ppf(u), rtol=1e-5, atol=1e-6 * spread)


def test_weights_are_used_in_proportion_and_the_family_round_trips():
    pool = make_pool(normals((0, 1), (3, 1)), [2, 1])
    assert pool.weights == pytest.approx((2 / 3, 1 / 3))
    again = from_dict(to_dict(pool))
    assert again == pool and again.quantiles([0.5]) == pytest.approx(pool.quantiles([0.5]))


def test_overlap_of_intervals():
    assert overlap((0, 2), (1, 3)) == pytest.approx(1 / 3)
    assert overlap((0, 1), (2, 3)) == 0.0
    assert overlap((0, 1), (0, 1)) == 1.0


# ------------------------------------------------------------------ priors files
MODEL_FILE = '''
import riskmc


def f(x, years):
    return {"y": x["s"] + x["t"]}


MODEL = riskmc.Model("m", inputs=[riskmc.Input("s", "x"), riskmc.Input("t", "x")],
                     outputs=[riskmc.Output("y", "x", headline=True)], vectorised=f)
'''

HEAD = '''model = "m.py"
[priors.t]
description = "t"
unit = "x"
source = "test"
family = "normal"
mean = 0.0
sd = 1.0
[priors.s]
description = "s"
unit = "x"
'''

TWO = '''[priors.s.experts.ann]
family = "normal"
mean = 0.0
sd = 1.0
source = "Ann's note"
[priors.s.experts.bob]
p05 = 2.0
p95 = 6.0
family = "normal"
source = "Bob's note"
'''


@pytest.fixture
def files(tmp_path):
    (tmp_path / "m.py").write_text(MODEL_FILE)

    def write(body, name="p.toml"):
        path = tmp_path / name
        path.write_text(HEAD + textwrap.dedent(body))
        return path

    write.dir = tmp_path
    return write


def test_experts_pool_into_the_prior(files):
    ps = load_file(files(TWO))
    p = ps.priors["s"]
    assert p.pool == "linear" and [x.name for x in p.experts] == ["ann", "bob"]
    assert [x.weight for x in p.experts] == [0.5, 0.5]
    assert p.experts[1].family.mean == pytest.approx(4.0)
    assert p.family.cdf(np.array(2.0)) == pytest.approx(0.5 * stats.norm.cdf(2.0) + 0.5 * 0.05, abs=1e-9)
    assert p.source == "ann: Ann's note; bob: Bob's note"
    assert not ps.warnings
    d = p.as_dict()
    assert d["disagreement"] == [{"a": "ann", "b": "bob", "overlap": pytest.approx(
        overlap((-1.6448536, 1.6448536), (2.0, 6.0)))}]


@pytest.mark.parametrize("body, line, message", [
    (TWO.replace('source = "Ann\'s note"', 'source = "Ann\'s note"\nweight = 2'), 18,
     "prior 's': expert 'bob' has no weight, though 'ann' has one (give every expert a weight, or none "
     "(equal weights))"),
    (TWO.replace("mean = 0.0\nsd = 1.0\nsource", "source"), 12,
     "prior 's', expert 'ann': no distribution given"),
    (TWO + 'weight = 0\n', 22,
     "prior 's', expert 'bob': weight must be positive, got 0 (to leave this expert out, delete or "
     "comment out their table)"),
    ('pool = "geometric"\n' + TWO, 12,
     "prior 's': pool must be \"linear\" (a mixture of the experts: the default) or \"log\" (a compromise "
     "between them), got 'geometric'"),
    ('range = [0, 1]\n' + TWO, 12,
     "prior 's': give the distribution in each expert's table, not here ('range')"),
    (TWO.replace("source = \"Bob's note\"", "source = \"Bob's note\"\nconfidance = 0.8"), 22,
     "prior 's', expert 'bob': unknown key 'confidance'"),
    (TWO.replace("source = \"Ann's note\"\n", ""), 12, "prior 's', expert 'ann': missing 'source'"),
])
def test_bad_experts_one_line_exit_3_nothing_written(files, tmp_path, body, line, message):
    path = files(body)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(path), "--draws", "4096", "--out", str(out), "--quiet"])
    assert res.exit_code == 3, res.output
    text = res.output.strip()
    assert len(text.splitlines()) == 1
    assert text.startswith(f"riskmc: error: {path}:{line}: {message}"), text
    assert not out.exists()


def test_unknown_expert_in_a_scenario_gets_did_you_mean(files, tmp_path):
    path = files(TWO + '[scenarios.trust_bob.priors.s.experts.bobb]\nweight = 3\n')
    res = runner.invoke(app, ["priors", "check", str(path)])
    assert res.exit_code == 3
    assert res.output.strip().endswith("prior 's', expert 'bobb': is not one of this prior's experts (ann, bob): "
                                       "did you mean 'bob'? (a new expert needs a range or quantiles, and a "
                                       "source)"), res.output


def test_weights_not_summing_to_one_and_a_single_expert_are_noted(files):
    body = TWO.replace("source = \"Ann's note\"", "source = \"Ann's note\"\nweight = 2").replace(
        "source = \"Bob's note\"", "source = \"Bob's note\"\nweight = 1")
    ps = load_file(files(body))
    assert [x.weight for x in ps.priors["s"].experts] == pytest.approx([2 / 3, 1 / 3])
    assert any("the experts' weights sum to 3, so they count in proportion: ann 0.667, bob 0.333" in w
               for w in ps.warnings), ps.warnings
    one = load_file(files(TWO.split("[priors.s.experts.bob]")[0]))
    assert one.priors["s"].family.quantiles([0.5]) == pytest.approx([0.0], abs=1e-9)
    assert any("prior 's' has one expert, so there is nothing to pool" in w for w in one.warnings)


def test_a_scenario_weighs_one_expert_of_an_equal_pool(files):
    """The README's example: the others keep weight 1."""
    p = load_file(files(TWO + '[scenarios.trust_bob.priors.s.experts.bob]\nweight = 3\n'),
                  scenario="trust_bob").priors["s"]
    assert [x.weight for x in p.experts] == pytest.approx([0.25, 0.75])


def test_a_scenario_changes_one_experts_weight(files):
    path = files(TWO.replace("source = \"Ann's note\"", "source = \"Ann's note\"\nweight = 1").replace(
        "source = \"Bob's note\"", "source = \"Bob's note\"\nweight = 1")
        + '[scenarios.trust_bob.priors.s.experts.bob]\nweight = 3\n')
    p = load_file(path, scenario="trust_bob").priors["s"]
    assert [x.weight for x in p.experts] == pytest.approx([0.25, 0.75])
    assert p.experts[1].family.mean == pytest.approx(4.0)


def test_which_expert_is_right_has_its_known_share_of_the_variance(files):
    """y = s + t, s pooled from N(0, 1) and N(4, 1) (equal weights), t ~ N(0, 1):
    Var(E[y | expert]) = 4 and Var(y) = 1 + 4 + 1, so which expert is right explains
    4/6 of it, and s as a whole (expert and view) 5/6."""
    import riskmc
    res = riskmc.sensitivity(_bob_at_four(files, claim=False), draws=2 ** 13, seed=3, workers=2)
    (entry,) = res["experts"]
    s1 = entry["S1"]["y"]
    assert s1["value"] == pytest.approx(4 / 6, abs=0.02)
    assert s1["ci"][0] - 0.01 <= 4 / 6 <= s1["ci"][1] + 0.01
    rows = {r["factor"]: r for r in res["outputs"]["y"]["sobol"]}
    assert rows["s"]["S1"] == pytest.approx(5 / 6, abs=0.03)
    # If each is right, E[y] is their mean: 0 and 4, within 4 MCSE.
    for x, truth in zip(entry["experts"], (0.0, 4.0)):
        m = x["if_right"]["y"]
        assert abs(m["mean"] - truth) < 4 * m["mcse"], (x["expert"], m)


def test_whom_you_believe_agrees_with_itself_when_the_pooled_prior_is_correlated(files):
    """With s ~ t correlated, the means and the probabilities if each expert is right
    come from the same weighed draws of the run, so they cannot contradict each other."""
    import riskmc
    body = TWO.replace("p05 = 2.0\np95 = 6.0\nfamily = \"normal\"", "family = \"normal\"\nmean = 4.0\nsd = 1.0")
    path = files(body + '[claims.high]\noutput = "y"\nabove = 2.0\n[correlations]\n"s ~ t" = 0.9\n')
    res = riskmc.sensitivity(path, draws=1024, seed=4, workers=1)
    ann, bob = res["experts"][0]["experts"]
    assert bob["if_right"]["y"]["mean"] - ann["if_right"]["y"]["mean"] > 3.0
    assert bob["claims_if_right"]["high"]["value"] > ann["claims_if_right"]["high"]["value"] + 0.5
    assert res["experts"][0]["S1"]["y"]["value"] > 0.4


def test_the_shipped_experts_file_shows_pool_and_disagreement(tmp_path):
    out = tmp_path / "ex"
    res = runner.invoke(app, ["run", str(ROOT / "priors" / "experts.toml"), "--draws", "20000", "--out", str(out),
                              "--quiet"])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "2 experts, pooled linearly" in html
    assert "Disagreement: the 90% intervals of cloud and semis overlap by 19%" in html
    # Whom you believe: a factor of the sensitivity analysis, in the report; both files
    # pass their schemas when the report is re-rendered from them.
    res = runner.invoke(app, ["sensitivity", str(ROOT / "priors" / "experts.toml"), "--draws", "1024", "--out",
                              str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    sens = json.loads((out / "sensitivity.json").read_text())
    assert [e["prior"] for e in sens["experts"]] == ["custom_share_2030"]
    assert 0 < sens["experts"][0]["S1"]["nvidia_share"]["value"] < 1
    assert runner.invoke(app, ["report", str(out), "--quiet"]).exit_code == 0
    html = (out / "report.html").read_text()
    assert "Whom you believe: custom share 2030" in html
    assert "Which expert is right explains " in html and "<th scope=\"col\">if cloud is right</th>" in html
    assert set(sens["experts"][0]["experts"][0]["claims_if_right"]) == {"C1", "C2", "C3", "C4"}
    show = runner.invoke(app, ["priors", "show", str(ROOT / "priors" / "experts.toml")])
    assert "    expert cloud (50%): beta(" in show.output
    assert "  disagreement: the 90% intervals of cloud and semis overlap by 19%" in show.output


def _bob_at_four(files, claim=True):
    body = TWO.replace("p05 = 2.0\np95 = 6.0\nfamily = \"normal\"", "family = \"normal\"\nmean = 4.0\nsd = 1.0")
    return files(body + ('[claims.high]\noutput = "y"\nabove = 2.0\n' if claim else ""))


def test_claims_if_each_expert_is_right_known_answer(files):
    """y = s + t: if ann is right y ~ N(0, 2), if bob is right y ~ N(4, 2); so
    P(y > 2) is 1 - Phi(sqrt 2) = 0.0786 if ann is right, Phi(sqrt 2) = 0.9214 if bob is."""
    import riskmc
    res = riskmc.sensitivity(_bob_at_four(files), draws=1024, seed=5, workers=1)
    (entry,) = res["experts"]
    truth = {"ann": stats.norm.sf(math.sqrt(2)), "bob": stats.norm.cdf(math.sqrt(2))}
    for x in entry["experts"]:
        p = x["claims_if_right"]["high"]
        assert abs(p["value"] - truth[x["expert"]]) < 4 * p["mcse"], (x["expert"], p)


def test_claims_if_right_errors_cover_over_many_seeds(files, monkeypatch):
    """The weighted estimate's MCSE is honest: over 400 seeds of 2,000 draws each, the
    truth lies within 2 MCSE about 95% of the time (fixed seeds: the count is fixed)."""
    import riskmc.analyze.experts
    from riskmc.analyze.experts import whom
    monkeypatch.setattr(riskmc.analyze.experts, "BOOTSTRAP_WHOM", 2)  # S1's intervals are not what this checks
    ps = load_file(_bob_at_four(files))
    truth = stats.norm.sf(math.sqrt(2))  # if ann is right
    inside = 0
    for seed in range(400):
        rng = np.random.default_rng(seed)
        k = rng.random(2000) < 0.5
        s = np.where(k, rng.normal(4.0, 1.0, 2000), rng.normal(0.0, 1.0, 2000))
        t = rng.normal(0.0, 1.0, 2000)
        p = whom(ps, ps.model, {"s": s, "t": t}, {"y": s + t}, {"y": s + t}, seed)[0]["experts"][0][
            "claims_if_right"]["high"]
        inside += abs(p["value"] - truth) < 2 * p["mcse"]
    assert 0.92 <= inside / 400 <= 0.98, inside


def test_a_log_pool_of_experts_who_share_nothing_is_noted(files):
    body = 'pool = "log"\n' + TWO.replace("p05 = 2.0\np95 = 6.0", "p05 = 5.0\np95 = 9.0")
    ps = load_file(files(body))
    assert any("experts ann and bob share no value in their 90% intervals; a log pool finds a compromise that "
               "neither of them believes: pool = \"linear\" keeps both views" in w for w in ps.warnings), ps.warnings


def test_a_weight_that_is_not_a_number(files, tmp_path):
    path = files(TWO + 'weight = "50%"\n')
    res = runner.invoke(app, ["priors", "check", str(path)])
    assert res.exit_code == 3
    assert res.output == (f"riskmc: error: {path}:22: prior 's', expert 'bob': weight must be a number, got '50%' "
                          "(e.g. weight = 2 counts this expert twice as much as one with weight = 1; weight = \"record\" "
                          "weighs them by their track record)\n")


def test_three_experts_name_the_two_furthest_apart():
    from riskmc.report import fmt
    pairs = [{"a": "ann", "b": "bob", "overlap": 0.5}, {"a": "ann", "b": "cy", "overlap": 0.1},
             {"a": "bob", "b": "cy", "overlap": 0.3}]
    assert fmt.disagreement(pairs).startswith("the 90% intervals of ann and cy, the two experts furthest apart, "
                                              "overlap by 10%")


def test_sensitivity_refuses_a_run_folder_of_other_priors(files, tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(files(TWO)), "--draws", "4096", "--out", str(out), "--quiet"]).exit_code == 0
    other = files(TWO.replace("mean = 0.0\nsd = 1.0", "mean = 1.0\nsd = 1.0"), name="q.toml")
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    res = runner.invoke(app, ["sensitivity", str(other), "--draws", "256", "--out", str(out), "--quiet"])
    assert res.exit_code == 2
    assert res.output == (f"riskmc: error: {out} holds a run of {files.dir / 'p.toml'}: its report would mix two sets "
                          "of priors; nothing was written (run these priors into that folder first, or give another "
                          "--out)\n")
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
    # The same file, changed since the run: the run is stale (exit 7, as verify says).
    p = files.dir / "p.toml"
    p.write_text(p.read_text() + "\n# edited\n")
    res = runner.invoke(app, ["sensitivity", str(p), "--draws", "256", "--out", str(out), "--quiet"])
    assert res.exit_code == 7
    assert res.output == (f"riskmc: error: the run in {out} is stale: {p} changed since it ran, and its report would "
                          "mix two sets of priors; nothing was written (run the priors into that folder again)\n")
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
