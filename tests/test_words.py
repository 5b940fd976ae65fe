"""Events in the analyst's words: shares in percent, money with its scale, the percent slip
caught; and a stressed answer that rests on few draws says so."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import riskmc
from riskmc.ask.query import ask, parse_stress
from riskmc.cli import app
from riskmc.model.events import Cmp, EventError, Var, resolve

runner = CliRunner()


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, base_run):
    out = tmp_path_factory.mktemp("words") / "base"
    riskmc.write(base_run, out)
    return out


def test_percent_and_money_are_read_in_the_variables_unit(base_run):
    m = base_run.priors.model
    assert resolve("nvidia_share[2030] < 50%", m).tree == Cmp(Var("nvidia_share", 2030), "<", 0.5)
    assert resolve("aws_revenue[2026] > $160B", m).tree == Cmp(Var("aws_revenue", 2026), ">", 160.0)
    assert resolve("aws_revenue[2026] > $1.5T", m).tree.value == 1500.0
    assert resolve("$160B < aws_revenue[2026]", m).tree == Cmp(Var("aws_revenue", 2026), ">", 160.0)
    # Written either way, the same event and the same text.
    assert resolve("nvidia_share[2030] < 50% and aws_revenue[2026] > $160B", m).text == \
        "nvidia_share[2030] < 0.5 and aws_revenue[2026] > 160"


@pytest.mark.parametrize("event, message", [
    ("nvidia_share[2030] < 50", 'nvidia_share[2030] is a share from 0 to 1, compared with 50 in '
     '"nvidia_share[2030] < 50" (did you mean 0.5 or 50%?)'),
    ("aws_revenue[2026] > 160%", '160% is a percent, but aws_revenue[2026] is in $B, in '
     '"aws_revenue[2026] > 160%" (write the number in aws_revenue[2026]\'s own unit)'),
    ("nvidia_share[2030] < $5B", '$5B is money, but nvidia_share[2030] is in fraction, in '
     '"nvidia_share[2030] < $5B" (write the number in nvidia_share[2030]\'s own unit)'),
])
def test_a_number_in_the_wrong_unit_is_one_line_and_exit_2(base_dir, event, message):
    r = runner.invoke(app, ["ask", str(base_dir), event])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [f"riskmc: error: {message}"]


def test_a_share_may_still_be_compared_with_one(base_run):
    m = base_run.priors.model
    assert resolve("nvidia_share[2030] <= 1", m).tree.value == 1.0
    with pytest.raises(EventError):
        resolve("nvidia_share[2030] < 1.01", m)


def test_stresses_take_percent_and_money_too(base_run):
    m = base_run.priors.model
    s = parse_stress("P(nvidia_share[2030] < 50%) = 30%", m)
    assert s.value == 0.3 and s.event.tree.value == 0.5
    assert parse_stress("mean(aws_revenue[2026]) = $165B", m).value == 165.0
    assert parse_stress("mean(nvidia_share[2030]) = 55%", m).value == 0.55
    with pytest.raises(EventError, match=r"did you mean 0\.55 or 55%\?"):
        parse_stress("mean(nvidia_share[2030]) = 55", m)
    with pytest.raises(EventError, match="a stressed probability is a number between 0 and 1 or a percent"):
        parse_stress("P(nvidia_share[2030] < 0.5) = $3B", m)


def test_a_stress_on_few_effective_draws_warns_in_json_terminal_and_page(base_dir, tmp_path):
    """A mean far in the tail leaves few effective draws (under 400): the answer says so
    everywhere it is shown; a mild stress does not."""
    far = ask(base_dir, stress="mean(aws_revenue[2026]) = 165", workers=1)["stress"]
    assert far["ess"] < 400
    assert far["warning"] == (f"the stressed answer rests on {far['ess']:,.0f} effective draws (fewer than 400): its "
                              "figures and error bars are unreliable; run more draws, or ask a milder stress")
    mild = ask(base_dir, stress="mean(aws_revenue[2026]) = 150", workers=1)["stress"]
    assert mild["ess"] >= 400 and "warning" not in mild
    r = runner.invoke(app, ["ask", str(base_dir), "--stress", "mean(aws_revenue[2026]) = 165",
                            "--out", str(tmp_path / "q")])
    assert r.exit_code == 0, r.output
    assert "warning: the stressed answer rests on" in " ".join(r.output.split())
    assert "<strong>Warning:</strong> the stressed answer rests on" in (tmp_path / "q" / "ask.html").read_text()


def test_draws_are_a_whole_number_however_typed(tmp_path):
    from riskmc.cli.common import count
    assert [count(v) for v in ("2000", "2e3", "2_000", "2,000", "2.0e3")] == [2000] * 5
    r = runner.invoke(app, ["run", "priors/base.toml", "--draws", "12.5", "--out", str(tmp_path / "r"), "-q"])
    assert r.exit_code == 2 and not (tmp_path / "r").exists()
    assert r.output.strip() == ("riskmc: error: invalid value for '--draws': '12.5' is not a whole number "
                                "(see 'riskmc run --help')")


def test_numbers_are_written_one_way(base_dir):
    """A stress says where it stood in the figure's own terms; a fit's error below 0.01%
    of the range is written so, not as 9.7e-13%."""
    from riskmc.report import fmt
    r = runner.invoke(app, ["ask", str(base_dir), "--stress", "mean(aws_revenue[2026]) = 150"])
    assert r.exit_code == 0 and "= 150 (from $1" in " ".join(r.output.split())
    r = runner.invoke(app, ["ask", str(base_dir), "--stress", "P(nvidia_share[2030] < 50%) = 30%"])
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "= 0.3 (from 0." in text and "%); the draws" in text
    assert fmt.fit_error(9.7e-15) == "< 0.01%" and fmt.fit_error(0.012) == "1.2%"
    r = runner.invoke(app, ["priors", "fit", "--p05", "0.3", "--p95", "0.5"])
    assert "(fit error < 0.01% of range)" in r.output


def test_labels_write_names_as_readers_do():
    from riskmc.report import fmt
    assert fmt.label("gpu_asp_decline") == "GPU ASP decline"
    assert fmt.label("amazon_pe_rerated") == "Amazon P/E rerated"
    assert fmt.label("custom_share_2030") == "custom share 2030"
    assert fmt.label("group(ai_capex_2025, aws_capacity_add_gw)") == "group(AI capex 2025, AWS capacity add GW)"


def test_one_way_to_write_money_shares_and_payoffs():
    """Money's sign before the dollar, shares in percent, a stated prior to four digits in
    its unit, a payoff in shares in percentage points, floating noise as no error at all."""
    from riskmc.report import fmt
    assert fmt.value(-11.3, "$B") == "-$11.3B" and fmt.value(-13474.0, "$B") == "-$13,474B"
    assert fmt.value(-2.5, "$") == "-$2.50" and fmt.value(2.5, "$") == "$2.50"
    assert fmt.value(-1e-17, "fraction") == "0.0%"
    assert fmt.exact(0.3971, "fraction") == "39.71%" and fmt.exact(128.7, "$B") == "$128.7B"
    assert fmt.exact(6.6, "$") == "$6.6" and fmt.exact(2027.5, "year") == "2027.5"
    assert fmt.gain(0.0198, "fraction") == "1.98 pp" and fmt.gain(-0.124, "fraction") == "-12.40 pp"
    assert fmt.mcse(1.8e-17, "fraction") == "0 pp"
