"""Events as text, questions of a finished run (probability, conditions, reverse stress)
and goal seek: known answers for independent normals and a linear model, for each
sampler; the same numbers on any worker count and from saved draws; one line for every
mistake."""

import json
import math
import textwrap

import pytest
from scipy import stats
from typer.testing import CliRunner

import riskmc
from riskmc.ask.query import ask
from riskmc.ask.seek import seek
from riskmc.cli import app
from riskmc.model.events import EventError, parse, resolve

runner = CliRunner()

MODEL_FILE = '''
import riskmc


def total(x, years):
    return {"y": x["x1"] + x["x2"]}


MODEL = riskmc.Model("sum", inputs=[riskmc.Input("x1"), riskmc.Input("x2")],
                     outputs=[riskmc.Output("y", headline=True)], vectorised=total)
'''

PRIORS = '''
model = "sum.py"
[priors.x1]
description = "x1"
unit = "x"
source = "test"
family = "normal"
mean = 0.0
sd = 1.0
[priors.x2]
description = "x2"
unit = "x"
source = "test"
family = "normal"
mean = 0.0
sd = 1.0
[claims.up]
output = "y"
above = 1.0
[claims.x1pos]
event = "x1 > 0"
'''

TOL = 4.0  # known answers within this many of their own MCSE (fixed seeds)
R2 = math.sqrt(2.0)


def close(est: dict, exact: float, extra: float = 0.0) -> bool:
    return abs(est["value"] - exact) <= TOL * est["mcse"] + extra


@pytest.fixture
def sums(tmp_path):
    (tmp_path / "sum.py").write_text(MODEL_FILE)
    path = tmp_path / "sum.toml"
    path.write_text(textwrap.dedent(PRIORS))
    return path


def run_dir(path, tmp_path, name="run", **kw):
    out = tmp_path / name
    riskmc.write(riskmc.run(path, **kw), out)
    return out


# ------------------------------------------------------------------------ the grammar
def test_events_parse_with_precedence_chains_and_spans():
    assert parse("a[2030] < 0.5 and b > 1 or not c <= 2").text() == "(a[2030] < 0.5 and b > 1) or not (c <= 2)"
    assert parse("0.45 <= s[2030] <= 0.5").text() == "s[2030] >= 0.45 and s[2030] <= 0.5"
    assert parse("r[2025:2027] rises and (x > 1 or x < -1)").text() == "r[2025:2027] rises and (x > 1 or x < -1)"
    assert parse("2 > x").text() == "x < 2"


@pytest.mark.parametrize("text, message", [
    ("y < < 1", 'expected an output, an input or a number, found \'<\' at column 5 of "y < < 1"'),
    ("y < 1 )", 'unexpected \')\' at column 7 of "y < 1 )" (join conditions with \'and\' or \'or\')'),
    ("(y < 1", 'expected \')\', found the end of "(y < 1"'),
    ("y = 1", 'unexpected \'=\' at column 3 of "y = 1"'),
    ("1 < 2", 'compare an output or input with a number, not 1 < 2, in "1 < 2"'),
    ("yy > 1", 'unknown name \'yy\' in "yy > 1" (did you mean \'y\'?)'),
    ("y[2030] > 1", "model 'sum' has no years: write y, not y[2030]"),
    ("x1[2025] > 0", "x1 is an input, one value per draw: drop [2025]"),
])
def test_bad_events_get_their_column_or_a_did_you_mean(sums, text, message):
    m = riskmc.load(sums).model
    with pytest.raises(EventError) as e:
        resolve(text, m)
    assert str(e.value) == message


def test_a_claim_written_as_an_event_counts_as_the_same_claim_as_a_table(sums, tmp_path):
    p = tmp_path / "ev.toml"
    p.write_text(textwrap.dedent(PRIORS) + '[claims.up2]\nevent = "y > 1"\n')
    s = riskmc.run(p, draws=20_000, seed=1).summary
    assert s["claims"]["up2"]["probability"] == s["claims"]["up"]["probability"]
    assert s["claims"]["x1pos"]["event"] == "x1 > 0" and close(s["claims"]["x1pos"]["probability"], 0.5)


