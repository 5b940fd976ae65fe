"""The kernel: reproducible for any worker count, and right on closed-form models."""

import numpy as np
import pytest
from scipy import stats

import riskmc
from riskmc.engine import plan, run_chunks
from riskmc.model.spec import Input
from riskmc.priors import load
from riskmc.rng import handle_seed
from riskmc.summarize import summarize

SPECS = (Input("a", "x", "a"), Input("b", "x", "b"), Input("c", "x", "c", 0), Input("d", "x", "d", 0))
TOY = """
[priors.a]
description = "a"
unit = "x"
source = "assumption"
family = "normal"
mean = 1.0
sd = 2.0

[priors.b]
description = "b"
unit = "x"
source = "assumption"
family = "normal"
mean = 3.0
sd = 4.0

[priors.c]
description = "c"
unit = "x"
source = "assumption"
family = "lognormal"
mu = 0.5
sigma = 0.3

[priors.d]
description = "d"
unit = "x"
source = "assumption"
family = "lognormal"
mu = -0.2
sigma = 0.4
"""


def toy_model(x):
    return {"sum": (x["a"] + x["b"])[:, None], "product": (x["c"] * x["d"])[:, None]}


def toy_run(write_toml, sampler="mc", draws=2 ** 17, seed=11, workers=2, extra=""):
    ps = load(write_toml(TOY + extra), inputs=SPECS, outputs=())
    p = plan(draws, sampler)
    chunks = list(run_chunks(ps, SPECS, toy_model, handle_seed(seed), p, workers))
    out = {k: np.concatenate([c.outputs[k][:, 0] for c in chunks]) for k in ("sum", "product")}
    return out, [p.size(c.index) for c in chunks]


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_sum_of_normals_known_answer(write_toml, sampler):
    out, sizes = toy_run(write_toml, sampler)
    s = summarize(out["sum"], sizes, sampler)
    ref = stats.norm(4.0, np.sqrt(20.0))
    # Each estimate within 4 of its own MCSE of the analytic value.
    assert abs(s["mean"]["value"] - 4.0) < 4 * s["mean"]["mcse"]
    assert abs(s["sd"]["value"] - np.sqrt(20)) < 4 * s["sd"]["mcse"]
    for k, p in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
        assert abs(s[k]["value"] - ref.ppf(p)) < 4 * s[k]["mcse"], k


def test_product_of_lognormals_known_answer(write_toml):
    out, sizes = toy_run(write_toml)
    s = summarize(out["product"], sizes, "mc")
    ref = stats.lognorm(np.hypot(0.3, 0.4), scale=np.exp(0.3))
    assert abs(s["mean"]["value"] - ref.mean()) < 4 * s["mean"]["mcse"]
    assert abs(s["p95"]["value"] - ref.ppf(0.95)) < 4 * s["p95"]["mcse"]


def test_qmc_beats_mc_on_the_mean(write_toml):
    out, sizes = toy_run(write_toml, "mc")
    mc_se = summarize(out["sum"], sizes, "mc")["mean"]["mcse"]
    out, sizes = toy_run(write_toml, "sobol")
    sobol_se = summarize(out["sum"], sizes, "sobol")["mean"]["mcse"]
    assert sobol_se < mc_se / 10


def test_workers_do_not_change_numbers(write_toml):
    one, _ = toy_run(write_toml, workers=1, draws=100_003)
    two, _ = toy_run(write_toml, workers=2, draws=100_003)
    for k in one:
        assert np.array_equal(one[k], two[k])


def test_base_run_identical_for_1_and_2_workers():
    from tests.conftest import BASE
    a = riskmc.run(BASE, draws=20_000, seed=3, workers=1)
    b = riskmc.run(BASE, draws=20_000, seed=3, workers=2)
    assert a.summary == b.summary
    for k in a.outputs:
        assert np.array_equal(a.outputs[k], b.outputs[k])


def test_sobol_rounds_up_and_says_so():
    p = plan(100_000, "sobol")
    assert p.draws == 7 * 2 ** 14
    assert p.notes == ("sobol needs whole blocks of 16384 draws: ran 114688 draws instead of 100000",)


def test_seed_zero_is_a_seed():
    assert handle_seed(0).entropy == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "x", True])
def test_bad_seed(bad):
    with pytest.raises(riskmc.SamplingError):
        handle_seed(bad)
