"""Reading priors files: the format, composition, and the exact text of every error."""

import pytest

from riskmc.errors import PriorsError
from riskmc.model.spec import Input, Output
from riskmc.priors import load
from tests.conftest import spec_model

INPUTS = (Input("share", "fraction", "a share", 0, 1), Input("size", "$B", "a size", 0),
          Input("slip", "event", "an event", 0, 1))
OUTPUTS = (Output("y", "fraction", "y"),)
META = 'description = "d"\nunit = "u"\nsource = "assumption"\n'
GOOD = f"""
[priors.share]
{META}range = [0.30, 0.50]

[priors.size]
{META}p05 = 2.0
p95 = 8.0

[priors.slip]
{META}family = "bernoulli"
p = 0.25
"""


def line_of(path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


YEARS = range(2025, 2031)


def toy(path, **kw):
    return load(path, model=spec_model(INPUTS, OUTPUTS, YEARS), **kw)


def error_of(path, **kw) -> str:
    with pytest.raises(PriorsError) as exc:
        toy(path, **kw)
    return str(exc.value)


def test_good_file(write_toml):
    ps = toy(write_toml(GOOD))
    assert ps.priors["share"].family.name == "beta"
    assert ps.priors["size"].family.name == "lognormal"
    assert ps.priors["share"].stated == {0.05: 0.30, 0.95: 0.50}
    assert ps.priors["share"].fit_error < 0.005


def test_base_toml_loads_with_its_claims_and_scenarios():
    from riskmc.api import load as load_bound
    from tests.conftest import BASE
    ps = load_bound(BASE)
    assert set(ps.claims) == {"C1", "C2", "C3", "C4"}
    assert "trainium-slip" in ps.scenarios
    assert all(p.source for p in ps.priors.values())
    for name in ps.scenarios:
        load_bound(BASE, scenario=name)


def test_malformed_toml(write_toml):
    p = write_toml(GOOD + "\n[priors.bad\n")
    assert error_of(p) == f"{p}:{line_of(p, '[priors.bad')}: malformed TOML: expected ']' at the end of a table declaration (see https://toml.io for the syntax)"


def test_unknown_key_did_you_mean(write_toml):
    p = write_toml(GOOD.replace("range = [0.30, 0.50]", "rnage = [0.30, 0.50]"))
    assert error_of(p) == f"{p}:5: prior 'share': unknown key 'rnage' (did you mean 'range'?)"


def test_unknown_family(write_toml):
    p = write_toml(GOOD.replace('family = "bernoulli"', 'family = "bernouli"'))
    assert error_of(p) == f"{p}:18: prior 'slip': unknown family 'bernouli' (did you mean 'bernoulli'?)"


def test_quantiles_out_of_order(write_toml):
    p = write_toml(GOOD.replace("p05 = 2.0", "p05 = 9.0"))
    assert error_of(p) == (f"{p}:11: prior 'size': quantiles out of order: p05 = 9 must be less "
                           "than p95 = 8")


def test_share_above_one(write_toml):
    p = write_toml(GOOD.replace("range = [0.30, 0.50]", 'family = "beta"\np05 = 0.5\np95 = 1.2'))
    assert error_of(p) == (f"{p}:5: prior 'share': stated quantiles 0.5, 1.2 lie outside the support "
                           "of beta (0 to 1); choose another family or widen its bounds")


def test_negative_scale(write_toml):
    p = write_toml(GOOD.replace('p05 = 2.0\np95 = 8.0', 'family = "lognormal"\nmu = 1.0\nsigma = -0.5'))
    assert error_of(p) == f"{p}:7: prior 'size': sigma must be positive, got -0.5"


def test_range_reversed(write_toml):
    p = write_toml(GOOD.replace("range = [0.30, 0.50]", "range = [0.50, 0.30]"))
    assert error_of(p) == (f"{p}:5: prior 'share': range low (0.5) must be less than high (0.3) "
                           "(did you mean range = [0.3, 0.5]?)")


def test_missing_source(write_toml):
    p = write_toml(GOOD.replace('source = "assumption"\nrange', 'range'))
    assert error_of(p) == (f"{p}:1: prior 'share': missing 'source' (cite where the figure comes "
                           "from, or write source = \"assumption\")")


def test_missing_priors_listed_at_once(write_toml):
    p = write_toml(GOOD.split("[priors.size]")[0])
    assert error_of(p) == (f"{p}: model 'toy' needs priors that no file gives: size, slip "
                           "(add a [priors.NAME] table for each)")


def test_unused_prior_is_an_error_or_a_warning(write_toml):
    """A prior the model has no input for: say so, name the inputs, and how to add one."""
    p = write_toml(GOOD + f"\n[priors.google_tpu_share_2030]\n{META}value = 0.1\n")
    assert error_of(p) == (f"{p}:21: prior 'google_tpu_share_2030' is not used by model 'toy' (its inputs are "
                           "share, size, slip; to use this prior, add riskmc.Input(\"google_tpu_share_2030\") "
                           "to a model of your own (docs/models.md), or pass --allow-unused)")
    ps = toy(p, allow_unused=True)
    assert ps.warnings == (f"{p}:21: prior 'google_tpu_share_2030' is not used by model 'toy'",)


def test_misspelled_prior_table_names_the_closest_input(write_toml):
    """A table that misses an input the model still needs by a letter or two."""
    p = write_toml(GOOD.replace("[priors.size]", "[priors.sise]"))
    assert error_of(p) == f"{p}:7: [priors.sise] names no input of model 'toy' (did you mean 'size'?)"


def test_near_miss_of_a_prior_already_given_says_so(write_toml):
    """An overlay's typo (the prior it meant is given, by this file or one it extends)."""
    p = write_toml(GOOD + f"\n[priors.shar]\n{META}value = 0.1\n")
    assert error_of(p) == (f"{p}:21: prior 'shar' is not used by model 'toy' (did you mean 'share'? To change "
                           "that prior, use its exact name; to add a new one, add riskmc.Input(\"shar\") to a "
                           "model of your own (docs/models.md))")


def test_correlation_out_of_range(write_toml):
    p = write_toml(GOOD + '\n[correlations]\n"share ~ size" = 1.5\n')
    assert error_of(p) == f"{p}:22: correlation 'share ~ size' must be a number in [-1, 1], got 1.5"


def test_correlation_unknown_prior(write_toml):
    p = write_toml(GOOD + '\n[correlations]\n"share ~ sise" = 0.5\n')
    assert error_of(p) == (f"{p}:22: correlation 'share ~ sise' names unknown prior 'sise' "
                           "(did you mean 'size'?)")


def test_extends_cycle(write_toml):
    write_toml('extends = "b.toml"\n', "a.toml")
    b = write_toml('extends = "a.toml"\n', "b.toml")
    assert error_of(b) == f"{b}:1: 'extends' makes a cycle: b.toml -> a.toml -> b.toml (remove one of the 'extends' lines)"


def test_extends_missing_parent(write_toml):
    p = write_toml('extends = "nope.toml"\n')
    assert error_of(p) == f"{p}:1: 'extends' names a missing file: nope.toml (no file at {p.parent / 'nope.toml'})"


def test_extends_overrides_and_keeps_metadata(write_toml):
    write_toml(GOOD, "parent.toml")
    child = write_toml('extends = "parent.toml"\n[priors.share]\nrange = [0.1, 0.2]\n'
                       '[priors.slip]\np = 0.5\n', "child.toml")
    ps = toy(child)
    assert ps.priors["share"].stated == {0.05: 0.1, 0.95: 0.2}
    assert ps.priors["share"].source == "assumption"
    assert ps.priors["slip"].family.p == 0.5
    assert [f.path for f in ps.files] == [str(child), str(child.parent / "parent.toml")]


def test_scenario_overlay_and_unknown_scenario(write_toml):
    p = write_toml(GOOD + '\n[scenarios.fast]\ndescription = "x"\n[scenarios.fast.priors.share]\nrange = [0.6, 0.8]\n')
    assert toy(p, scenario="fast").priors["share"].stated == {0.05: 0.6, 0.95: 0.8}
    assert error_of(p, scenario="slow") == f"{p}: unknown scenario 'slow' (scenarios in this file: fast)"


def test_claim_unknown_output(write_toml):
    p = write_toml(GOOD + '\n[claims.C1]\ntext = "t"\noutput = "yy"\nyear = 2030\nabove = 0.5\n')
    assert error_of(p) == f"{p}:23: claim 'C1': unknown output 'yy' (did you mean 'y'?)"


def test_non_psd_correlations_name_the_pairs(write_toml):
    inputs = INPUTS + (Input("other", "fraction", "x", 0, 1),)
    p = write_toml(GOOD + f"\n[priors.other]\n{META}range = [0.1, 0.2]\n"
                   '\n[correlations]\n"share ~ size" = 0.9\n"share ~ other" = 0.9\n"size ~ other" = -0.9\n')
    with pytest.raises(PriorsError) as exc:
        load(p, model=spec_model(inputs, OUTPUTS, YEARS))
    assert str(exc.value) == (
        f"{p}:{line_of(p, '[correlations]')}: these correlations cannot hold together (the matrix is not positive semi-definite): "
        "share ~ size, share ~ other, size ~ other (loosen one of them, or set repair = true in "
        "[correlations] to use the nearest valid matrix)")
    fixed = write_toml(p.read_text().replace("[correlations]\n", "[correlations]\nrepair = true\n"), "r.toml")
    ps = load(fixed, model=spec_model(inputs, OUTPUTS, YEARS))
    assert ps.dependence.repaired
    assert ps.warnings[0].startswith("correlations repaired to the nearest valid matrix: share ~ size: 0.900 -> ")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(lo=st.floats(0.01, 0.8), width=st.floats(0.02, 0.19), conf=st.sampled_from([0.8, 0.9, 0.95]))
def test_written_range_round_trips_through_the_file(tmp_path_factory, lo, width, conf):
    """A range written in TOML comes back as the implied quantiles of the loaded prior."""
    hi = round(lo + width, 6)
    lo = round(lo, 6)
    text = GOOD.replace("range = [0.30, 0.50]", f"range = [{lo}, {hi}]\nconfidence = {conf}")
    p = tmp_path_factory.mktemp("rt") / "p.toml"
    p.write_text(text)
    prior = toy(p).priors["share"]
    tail = round((1 - conf) / 2, 12)
    implied = prior.implied([tail, 1 - tail])
    assert abs(implied[0] - lo) <= 0.005 * (hi - lo) and abs(implied[1] - hi) <= 0.005 * (hi - lo)


def test_a_file_parsed_once_gives_each_reader_its_own_tables(write_toml, monkeypatch):
    """Priors files are parsed once per content: every reader gets a copy of the tables
    it can change without changing what the next reader gets, an edited file is parsed
    afresh, and every shipped file and scenario loads as when each read parses anew."""
    import importlib
    from pathlib import Path

    from riskmc.api import load as load_bound
    from tests.conftest import ROOT
    compose = importlib.import_module("riskmc.priors.compose")  # where priors files are read
    path = write_toml(GOOD)
    first = compose._read(path)
    first.data["priors"]["share"]["range"][0] = 99.0
    del first.data["priors"]["size"]
    again = compose._read(path)
    assert again.data["priors"]["share"]["range"] == [0.30, 0.50] and "size" in again.data["priors"]
    assert toy(path).priors["share"].stated == {0.05: 0.30, 0.95: 0.50}
    path.write_text(GOOD.replace("range = [0.30, 0.50]", "range = [0.20, 0.40]"))
    assert toy(path).priors["share"].stated == {0.05: 0.20, 0.95: 0.40}

    class Forgetful(dict):
        def __setitem__(self, key, value):  # keeps nothing: every read parses
            pass

    def every_load(f):
        ps = load_bound(f)
        return [{n: p.as_dict() for n, p in load_bound(f, scenario=s).priors.items()} for s in (None, *ps.scenarios)]
    for f in sorted(Path(ROOT, "priors").glob("*.toml")):
        with monkeypatch.context() as m:
            m.setattr(compose, "_PARSED", Forgetful())
            parsed_anew = every_load(f)
        assert every_load(f) == parsed_anew, f.name


def test_claim_thresholds_read_percent_and_money_as_events_do(tmp_path):
    """between = ["45%", "50%"] is the claim between = [0.45, 0.50]; above = "$160B" on an
    output in $B is 160."""
    import riskmc
    from tests.conftest import BASE
    p = tmp_path / "c.toml"
    p.write_text(f'extends = "{BASE}"\n[claims.C1]\noutput = "nvidia_share"\nyear = 2030\nbetween = ["45%", "50%"]\n'
                 '[claims.big]\noutput = "aws_revenue"\nyear = 2030\nabove = "$160B"\n')
    got, base = riskmc.load(p).claims, riskmc.load(BASE).claims
    assert (got["C1"].above, got["C1"].below) == (0.45, 0.50) == (base["C1"].above, base["C1"].below)
    assert got["big"].above == 160.0


def test_a_byte_order_mark_is_read_past(tmp_path):
    """Windows Notepad saves UTF-8 with a byte-order mark: the file reads as without it."""
    import riskmc
    from tests.conftest import BASE
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + f'extends = "{BASE}"\ntitle = "with a BOM"\n'.encode())
    assert riskmc.load(p).title == "with a BOM"


