"""Decisions in the priors file and the value of information: known answers for a linear
toy (y = x1 + x2 + x3, standard normals, rank correlation 0.5 between x1 and x2), its
posterior under evidence, the properties EVPPI must have, and one line for each mistake."""

import json
import math
import re
import textwrap

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

import riskmc
from riskmc.analyze.decisions import payoffs
from riskmc.analyze.sample import sample_of
from riskmc.analyze.voi import value_of_information
from riskmc.cli import app
from riskmc.runs import Run
from tests.conftest import ROOT

runner = CliRunner()

# examples/linear.py and .toml: y = x1 + x2 + x3, x1 and x2 correlated, a bet on y.
MODEL = (ROOT / "examples" / "linear.py").read_text()
PRIORS = re.sub(r'(?m)^(model|title) = .*\n', "", (ROOT / "examples" / "linear.toml").read_text())
PHI0 = stats.norm.pdf(0.0)
R = 2 * math.sin(math.pi / 12)          # the normal copula's correlation for rank correlation 0.5
SD_Y = math.sqrt(3 + 2 * R)
TOL = 0.05                              # the bar: within 5% at 100,000 draws


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    (root / "toy.py").write_text(MODEL)
    (root / "toy.toml").write_text('model = "toy.py"\ntitle = "toy"\n' + PRIORS)
    return root


@pytest.fixture(scope="module")
def toy_run(toy):
    r = riskmc.run(toy / "toy.toml", draws=100_000, seed=11)
    return r, Run.of(r.summary, r.priors)


def _seen(folder, value: float = 1.0, sd: float = 1.0):
    """The toy with evidence y = value (its sd): its priors file, beside its model."""
    (folder / "toy.py").write_text(MODEL)
    (folder / "seen.toml").write_text('model = "toy.py"\ntitle = "seen"\n' + PRIORS + textwrap.dedent(f'''
        [evidence.y_seen]
        description = "y observed"
        output = "y"
        value = {value}
        sd = {sd}
        source = "test"
        '''))
    return folder / "seen.toml"


def test_every_run_prices_each_option(toy_run):
    """E[y] = 0 and P(y > 0) = 1/2; passing pays 0 exactly, with no error."""
    r, _ = toy_run
    bet = r.decisions["bet"]
    take, skip = bet.options["take"], bet.options["pass"]
    assert abs(take.expected.value) <= 4 * take.expected.mcse
    assert take.expected.mcse == pytest.approx(SD_Y / math.sqrt(100_000), rel=0.02)
    assert skip.expected.value == 0.0 and skip.expected.mcse == 0.0
    assert abs(take.best.value - 0.5) <= 4 * take.best.mcse
    assert take.best.value + skip.best.value == pytest.approx(1.0)
    assert r.summary["decisions"]["bet"]["options"]["take"]["payoff"] == "y"


def test_voi_known_answers(toy_run):
    """EVPI = sd(y) phi(0); EVPPI(x1) = (1 + r) phi(0) (x2 moves with x1); EVPPI(x3) = phi(0)."""
    _, run = toy_run
    v = value_of_information(run, 2, [["x1", "x2", "x3"]])
    bet = v["decisions"]["bet"]
    for got, truth in ((bet["evpi"], SD_Y * PHI0), (bet["evppi"]["x1"], (1 + R) * PHI0),
                       (bet["evppi"]["x3"], PHI0), (bet["evppi"]["x1+x2"], math.sqrt(2 + 2 * R) * PHI0)):
        assert abs(got.value - truth) <= TOL * truth
        assert abs(got.value - truth) <= 4 * got.mcse + 0.01 * truth   # the error bar means something
    # Properties: every EVPPI between 0 and EVPI; a group is worth at least its parts.
    evpi = bet["evpi"]
    for e in bet["evppi"].values():
        assert -2 * e.mcse <= e.value <= evpi.value + 2 * math.hypot(e.mcse, evpi.mcse)
    pair = bet["evppi"]["x1+x2"]
    for one in ("x1", "x2"):
        assert pair.value >= bet["evppi"][one].value - 2 * math.hypot(pair.mcse, bet["evppi"][one].mcse)
    everything = bet["evppi"]["x1+x2+x3"]   # y is a function of all three: EVPPI = EVPI
    assert abs(everything.value - evpi.value) <= 0.01 * evpi.value


