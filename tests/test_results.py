"""Typed results and the JSON at the edge: what riskmc.results makes is what the shipped
schema describes, and JSON read back is the same typed value."""

from __future__ import annotations

import json
import math
from importlib import resources

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import riskmc
from riskmc.results import STATISTICS, Estimate, Moments, Stats
from riskmc.store.io import dumps_json, jsonable

SCHEMA = json.loads(resources.files("riskmc.schemas").joinpath("summary.schema.json").read_text())


def _check(instance, definition: str) -> None:
    jsonschema.validate(instance, {"$ref": f"#/$defs/{definition}", "$defs": SCHEMA["$defs"]})


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
errors = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
estimates = st.builds(Estimate, finite, errors)
stats = st.builds(Stats, *[estimates] * len(STATISTICS)).filter(lambda s: s.sd.value >= 0)


@given(estimates)
def test_an_estimate_is_the_schemas_estimate_and_reads_back(e):
    _check(e.to_json(), "estimate")
    assert Estimate.from_json(json.loads(dumps_json(e))) == e


@given(stats)
def test_stats_are_the_schemas_stats_and_read_back(s):
    _check(s.to_json(), "stats")
    assert list(s.to_json()) == list(STATISTICS)  # summary.json's field names, in its order
    assert Stats.from_json(json.loads(dumps_json({"x": s}))["x"]) == s


@given(st.floats(0, 1), errors)
def test_a_probability_is_the_schemas_probability(p, se):
    _check(Estimate(p, se).to_json(), "probability")


def test_jsonable_reaches_inside_containers_and_leaves_the_rest():
    e = Estimate(1.5, 0.25)
    doc = {"a": [e, (e, 2)], "b": {"c": Moments(e, Estimate(0.5, 0.0))}, "d": "text", "n": None}
    assert jsonable(doc) == {"a": [{"value": 1.5, "mcse": 0.25}, [{"value": 1.5, "mcse": 0.25}, 2]],
                             "b": {"c": {"mean": {"value": 1.5, "mcse": 0.25}, "sd": {"value": 0.5, "mcse": 0.0}}},
                             "d": "text", "n": None}


def test_estimate_arithmetic():
    d = Estimate(3.0, 0.3).minus(Estimate(1.0, 0.4))
    assert d == Estimate(2.0, 0.5)
    assert d.within(2.9, k=2) and not d.within(3.1, k=2)
    assert Stats.constant(7.0) == Stats.from_json({k: {"value": 0.0 if k == "sd" else 7.0, "mcse": 0.0}
                                                   for k in STATISTICS})
    with pytest.raises(KeyError):
        Stats.constant(1.0)["p99"]


def test_a_runs_typed_results_are_its_summary():
    """result.stats and result.claims are the figures summary.json holds, one for one."""
    r = riskmc.run("priors/base.toml", draws=4096, seed=3)
    m = r.priors.model
    assert set(r.claims) == set(r.summary["claims"])
    for name, p in r.claims.items():
        assert r.summary["claims"][name]["probability"] == p.to_json()
        _check(p.to_json(), "probability")
    for o in m.outputs:
        for y in m.years:
            s = r.stats[f"{o.name}[{y}]"]
            assert r.summary["outputs"][o.name]["years"][str(y)] == s.to_json()
            assert all(math.isfinite(e.value) and e.mcse >= 0 for _, e in s.items())


options = st.builds(lambda p, e, b: (p, e, b), st.text(min_size=1, max_size=8), estimates,
                    st.builds(Estimate, st.floats(0, 1), errors))


@given(st.dictionaries(st.text(min_size=1, max_size=6), options, min_size=2, max_size=4), st.text(max_size=10))
def test_a_priced_decision_is_the_schemas_decision(opts, unit):
    from riskmc.results import DecisionPrice, OptionPrice
    priced = {k: OptionPrice(p, e, b) for k, (p, e, b) in opts.items()}
    d = DecisionPrice("a choice", unit, priced, max(priced, key=lambda k: priced[k].expected.value))
    _check(d.to_json(), "decision")
    assert json.loads(dumps_json({"d": d}))["d"] == d.to_json()