def test_prior_numbers_read_percent_and_money_as_events_do(tmp_path):
    """range = ["30%", "50%"] on a share is range = [0.30, 0.50]; ["$380B", "$520B"] on an
    input in $B is [380, 520]; a percent on money is one line saying so."""
    import riskmc
    from tests.conftest import BASE
    base = riskmc.load(BASE).priors
    p = tmp_path / "w.toml"
    p.write_text(f'extends = "{BASE}"\n[priors.custom_share_2030]\nrange = ["30%", "50%"]\n'
                 '[priors.ai_capex_2025]\nrange = ["$380B", "$520B"]\n')
    got = riskmc.load(p).priors
    for name in ("custom_share_2030", "ai_capex_2025"):
        assert got[name].family == base[name].family and got[name].stated == base[name].stated
    # A probability reads a percent whatever the input's unit; text stays text.
    p.write_text(f'extends = "{BASE}"\n[priors.ramp_slip]\np = "25%"\n[priors.aws_revenue_2025]\ndescription = "5%"\n')
    got = riskmc.load(p).priors
    assert got["ramp_slip"].family == base["ramp_slip"].family and got["aws_revenue_2025"].description == "5%"
    p.write_text(f'extends = "{BASE}"\n[priors.ai_capex_2025]\nrange = ["30%", "50%"]\n')
    with pytest.raises(riskmc.RiskmcError) as exc:
        riskmc.load(p)
    assert str(exc.value) == (f"{p}:3: prior 'ai_capex_2025': 30% is a percent, but ai_capex_2025 is in $B, in "
                              "\"range = [30%, 50%]\" (write the number in ai_capex_2025's own unit)")


def test_an_unused_prior_names_a_few_inputs_not_all(tmp_path):
    """The market model has 33 inputs: the hint names six and counts the rest."""
    import riskmc
    from tests.conftest import BASE
    p = tmp_path / "u.toml"
    p.write_text(f'extends = "{BASE}"\n[priors.churn_rate]\n{META}value = 0.1\n')
    with pytest.raises(riskmc.RiskmcError) as exc:
        riskmc.load(p)
    said = str(exc.value)
    assert "custom_share_2030 and 27 more that riskmc priors show lists; to use this prior" in said
    assert len(said) - len(str(p)) < 400   # was about 1,000 characters