def test_brier_value_of_learning_known_answers(toy_run):
    """P(y > 0 | x) = Phi(a x) with x standard normal: Var = arcsin(a^2 / (1 + a^2)) / (2 pi)."""
    _, run = toy_run
    v = value_of_information(run, 2)["claims"]["up"]
    for name, b, rest in (("x1", 1 + R, 3 + 2 * R - (1 + R) ** 2), ("x3", 1.0, 2 + 2 * R)):
        a2 = b * b / rest
        truth = math.asin(a2 / (1 + a2)) / (2 * math.pi)
        got = v["value"][name]
        assert abs(got.value - truth) <= TOL * truth


def test_a_posterior_run_prices_and_values_on_its_weights(toy, tmp_path):
    """Evidence y = 1 (sd 1): the posterior of y is N(mu, s^2), s^2 = V / (V + 1), mu = s^2;
    E[take] = mu and EVPI = s phi(mu / s) - mu Phi(-mu / s)."""
    r = riskmc.run(_seen(tmp_path), draws=100_000, seed=5)
    assert r.summary["evidence"]["method"] == "importance"
    v2 = SD_Y ** 2
    s2 = v2 / (v2 + 1)
    mu, s = s2, math.sqrt(s2)
    take = r.decisions["bet"].options["take"].expected
    assert abs(take.value - mu) <= 4 * take.mcse
    assert r.decisions["bet"].best == "take"
    evpi = value_of_information(Run.of(r.summary, r.priors), 2)["decisions"]["bet"]["evpi"]
    truth = s * stats.norm.pdf(mu / s) - mu * stats.norm.cdf(-mu / s)
    assert abs(evpi.value - truth) <= TOL * truth


def _by_sample(run, decision) -> dict:
    """The prices from the whole sample held in memory (riskmc.analyze.sample's formulas)."""
    sample = sample_of(run, 1)
    v = payoffs(decision, sample)
    top = np.argmax(v, axis=0)
    return {o: (sample.mean(v[k]), sample.mean(top == k, indicator=True)) for k, (o, _) in enumerate(decision.options)}


@pytest.mark.parametrize("sampler, seen, method", [("mc", None, None), ("lhs", None, None),
                                                   ("mc", 1.0, "importance"), ("mc", 7.0, "tempered")])
def test_prices_kept_as_sums_are_the_whole_samples(toy, tmp_path, sampler, seen, method):
    """Decisions are priced from sums kept as the draws pass (memory does not grow with the
    draws): the same estimates and errors as the formulas on every draw at once, for i.i.d.
    draws, LHS's batch means, importance weights with their smoothed tail and a tempered
    posterior's replicates (to 1e-9)."""
    priors = toy / "toy.toml" if seen is None else _seen(tmp_path, seen, 0.3)
    r = riskmc.run(priors, draws=20_000, seed=7, sampler=sampler, workers=2)
    assert (r.summary.get("evidence") or {}).get("method") == method
    run = Run.of(r.summary, r.priors)
    for name, d in r.priors.decisions.items():
        want = _by_sample(run, d)
        for option, price in r.decisions[name].options.items():
            (e, p) = want[option]
            for got, ref in ((price.expected, e), (price.best, p)):
                assert got.value == pytest.approx(ref.value, rel=1e-9, abs=1e-12), (name, option)
                assert got.mcse == pytest.approx(ref.mcse, rel=1e-9, abs=1e-12), (name, option)
    if method == "tempered":   # voi reads all the particles, not the run's first draws
        got = value_of_information(run, 2)
        assert got["draws"] == got["run_draws"] == sample_of(run, 1).n


