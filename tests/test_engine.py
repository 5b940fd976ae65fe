"""The kernel: reproducible for any worker count, and right on closed-form models."""

import numpy as np
import pytest
from scipy import stats

import riskmc
from riskmc.kernel.engine import Kernel, execute, plan, sample
from riskmc.kernel.streams import handle_seed
from riskmc.model.spec import Input
from riskmc.priors import load
from tests.conftest import NORMAL_A, NORMAL_B, toy_priors

SPECS = (Input("a", "x", "a"), Input("b", "x", "b"), Input("c", "x", "c", 0), Input("d", "x", "d", 0))
TOY = toy_priors(a=NORMAL_A, b=NORMAL_B, c=("x", "lognormal", {"mu": 0.5, "sigma": 0.3}),
                 d=("x", "lognormal", {"mu": -0.2, "sigma": 0.4}))


def toy_fn(x, years):
    return {"sum": x["a"] + x["b"], "product": x["c"] * x["d"]}


TOY_MODEL = riskmc.Model("toy", inputs=SPECS, outputs=[riskmc.Output("sum", headline=True), riskmc.Output("product")],
                         vectorised=toy_fn)


def toy_run(write_toml, sampler="mc", draws=2 ** 17, seed=11, workers=2):
    """The toy model through the real kernel; returns its draws and chunk sizes."""
    ps = load(write_toml(TOY), model=TOY_MODEL)
    p = plan(draws, sampler)
    kernel = Kernel(ps, TOY_MODEL, handle_seed(seed), p)
    # The caller owns the loop: each state hands over its batch's kept chunks, in order.
    chunks = [c for state in sample(kernel, workers, keep_below=p.n_chunks) for c in state.chunks]
    out = {k: np.concatenate([c.outputs[k][:, 0] for c in chunks]) for k in ("sum", "product")}
    return out, [p.size(c.index) for c in chunks]


def toy_summary(write_toml, sampler="mc", draws=2 ** 17, seed=11, workers=2):
    """The kernel's own streamed summaries of the toy model."""
    from riskmc.kernel.finalize import finalize
    ps = load(write_toml(TOY), model=TOY_MODEL)
    kernel = Kernel(ps, TOY_MODEL, handle_seed(seed), plan(draws, sampler))
    b, t = execute(kernel, workers)
    return finalize(t, b, sampler, ["sum", "product"])[0]


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_sum_of_normals_known_answer(write_toml, sampler):
    s = toy_summary(write_toml, sampler)["sum"]
    ref = stats.norm(4.0, np.sqrt(20.0))
    # Each estimate within 4 of its own MCSE of the analytic value.
    assert abs(s["mean"].value - 4.0) < 4 * s["mean"].mcse
    assert abs(s["sd"].value - np.sqrt(20)) < 4 * s["sd"].mcse
    for k, p in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
        assert abs(s[k].value - ref.ppf(p)) < 4 * s[k].mcse, k


def test_product_of_lognormals_known_answer(write_toml):
    s = toy_summary(write_toml)["product"]
    ref = stats.lognorm(np.hypot(0.3, 0.4), scale=np.exp(0.3))
    assert abs(s["mean"].value - ref.mean()) < 4 * s["mean"].mcse
    assert abs(s["p95"].value - ref.ppf(0.95)) < 4 * s["p95"].mcse


def test_qmc_beats_mc_on_the_mean(write_toml):
    mc_se = toy_summary(write_toml, "mc")["sum"]["mean"].mcse
    sobol_se = toy_summary(write_toml, "sobol")["sum"]["mean"].mcse
    assert sobol_se < mc_se / 10


def test_workers_do_not_change_numbers(write_toml):
    one, _ = toy_run(write_toml, workers=1, draws=100_003)
    two, _ = toy_run(write_toml, workers=2, draws=100_003)
    for k in one:
        assert np.array_equal(one[k], two[k])
    assert toy_summary(write_toml, workers=1, draws=300_001) == toy_summary(write_toml, workers=2, draws=300_001)


@pytest.mark.parametrize("sampler", ["mc", "lhs"])
def test_base_run_identical_for_1_and_2_workers(sampler):
    from tests.conftest import BASE
    a = riskmc.run(BASE, draws=150_000, seed=3, workers=1, sampler=sampler, keep_draws=True)
    b = riskmc.run(BASE, draws=150_000, seed=3, workers=2, sampler=sampler, keep_draws=True)
    assert a.summary == b.summary
    for k in a.outputs:
        assert np.array_equal(a.outputs[k], b.outputs[k])


def test_sobol_rounds_up_and_says_so():
    p = plan(100_000, "sobol")
    assert p.chunk_size == 2048 and p.draws == 49 * 2048 and p.n_chunks == 49
    assert p.notes == ("sobol needs whole blocks of 2048 draws: ran 100352 draws instead of 100000",)


@pytest.mark.parametrize("draws,size", [(2048, 32), (4096, 32), (8191, 32), (8192, 256), (20_000, 512),
                                        (65_536, 2048), (524_288, 16384), (10 ** 7, 16384)])
def test_lhs_and_sobol_have_at_least_32_independent_chunks(draws, size):
    """At least 32 chunks, each an independent randomisation; below 8,192 draws, chunks of
    32 draws (64 or more of them: a quantile's error bar covers 95% then)."""
    for sampler in ("lhs", "sobol"):
        p = plan(draws, sampler)
        assert p.chunk_size == size and p.n_chunks >= 32
    assert plan(draws, "mc").chunk_size == 16384


def test_lhs_needs_enough_draws_for_its_error():
    with pytest.raises(riskmc.SamplingError) as e:
        plan(2000, "lhs")
    assert str(e.value) == ("lhs needs at least 2,048 draws, got 2,000: its Monte Carlo error comes from the "
                            "spread between 32 independent blocks (use --draws 2048 or more, or --sampler mc)")


def test_seed_zero_is_a_seed():
    assert handle_seed(0).entropy == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "x", True])
def test_bad_seed(bad):
    with pytest.raises(riskmc.SamplingError):
        handle_seed(bad)
