"""Sobol estimators against analytic indices: Ishigami, and Sobol's G function."""

import numpy as np
import pytest

from riskmc.analyze.sensitivity import factors, sobol
from riskmc.model import Input, Model, Output
from riskmc.priors import load

PI = np.pi


def _uniform_file(write_toml, names, lo, hi, extra=""):
    body = "".join(f'[priors.{n}]\ndescription = "d"\nunit = "x"\nsource = "assumption"\n'
                   f'family = "uniform"\nlower = {lo!r}\nupper = {hi!r}\n\n' for n in names)
    return write_toml(body + extra)


def ishigami(x, years=None, a=7.0, b=0.1):
    y = np.sin(x["x1"]) + a * np.sin(x["x2"]) ** 2 + b * x["x3"] ** 4 * np.sin(x["x1"])
    return {"y": y}


def model_of(specs, fn):
    return Model("t", inputs=specs, outputs=[Output("y", headline=True)], vectorised=fn)


def test_ishigami_known_indices(write_toml):
    names = ["x1", "x2", "x3"]
    specs = tuple(Input(n, "x", n) for n in names)
    ps = load(_uniform_file(write_toml, names, -PI, PI), model=model_of(specs, ishigami))
    res = sobol(ps, ps.model, lambda out: out["y"][:, None], draws=2 ** 16, seed=1, workers=2)
    # Analytic values (Ishigami & Homma 1990; as in SALib's tests).
    s1 = [0.3139, 0.4424, 0.0]
    st = [0.5576, 0.4424, 0.2437]
    np.testing.assert_allclose(res["S1"][0], s1, atol=0.03)
    np.testing.assert_allclose(res["ST"][0], st, atol=0.03)
    # The 95% bootstrap intervals hold the true values.
    for k in range(3):
        assert res["S1_ci"][0, 0, k] - 0.01 <= s1[k] <= res["S1_ci"][1, 0, k] + 0.01
        assert res["ST_ci"][0, 0, k] - 0.01 <= st[k] <= res["ST_ci"][1, 0, k] + 0.01


def test_sobol_g_function_known_indices(write_toml):
    a = np.array([0.0, 1.0, 4.5, 9.0, 99.0, 99.0])
    names = [f"g{i}" for i in range(len(a))]
    specs = tuple(Input(n, "x", n) for n in names)

    def g(x, years):
        y = np.ones(len(x["g0"]))
        for i, n in enumerate(names):
            y *= (np.abs(4 * x[n] - 2) + a[i]) / (1 + a[i])
        return {"y": y}

    ps = load(_uniform_file(write_toml, names, 0.0, 1.0), model=model_of(specs, g))
    vi = 1 / (3 * (1 + a) ** 2)
    v = np.prod(1 + vi) - 1
    s1 = vi / v
    st = vi * np.array([np.prod(np.delete(1 + vi, i)) for i in range(len(a))]) / v
    res = sobol(ps, ps.model, lambda out: out["y"][:, None], draws=2 ** 16, seed=2, workers=1)
    np.testing.assert_allclose(res["S1"][0], s1, atol=0.03)
    np.testing.assert_allclose(res["ST"][0], st, atol=0.03)


def test_workers_do_not_change_indices(write_toml):
    names = ["x1", "x2", "x3"]
    specs = tuple(Input(n, "x", n) for n in names)
    ps = load(_uniform_file(write_toml, names, -PI, PI), model=model_of(specs, ishigami))
    a = sobol(ps, ps.model, lambda out: out["y"][:, None], draws=40_000, seed=3, workers=1)
    b = sobol(ps, ps.model, lambda out: out["y"][:, None], draws=40_000, seed=3, workers=2)
    assert np.array_equal(a["S1"], b["S1"]) and np.array_equal(a["ST_ci"], b["ST_ci"])


def test_correlated_priors_become_one_factor(write_toml):
    names = ["x1", "x2", "x3"]
    specs = tuple(Input(n, "x", n) for n in names)
    p = _uniform_file(write_toml, names, -PI, PI, '[correlations]\n"x1 ~ x3" = 0.5\n')
    ps = load(p, model=model_of(specs, ishigami))
    assert [f.name for f in factors(ps, specs)] == ["group(x1, x3)", "x2"]
    res = sobol(ps, ps.model, lambda out: out["y"][:, None], draws=2 ** 15, seed=4)
    # Grouped indices still add up: x2 alone has no interactions with the group.
    assert res["ST"][0].sum() == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------ Shapley effects