def test_voi_command_writes_its_folder_and_json(toy, tmp_path):
    res = runner.invoke(app, ["run", str(toy / "toy.toml"), "--out", str(tmp_path / "r"), "--draws", "20000",
                              "--seed", "3", "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert set(summary["decisions"]["bet"]["options"]) == {"take", "pass"}
    # priors check counts the decisions; the workbook prices them on a sheet of their own.
    res = runner.invoke(app, ["priors", "check", str(toy / "toy.toml")])
    assert res.output.endswith("1 claims, 1 decision, 0 scenarios)\n")
    assert runner.invoke(app, ["export", str(tmp_path / "r"), "--xlsx", "--out", str(tmp_path / "x")]).exit_code == 0
    import zipfile
    with zipfile.ZipFile(tmp_path / "x" / "run.xlsx") as z:
        assert '<sheet name="decisions"' in z.read("xl/workbook.xml").decode()
    # A pipeline's answer (run --json) carries the prices too.
    res = runner.invoke(app, ["run", str(toy / "toy.toml"), "--out", str(tmp_path / "r2"), "--draws", "2000",
                              "--seed", "3", "--json"])
    got = json.loads(res.output)["decisions"]["bet"]
    assert got["best"] in ("take", "pass") and set(got["options"]["take"]) == {"expected", "p_best"}
    html = (tmp_path / "r" / "report.html").read_text()
    assert 'id="decisions"' in html and 'href="#decisions"' in html
    res = runner.invoke(app, ["voi", str(tmp_path / "r"), "--json", "--group", "x1,x3", "--out", str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert set(doc["decisions"]["bet"]["evppi"]) == {"x1", "x2", "x3", "x1+x2", "x1+x3"}
    assert set(doc["decisions"]["bet"]["evpi"]) == {"value", "mcse"}
    assert json.loads((tmp_path / "v" / "voi.json").read_text()) == doc
    assert "What is worth learning" in (tmp_path / "v" / "voi.html").read_text()
    res = runner.invoke(app, ["voi", str(tmp_path / "r"), "--group", " , "])
    assert res.exit_code == 2 and res.output == ("riskmc: error: --group needs the inputs to value together, e.g. "
                                                 "--group a,b\n")
    res = runner.invoke(app, ["voi", str(tmp_path / "r"), "--group", "x1,x33"])
    assert res.exit_code == 2
    assert res.output == ("riskmc: error: --group names 'x33', which is not one of the model's inputs "
                          "(did you mean 'x3'?)\n")
    # Its --out may not be the run it reads.
    res = runner.invoke(app, ["voi", str(tmp_path / "r"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    # Without --out, voi.json joins the run's folder (in its manifest) and its report gains
    # "What is worth learning", kept when the report is made again.
    res = runner.invoke(app, ["voi", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    assert "voi.json" in json.loads((tmp_path / "r" / "manifest.json").read_text())["files"]
    for _ in range(2):
        html = (tmp_path / "r" / "report.html").read_text()
        assert 'id="learning"' in html and 'href="#learning"' in html and "EVPPI of each input and group" in html
        assert runner.invoke(app, ["report", str(tmp_path / "r"), "-q"]).exit_code == 0
    assert runner.invoke(app, ["verify", str(tmp_path / "r")]).exit_code == 0
    # A voi.json changed by hand is refused, never rendered.
    doc = json.loads((tmp_path / "r" / "voi.json").read_text())
    doc["decisions"]["bet"]["evpi"]["value"] = 99.0
    (tmp_path / "r" / "voi.json").write_text(json.dumps(doc))
    res = runner.invoke(app, ["report", str(tmp_path / "r")])
    assert res.exit_code != 0 and "voi.json" in res.output


@pytest.mark.parametrize(("options", "said"), [
    ('{ take = "y" }', "decision 'bet': has 1 option: a decision chooses between two or more "
                       "(add the alternative, e.g. pass = \"0\")"),
    ('{ take = "yy", pass = "0" }', "decision 'bet': option 'take': unknown name 'yy' in \"yy\" (did you mean 'y'?)"),
    ('{ take = true, pass = "0" }', "decision 'bet': option 'take' must be a payoff in quotes, e.g. \"y\" or \"0\""),
    ('{ take = "y +", pass = "0" }', "decision 'bet': option 'take': expected a number, an output or an input, "
                                     "found the end of \"y +\""),
    ('{ take = "y[2030]", pass = "0" }', "decision 'bet': option 'take': model 'linear' has no years: write y, "
                                         "not y[2030]"),
])
def test_a_bad_decision_is_one_line_with_its_line(toy, tmp_path, options, said):
    (tmp_path / "toy.py").write_text(MODEL)
    text = ('model = "toy.py"\n' + PRIORS).replace('options = { take = "y", pass = "0" }', f"options = {options}")
    (tmp_path / "bad.toml").write_text(text)
    line = next(k for k, t in enumerate(text.splitlines(), 1) if t.startswith("options ="))   # the options' line
    res = runner.invoke(app, ["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 3
    assert res.output == f"riskmc: error: {tmp_path / 'bad.toml'}:{line}: {said}\n"
    assert not (tmp_path / "o").exists()


def test_a_payoff_that_is_not_finite_stops_the_run(toy, tmp_path):
    (tmp_path / "toy.py").write_text(MODEL)
    text = ('model = "toy.py"\n' + PRIORS).replace('take = "y"', 'take = "y / (x1 - x1)"')
    (tmp_path / "div.toml").write_text(text)
    res = runner.invoke(app, ["run", str(tmp_path / "div.toml"), "--out", str(tmp_path / "o"), "--draws", "2000",
                              "-q"])
    assert res.exit_code == 3
    line = next(k for k, t in enumerate(text.splitlines(), 1) if t.startswith("options ="))
    assert res.output == (f"riskmc: error: {tmp_path / 'div.toml'}:{line}: decision 'bet': option 'take': the payoff "
                          "\"y / (x1 - x1)\" is not a finite number for every draw (a division by zero? guard it, "
                          "e.g. with max(x, 0.001))\n")
    assert not (tmp_path / "o").exists()


def test_payoffs_evaluate_as_arithmetic_reads():
    """Precedence, unary minus, min/max/abs; the text riskmc shows parses back to the same tree."""
    import numpy as np
    from hypothesis import given
    from hypothesis import strategies as st

    from riskmc.model import payoffs
    from riskmc.model.events import EventError
    model = riskmc.Model("m", inputs=[riskmc.Input("a"), riskmc.Input("b")], outputs=[riskmc.Output("y", headline=True)],
                         vectorised=lambda x, years: {"y": x["a"]})
    rows = np.array([[1.0, -2.0], [3.0, 4.0], [5.0, 0.5]])     # y, then the inputs a and b
    for text, want in (("2 * (y - 1) / 4 - -3", [3.0, 1.5]), ("y - a - b", [-7.0, -6.5]), ("y - (a - b)", [3.0, -5.5]),
                       ("max(y, a, 0) + min(b, 1) * abs(-2)", [5.0, 5.0]), ("-y * -y", [1.0, 4.0]),
                       ("y - 50%", [0.5, -2.5])):
        p = payoffs.resolve(text, model)
        assert p.values(rows).tolist() == want, text
        assert payoffs.parse(p.text) == p.tree, text

    @given(st.recursive(st.sampled_from(["y", "a", "b", "2", "0.5", "$1.5B", "7%"]),
                        lambda inner: st.builds(lambda x, op, z: f"{x} {op} {z}", inner, st.sampled_from("+-*/"), inner)
                        | st.builds(lambda x: f"({x})", inner) | st.builds(lambda x: f"-{x}", inner)
                        | st.builds(lambda x, z: f"max({x}, {z})", inner, inner), max_leaves=12))
    def round_trip(text):
        tree = payoffs.parse(text)
        assert payoffs.parse(tree.text()) == tree

    round_trip()
    with pytest.raises(EventError, match=r"a payoff nests more than 64 deep \(column 65 of"):
        payoffs.parse("(" * 80 + "y" + ")" * 80)


def test_prices_are_the_same_bits_on_one_worker_or_two(toy):
    """Chunks are priced in chunk order, whatever thread simulated them."""
    one = riskmc.run(toy / "toy.toml", draws=40_000, seed=3, workers=1).summary["decisions"]
    two = riskmc.run(toy / "toy.toml", draws=40_000, seed=3, workers=2).summary["decisions"]
    assert json.dumps(one) == json.dumps(two)


def test_voi_and_the_ledgers_grids_read_a_big_runs_first_chunks(toy, tmp_path):
    """The value of information regresses on at most VOI_DRAWS of a run's draws (its first
    whole chunks), and the ledger's quantile grids read GRID_DRAWS: memory and time do not
    grow with the run, and each says how many draws it read. A posterior's first draws
    keep the weights the run gave them."""
    from riskmc.analyze.voi import VOI_DRAWS
    from riskmc.runs import GRID_DRAWS
    from riskmc.store.quantities import LEVELS
    r = riskmc.run(toy / "toy.toml", draws=VOI_DRAWS + 50_000, seed=2)
    run = Run.of(r.summary, r.priors)
    got = value_of_information(run, 2)
    assert (got["draws"], got["run_draws"]) == (VOI_DRAWS, VOI_DRAWS + 50_000)
    grids, draws = run.quantile_grids(LEVELS, 2)
    assert draws == GRID_DRAWS
    np.testing.assert_array_equal(grids["y"], np.quantile(sample_of(run, 1, draws=GRID_DRAWS).row("y"), LEVELS))
    post = riskmc.run(_seen(tmp_path), draws=40_000, seed=5)
    run = Run.of(post.summary, post.priors)
    every, first = sample_of(run, 2), sample_of(run, 2, draws=20_000)
    n = first.n
    assert n == 2 * 16_384 and np.array_equal(first.rows, every.rows[:, :n])
    w = every.weights[:n]
    np.testing.assert_allclose(first.weights, w * (n / w.sum()), rtol=1e-12)


@pytest.mark.parametrize(("unit", "said"), [
    ("percent", "decision 'bet': unit 'percent': a payoff in shares is written from 0 to 1 (2% reads 0.02) and "
                "printed in percentage points (write unit = \"fraction\")"),
    ("fractoin", "decision 'bet': unit 'fractoin' is not one of the model's units (did you mean 'fraction'?)"),
    ("Fraction", "decision 'bet': unit 'Fraction' is not one of the model's units (did you mean 'fraction'?)"),
])
def test_a_misspelled_decision_unit_is_one_line(toy, tmp_path, unit, said):
    """The unit decides how every figure of the decision is printed: a slip of one of the
    model's units, or a percent, is refused on the unit's own line; a unit of the user's
    own (no model unit near it) is taken as given."""
    (tmp_path / "toy.py").write_text(MODEL)
    text = ('model = "toy.py"\n' + PRIORS).replace('options = { take = "y", pass = "0" }',
                                                  f'options = {{ take = "y", pass = "0" }}\nunit = "{unit}"')
    (tmp_path / "bad.toml").write_text(text)
    line = next(k for k, t in enumerate(text.splitlines(), 1) if t.startswith("unit = ") and unit in t)
    res = runner.invoke(app, ["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o"), "-q"])
    assert (res.exit_code, res.output) == (3, f"riskmc: error: {tmp_path / 'bad.toml'}:{line}: {said}\n")
    assert not (tmp_path / "o").exists()
    (tmp_path / "own.toml").write_text(text.replace(f'unit = "{unit}"', 'unit = "points"'))
    assert riskmc.load(tmp_path / "own.toml").decisions["bet"].unit == "points"


def test_money_in_a_payoff_is_read_in_the_decisions_unit(tmp_path):
    """$160B in a payoff of unit "$B" is 160 (in "$" it would be 1.6e11); without a money
    unit it is refused, saying which unit to give."""
    base = (ROOT / "priors" / "base.toml").resolve()
    head = f'extends = "{base}"\n\n[decisions.aws]\ndescription = "d"\n'
    (tmp_path / "ok.toml").write_text(head + 'unit = "$B"\noptions = { build = "aws_revenue[2030] - $160B", '
                                      'wait = "0" }\n')
    r = riskmc.run(tmp_path / "ok.toml", draws=4096, seed=1, workers=1)
    want = r.stats["aws_revenue[2030]"].mean.value - 160.0
    assert r.decisions["aws"].options["build"].expected.value == pytest.approx(want, rel=1e-9)
    (tmp_path / "bad.toml").write_text(head + 'options = { build = "aws_revenue[2030] - $160B", wait = "0" }\n')
    res = runner.invoke(app, ["priors", "check", str(tmp_path / "bad.toml")])
    assert res.exit_code == 3
    assert res.output.endswith(": decision 'aws': option 'build': $160B is money, but the payoff is in plain "
                               "numbers, in \"aws_revenue[2030] - $160B\" (give the decision the unit its payoffs "
                               "are in, e.g. unit = \"$B\")\n")


def test_a_claim_that_always_holds_is_worth_nothing_to_learn(toy):
    """P = 1 whatever the inputs: its Brier value of learning anything is 0 exactly, not
    the rounding of 1 - 1 (which the 'two errors' rule would call worth learning)."""
    p = toy / "sure.toml"
    p.write_text((toy / "toy.toml").read_text() + '\n[claims.sure]\ntext = "certain"\noutput = "y"\nabove = -100.0\n')
    r = riskmc.run(p, draws=20_000, seed=3)
    got = value_of_information(Run.of(r.summary, r.priors), 2)["claims"]["sure"]["value"]
    assert got and all((e.value, e.mcse) == (0.0, 0.0) for e in got.values())