def test_a_bad_event_in_a_claim_names_the_file_and_line(sums, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(textwrap.dedent(PRIORS) + '[claims.oops]\nevent = "y >> 1"\n')
    res = runner.invoke(app, ["priors", "check", str(p)])
    assert res.exit_code == 3
    assert res.output.strip() == (f"riskmc: error: {p}:23: claim 'oops': expected an output, an input or a "
                                  f"number, found '>' at column 4 of \"y >> 1\"")


# ------------------------------------------------------------------------ ask
@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_ask_known_answers_for_each_sampler(sums, tmp_path, sampler):
    """x1, x2 ~ N(0, 1), y = x1 + x2 ~ N(0, 2): P(y > 1), P(x1 > 0 | y > 1) and
    E[x1 | y > 1] = E[y | y > 1] / 2 are exact."""
    out = run_dir(sums, tmp_path, draws=65_536, seed=3, sampler=sampler)
    a = ask(out, "x1 > 0", given="y > 1", workers=1)
    c = 1 / R2
    assert close(a["given"]["probability"], stats.norm.sf(c))
    # P(x1 > 0, y > 1): a bivariate normal with correlation 1/sqrt(2) between x1 and y/sqrt(2).
    joint = stats.multivariate_normal([0, 0], [[1, c], [c, 1]]).cdf([0, -c])
    assert close(a["conditional"], joint / stats.norm.sf(c))
    x1 = next(r for r in a["moved"] if r["name"] == "x1")
    assert close(x1["after"]["mean"], R2 * stats.norm.pdf(c) / stats.norm.sf(c) / 2)
    assert close(x1["before"]["p50"], 0.0) and x1["shift_sd"] > 0
    assert close(a["claims"]["x1pos"]["given"], joint / stats.norm.sf(c))


def test_ask_gives_the_same_answer_on_any_worker_count_and_from_saved_draws(sums, tmp_path):
    out = tmp_path / "saved"
    r = riskmc.run(sums, draws=40_000, seed=4, keep_draws=True)
    riskmc.write(r, out)
    plain = ask(out, "y > 0.5", given="x2 < 0", stress="P(y > 2) = 0.3", workers=1)
    assert ask(out, "y > 0.5", given="x2 < 0", stress="P(y > 2) = 0.3", workers=2) == plain
    from riskmc.store.io import DrawsWriter  # noqa: F401 - saved draws go through the CLI
    res = runner.invoke(app, ["run", str(sums), "--draws", "40000", "--seed", "4", "--save-draws",
                              "--out", str(tmp_path / "with-draws"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "with-draws" / "draws.parquet").exists()
    assert ask(tmp_path / "with-draws", "y > 0.5", given="x2 < 0", stress="P(y > 2) = 0.3", workers=1) == plain


def test_stress_of_a_probability_is_the_two_valued_tilt(sums, tmp_path):
    """P(y > 1) = 0.5: draws above weigh 0.5 / P(y > 1), the others 0.5 / P(y <= 1); x1's
    stressed mean is the mixture of its two conditional means, exactly."""
    out = run_dir(sums, tmp_path, draws=100_000, seed=5)
    a = ask(out, stress="P(y > 1) = 0.5", workers=1)
    c = 1 / R2
    up = R2 * stats.norm.pdf(c) / stats.norm.sf(c) / 2          # E[x1 | y > 1]
    down = -R2 * stats.norm.pdf(c) / stats.norm.cdf(c) / 2      # E[x1 | y <= 1]
    x1 = next(r for r in a["stress"]["moved"] if r["name"] == "x1")
    assert close(x1["after"]["mean"], 0.5 * up + 0.5 * down)
    assert close(a["stress"]["claims"]["up"], 0.5)
    assert a["stress"]["from"] == pytest.approx(stats.norm.sf(c), abs=0.005)


def test_a_stressed_probability_in_percent_without_its_sign_is_the_slip_it_is(sums, tmp_path):
    from riskmc.ask.query import parse_stress
    from riskmc.errors import EventError
    model = riskmc.load(sums).model
    assert parse_stress("P(y > 2) = 20%", model).value == 0.2
    with pytest.raises(EventError) as exc:
        parse_stress("P(y > 2) = 20", model)
    assert str(exc.value) == "a stressed probability must lie strictly between 0 and 1, got 20 (did you mean 0.2 or 20%?)"


def test_a_claims_name_asks_its_event(sums, tmp_path):
    """ask RUN up is ask RUN with the claim's event, and the run's own probability of it."""
    out = run_dir(sums, tmp_path, draws=20_000, seed=2)
    by_name, by_text = ask(out, "up", workers=1), ask(out, "y > 1", workers=1)
    assert by_name["probability"] == by_text["probability"]
    s = json.loads((out / "summary.json").read_text())
    assert by_name["probability"]["value"] == s["claims"]["up"]["probability"]["value"]
    assert ask(out, "y > 0", given="up", workers=1)["given"] == ask(out, "y > 0", given="y > 1", workers=1)["given"]


def test_stress_of_a_mean_is_exponential_tilting(sums, tmp_path):
    """mean(y) = 1 for y = x1 + x2 ~ N(0, 2): the tilt exp(lambda y) with lambda = 1/2
    moves each input's mean to 1/2 and keeps its sd 1, exactly."""
    out = run_dir(sums, tmp_path, draws=100_000, seed=6)
    a = ask(out, stress="mean(y) = 1", workers=1)
    for r in a["stress"]["moved"]:
        if r["name"] in ("x1", "x2"):
            assert close(r["after"]["mean"], 0.5) and abs(r["after"]["sd"]["value"] - 1.0) < 0.02
    assert a["stress"]["lambda"] == pytest.approx(0.5, abs=0.02)
    assert close(a["stress"]["claims"]["up"], stats.norm.sf(1.0, 1.0, R2))


def test_ask_refuses_a_changed_priors_file_and_thin_conditions(sums, tmp_path):
    out = run_dir(sums, tmp_path, draws=20_000, seed=7)
    res = runner.invoke(app, ["ask", str(out), "y > 7"])
    assert res.exit_code == 0 and "P(y > 7) = " in res.output
    res = runner.invoke(app, ["ask", str(out), "y > 1", "--given", "y > 5"])
    assert res.exit_code == 2
    assert res.output.strip() == ('riskmc: error: only 1 of 20,000 draws meet "y > 5": too few for a '
                                  "conditional answer (at least 100) (run more draws (about 2,000,000) and ask that "
                                  "run)")
    res = runner.invoke(app, ["ask", str(out), "y >"])
    assert res.exit_code == 2
    assert res.output.strip() == 'riskmc: error: expected an output, an input or a number, found the end of "y >"'
    sums.write_text(sums.read_text().replace("sd = 1.0", "sd = 1.5", 1))
    res = runner.invoke(app, ["ask", str(out), "y > 1"])
    assert res.exit_code == 7   # stale, as verify says it
    assert res.output.strip() == (f"riskmc: error: {out}: {sums} changed since this run (its SHA-256 differs "
                                  "from summary.json's): the run's draws cannot be re-created (run again and "
                                  "ask the new run, or restore the file)")


def test_ask_writes_its_page_and_json(sums, tmp_path):
    out = run_dir(sums, tmp_path, draws=20_000, seed=8)
    res = runner.invoke(app, ["ask", str(out), "y > 1", "--given", "x1 > 0", "--stress", "mean(y) = 0.5",
                              "--out", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    a = json.loads((tmp_path / "q" / "ask.json").read_text())
    assert a["event"] == "y > 1" and a["given"]["event"] == "x1 > 0" and a["stress"]["stress"] == "mean(y) = 0.5"
    html = (tmp_path / "q" / "ask.html").read_text()
    assert "Reverse stress: mean(y) = 0.5" in html and "P(<code>y &gt; 1</code>)" in html
    # Paths are printed whole (scripts read them); their length is pytest's temporary folder's.
    assert all(len(line) <= 80 for line in res.output.splitlines() if not line.startswith(str(tmp_path)))


# ------------------------------------------------------------------------ seek
def test_seek_finds_the_median_that_meets_the_target(sums):
    """P(y > 1) = 0.5 with x1 ~ N(m, 1): y ~ N(m, 2) has median m, so m = 1 exactly."""
    res = seek(sums, vary="x1", target="P(y > 1) = 0.5", draws=50_000, seed=9)
    assert res["space"] == "line" and res["from"]["median"] == pytest.approx(0.0, abs=1e-9)
    assert abs(res["to"]["median"] - 1.0) <= TOL * res["to"]["mcse"] + 0.01
    assert abs(res["to"]["value"] - 0.5) <= 2 * res["to"]["value_mcse"]
    again = seek(sums, vary="x1", target="P(y > 1) = 0.5", draws=50_000, seed=9, workers=1)
    assert again == res   # common random numbers and a deterministic search


def test_seek_moves_a_bounded_prior_inside_its_support(tmp_path):
    """A beta share moved in log-odds stays in (0, 1) and meets a mean target."""
    res = seek(riskmc_root() / "priors" / "base.toml", vary="custom_share_2030",
               target="P(nvidia_share[2030] < 0.5) = 0.5", draws=20_000, seed=1)
    assert res["space"] == "logit" and 0.5 < res["to"]["median"] < 0.9
    assert abs(res["to"]["value"] - 0.5) <= 3 * res["to"]["value_mcse"]


def test_seek_under_evidence_meets_the_target_in_the_posterior(sums):
    """x1 ~ N(m, 1), x2 ~ N(0, 1), y = x1 + x2 observed as 2 with sd 1: the posterior of y is
    N((m/2 + 2)/1.5, 1/1.5), so P(y > 1 | evidence) = 0.5 needs m = -1 exactly. Every step
    weighs the evidence as a run would; the answer is the posterior's, not the prior's."""
    with_evidence = sums.with_name("evidence.toml")
    with_evidence.write_text(sums.read_text() + textwrap.dedent("""
        [evidence.y_seen]
        description = "y, observed"
        output = "y"
        value = 2.0
        sd = 1.0
        source = "test"
        """))
    res = seek(with_evidence, vary="x1", target="P(y > 1) = 0.5", draws=50_000, seed=9)
    assert res["posterior"] is True
    assert abs(res["to"]["median"] + 1.0) <= TOL * res["to"]["mcse"] + 0.01
    assert abs(res["to"]["value"] - 0.5) <= 2 * res["to"]["value_mcse"]
    # At today's median (m = 0) the posterior mean of y is 4/3: P(y > 1) = Phi(sqrt(1.5)/3).
    assert abs(res["from"]["value"] - stats.norm.cdf(math.sqrt(1.5) / 3)) <= TOL * res["from"]["mcse"]


def test_seek_refuses_a_target_out_of_reach(sums):
    res = runner.invoke(app, ["seek", str(sums), "--vary", "x1", "--target", "P(y > 1) = 0.99999",
                              "--draws", "20000", "--seed", "1"])
    assert res.exit_code == 2
    assert res.output.strip() == ("riskmc: error: no median of x1 reaches P(y > 1) = 0.99999: from -6 to "
                                  "6 it gives 0% to 99.97% (the target lies beyond what this belief alone can "
                                  "move; vary another prior)")
    res = runner.invoke(app, ["seek", str(sums), "--vary", "x3", "--target", "P(y > 1) = 0.5"])
    assert res.exit_code == 2 and res.output.strip() == "riskmc: error: unknown prior 'x3' (the priors are x1, x2)"


def riskmc_root():
    from tests.conftest import ROOT
    return ROOT