def test_shapley_ishigami_known_effects(write_toml):
    """Independent inputs: each interaction's share split equally among its inputs,
    Sh1 = S1 + S13 / 2, Sh2 = S2, Sh3 = S13 / 2 (S13 = 0.2437); within 0.03."""
    from riskmc.analyze.sensitivity import sensitivity
    names = ["x1", "x2", "x3"]
    specs = tuple(Input(n, "x", n) for n in names)
    ps = load(_uniform_file(write_toml, names, -PI, PI), model=model_of(specs, ishigami))
    res = sensitivity(ps, seed=3)
    sh = res["outputs"]["y"]["shapley"]
    assert sh["players"] == names and sh["rest"] is None
    truth = {"x1": 0.3139 + 0.2437 / 2, "x2": 0.4424, "x3": 0.2437 / 2}
    for k, v in truth.items():
        assert abs(sh["effects"][k]["value"] - v) <= 0.03
    assert sum(e["value"] for e in sh["effects"].values()) == pytest.approx(1.0, abs=1e-9)


def test_shapley_linear_correlated_known_effects(write_toml):
    """y = x1 + x2 + x3, standard normals, rank correlation 0.5 between x1 and x2 (normal r =
    2 sin(pi/12)): Sh1 = Sh2 = (1 + r) / (3 + 2r), Sh3 = 1 / (3 + 2r), within 0.03; x2 earns
    its share through x1, and the shares sum to one."""
    from riskmc.analyze.sensitivity import sensitivity
    names = ["x1", "x2", "x3"]
    specs = tuple(Input(n, "x", n) for n in names)
    body = "".join(f'[priors.{n}]\ndescription = "d"\nunit = "x"\nsource = "assumption"\nfamily = "normal"\n'
                   f'mean = 0.0\nsd = 1.0\n\n' for n in names) + '[correlations]\n"x1 ~ x2" = 0.5\n'
    ps = load(write_toml(body), model=model_of(specs, lambda x, years: {"y": x["x1"] + x["x2"] + x["x3"]}))
    res = sensitivity(ps, seed=4)
    sh = res["outputs"]["y"]["shapley"]["effects"]
    r = 2 * np.sin(PI / 12)
    for k, v in (("x1", (1 + r) / (3 + 2 * r)), ("x2", (1 + r) / (3 + 2 * r)), ("x3", 1 / (3 + 2 * r))):
        assert abs(sh[k]["value"] - v) <= 0.03
        assert sh[k]["ci"][0] <= sh[k]["value"] <= sh[k]["ci"][1]
    assert sum(e["value"] for e in sh.values()) == pytest.approx(1.0, abs=1e-9)


def test_shapley_players_are_the_inputs_of_largest_reported_index():
    """Seven independent inputs, y = sum a_k x_k with a = 7, 6, ..., 1: the five players are
    the five of largest first-order index, the same nearest-neighbour index the report
    shows beside them; a score given (total indices) decides instead, and only total
    indices summing below SCREEN let the output count as a function of the players."""
    from riskmc.analyze.shapley import MAX_PLAYERS, first_order_given, players_of, shapley
    rng = np.random.default_rng(5)
    names = [f"x{k}" for k in range(1, 8)]
    xs = {n: rng.standard_normal(8192) for n in names}
    y = sum((8 - k) * xs[n] for k, n in enumerate(names, 1))
    res = shapley(xs, y, [], seed=1)
    assert res["players"] == names[:MAX_PLAYERS] and res["rest"] is not None
    s1 = first_order_given(xs, y[None, :], [type("F", (), {"members": (n,)}) for n in names], seed=1)[0][0]
    assert list(np.argsort(-s1)[:MAX_PLAYERS]) == list(range(MAX_PLAYERS))
    backwards = {n: float(k) for k, n in enumerate(names)}
    assert shapley(xs, y, [], seed=1, score=backwards, total=True)["players"] == names[::-1][:MAX_PLAYERS]
    tiny = {n: (0.2 if k < MAX_PLAYERS else 0.001) for k, n in enumerate(names)}
    assert players_of(xs, [], tiny, total=True) == (names[:MAX_PLAYERS], True)
    assert players_of(xs, [], tiny, total=False) == (names[:MAX_PLAYERS], False)
