"""Models of one's own: written in a file as a user would, in both styles, run end to end
through the command line; the shipped vendors and Ishigami models; bad models get one line."""

import json
import math
import re
import shutil
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

import riskmc
from riskmc.cli import app
from tests.conftest import ROOT

runner = CliRunner()

META = 'description = "d"\nunit = "x"\nsource = "assumption"\n'

VECTORISED = '''
"""# Growth

Revenue grows from a base at a yearly rate: `revenue_t = base (1 + growth)^t`."""

import numpy as np

import riskmc


def growth(x, years):
    t = np.arange(len(years))
    revenue = x["base"][:, None] * (1 + x["rate"][:, None]) ** t
    return {"revenue": revenue, "doubled": (revenue >= 2 * x["base"][:, None]).astype(float)}


MODEL = riskmc.Model(
    "growth",
    inputs=[riskmc.Input("base", "$B", "revenue in the first year", 0),
            riskmc.Input("rate", "fraction/yr", "growth per year", -1)],
    outputs=[riskmc.Output("revenue", "$B", "revenue", headline=True),
             riskmc.Output("doubled", "event", "revenue at least doubled")],
    years=range(2025, 2031),
    vectorised=growth,
    doc=__doc__,
)
'''

COMPILED = '''
import riskmc


def growth(rate, base, years, out):
    r = base
    for t in range(years.shape[0]):
        out[0, t] = r
        out[1, t] = 1.0 if r >= 2 * base else 0.0
        r *= 1.0 + rate


MODEL = riskmc.Model(
    "growth",
    inputs=[riskmc.Input("base", "$B", "revenue in the first year", 0),
            riskmc.Input("rate", "fraction/yr", "growth per year", -1)],
    outputs=[riskmc.Output("revenue", "$B", "revenue", headline=True),
             riskmc.Output("doubled", "event", "revenue at least doubled")],
    years=range(2025, 2031),
    compiled=growth,
    doc="Revenue grows from a base at a yearly rate.",
)
'''

PRIORS = f'''
model = "growth.py"
title = "Growth"

[priors.base]
{META}range = [90, 110]

[priors.rate]
{META}family = "normal"
mean = 0.15
sd = 0.05

[claims.double]
text = "Revenue doubles by 2030."
output = "revenue"
year = 2030
above = 200
'''


@pytest.fixture
def project(tmp_path):
    """A user's folder: priors/growth.toml naming models/growth.py, as written by hand."""

    def make(model_source: str, priors: str = PRIORS):
        (tmp_path / "models").mkdir(exist_ok=True)
        (tmp_path / "priors").mkdir(exist_ok=True)
        (tmp_path / "models" / "growth.py").write_text(textwrap.dedent(model_source).lstrip())
        p = tmp_path / "priors" / "growth.toml"
        p.write_text(textwrap.dedent(priors).lstrip().replace('"growth.py"', '"../models/growth.py"'))
        return p

    return make


def run_cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("source", [VECTORISED, COMPILED], ids=["vectorised", "compiled"])
def test_a_users_model_runs_end_to_end(project, tmp_path, source):
    p = project(source)
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"run{workers}"
        r = run_cli("run", p, "--draws", 40_000, "--seed", 5, "--workers", workers, "--out", out, "--quiet",
                    "--depfile", out / "deps.mk")
        assert r.exit_code == 0, r.output
        outs.append(out)
    # Same numbers for 1 and 2 workers, byte for byte.
    for name in ("summary.json", "draws.parquet", "report.html"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    s = json.loads((outs[0] / "summary.json").read_text())
    model_file = tmp_path / "models" / "growth.py"
    import hashlib
    assert s["model"]["name"] == "growth" and s["model"]["path"] == str(model_file)
    assert s["model"]["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    # The known answer: revenue in 2030 is base * (1 + rate)^5; check the median by simulation
    # of the same distributions, within its MCSE.
    med = s["outputs"]["revenue"]["years"]["2030"]["p50"]
    rng = np.random.default_rng(0)
    base = np.exp(rng.normal(*_lognormal_params(90, 110), 4_000_000))
    ref = np.median(base * (1 + rng.normal(0.15, 0.05, 4_000_000)) ** 5)
    assert abs(med["value"] - ref) < 4 * med["mcse"] + 0.05
    # The model file is recorded where make can see it, and in the report.
    assert str(model_file) in (outs[0] / "deps.mk").read_text()
    html = (outs[0] / "report.html").read_text()
    assert s["model"]["sha256"] in html


def _lognormal_params(lo, hi):
    z = 1.6448536269514722
    mu = (math.log(lo) + math.log(hi)) / 2
    return mu, (math.log(hi) - math.log(lo)) / (2 * z)


def test_both_styles_give_the_same_numbers(project, tmp_path):
    sums = []
    for source in (VECTORISED, COMPILED):
        p = project(source)
        r = riskmc.run(p, draws=20_000, seed=3, keep_draws=True)
        sums.append(r.outputs["revenue"])
    np.testing.assert_allclose(sums[0], sums[1], rtol=1e-12)


def test_editing_the_model_file_changes_its_recorded_hash(project, tmp_path):
    p = project(VECTORISED)
    a = riskmc.run(p, draws=2_000, seed=1).summary["model"]["sha256"]
    (tmp_path / "models" / "growth.py").write_text(VECTORISED.replace("at least doubled", "at least 2x"))
    b = riskmc.run(p, draws=2_000, seed=1).summary["model"]["sha256"]
    assert a != b


def test_a_model_is_an_object_with_names_and_one_protocol():
    m = riskmc.load_model(ROOT / "examples" / "ishigami.py")
    assert m.name == "ishigami" and m.years is None and m.style == "compiled"
    out = m.evaluate({"x1": np.array([0.5]), "x2": np.array([1.0]), "x3": np.array([2.0])})
    y = math.sin(0.5) + 7 * math.sin(1.0) ** 2 + 0.1 * 2.0 ** 4 * math.sin(0.5)
    assert out["y"][0] == pytest.approx(y, rel=1e-14)


# ------------------------------------------------------------------ the shipped models
def test_ishigami_through_run_and_sensitivity(tmp_path):
    out = tmp_path / "ish"
    r = run_cli("run", ROOT / "examples" / "ishigami.toml", "--draws", 20_000, "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["years"] is None and "stats" in s["outputs"]["y"]
    # E[y] = 7/2 exactly (the other terms average to zero).
    m = s["outputs"]["y"]["stats"]["mean"]
    assert abs(m["value"] - 3.5) < 4 * m["mcse"]
    html = (out / "report.html").read_text()
    assert "Fan chart" not in html and "This model has no years" in html
    known_s1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    known_st = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
    # By default, first-order indices from the run's own draws; --saltelli adds totals.
    r = run_cli("sensitivity", ROOT / "examples" / "ishigami.toml", "--out", out)
    assert r.exit_code == 0, r.output
    res = json.loads((out / "sensitivity.json").read_text())
    rows = {row["factor"]: row for row in res["outputs"]["y"]["sobol"]}
    assert res["evaluations"] == res["draws"] == 2 ** 14
    for f in ("x1", "x2", "x3"):
        lo, hi = rows[f]["S1_ci"]
        assert lo - 0.01 <= known_s1[f] <= hi + 0.01, (f, rows[f])
        assert rows[f]["ST"] is None
    r = run_cli("sensitivity", ROOT / "examples" / "ishigami.toml", "--saltelli", "--draws", 2 ** 15, "--out", out)
    assert r.exit_code == 0, r.output
    res = json.loads((out / "sensitivity.json").read_text())
    rows = {row["factor"]: row for row in res["outputs"]["y"]["sobol"]}
    for f in ("x1", "x2", "x3"):
        lo, hi = rows[f]["S1_ci"]
        assert lo - 0.01 <= known_s1[f] <= hi + 0.01, (f, rows[f])
        lo, hi = rows[f]["ST_ci"]
        assert lo - 0.01 <= known_st[f] <= hi + 0.01, (f, rows[f])
    assert "Sobol indices [95% bootstrap interval]" in (out / "report.html").read_text()


def test_a_new_user_adds_a_vendor_without_touching_riskmc(tmp_path):
    """Copy models/vendors.py, add a vendor, run: its share is in the report."""
    (tmp_path / "models").mkdir()
    (tmp_path / "priors").mkdir()
    src = (ROOT / "models" / "vendors.py").read_text()
    assert '    "meta_mtia": "Meta MTIA",\n' in src
    src = src.replace('    "meta_mtia": "Meta MTIA",\n', '    "meta_mtia": "Meta MTIA",\n    "oracle_ampere": "Oracle Ampere",\n')
    (tmp_path / "models" / "vendors.py").write_text(src)
    priors = (ROOT / "priors" / "vendors.toml").read_text()
    priors += ('\n[priors.oracle_ampere_share_2025]\ndescription = "d"\nunit = "fraction"\nsource = "assumption"\n'
               "range = [0.001, 0.005]\n\n[priors.oracle_ampere_share_2030]\ndescription = \"d\"\nunit = \"fraction\"\n"
               'source = "assumption"\nrange = [0.005, 0.02]\n')
    (tmp_path / "priors" / "vendors.toml").write_text(priors)
    out = tmp_path / "reports" / "vendors"
    r = run_cli("run", tmp_path / "priors" / "vendors.toml", "--draws", 20_000, "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    share = s["outputs"]["oracle_ampere_share"]["years"]["2030"]["p50"]["value"]
    assert 0.004 < share < 0.02
    assert "Oracle Ampere&#39;s share of AI-accelerator spend" in (out / "report.html").read_text()


def test_vendors_and_market_agree_on_nvidia_under_matching_priors():
    """With every custom vendor's share equal to the market model's hyperscaler fraction x
    custom spend share, and AMD's to the other merchant share, NVIDIA's share is the same
    in 2025 and 2030 (the ramps differ in between: docs/vendors.md)."""
    market = riskmc.model.resolve("market")
    vendors = riskmc.load_model(ROOT / "models" / "vendors.py")
    h, c, w25, w30, o25, o30 = 0.6, 0.35, 0.2, 0.4, 0.08, 0.15
    point = {i.name: np.array([float(np.clip(1.0, i.lower, i.upper))]) for i in market.inputs}
    point.update({k: np.array([v]) for k, v in dict(
        hyperscaler_fraction=h, custom_cost_advantage=c, custom_share_2025=w25, custom_share_2030=w30,
        other_merchant_share_2025=o25, other_merchant_share_2030=o30, custom_ramp_midpoint=2027.5, ramp_slip=0.0,
        gpu_asp_peak_year=2031.0, gpu_asp_decline=0.1, ai_capex_2025=400.0, ai_capex_cum_2030=3000.0,
        accelerator_fraction=0.5, aws_margin_2025=0.35, aws_share_of_amazon_oi_2025=0.6).items()})
    m = market.evaluate(point)["nvidia_share"][0]

    def sigma(w):  # custom share of hyperscaler spend at 2025 GPU prices
        return w * (1 - c) / (w * (1 - c) + (1 - w))

    v_in = {i.name: np.array([0.0]) for i in vendors.inputs}
    v_in.update({k: np.array([v]) for k, v in dict(
        ai_capex_2025=400.0, ai_capex_cum_2030=3000.0, accelerator_fraction=0.5, custom_ramp_midpoint=2027.5,
        google_tpu_share_2025=h * sigma(w25), google_tpu_share_2030=h * sigma(w30),
        amd_merchant_share_2025=o25, amd_merchant_share_2030=o30).items()})
    v = vendors.evaluate(v_in)["nvidia_share"][0]
    assert v[0] == pytest.approx(m[0], abs=1e-12) and v[-1] == pytest.approx(m[-1], abs=1e-12)
    assert np.max(np.abs(v - m)) < 0.01  # between the end points the two ramps differ a little


# ------------------------------------------------------------------ bad models: one line, exit 3
def _broken(source_edit=None, priors_edit=None):
    return source_edit, priors_edit


BAD = [
    ("missing-file", None, lambda t: t.replace("../models/growth.py", "../models/nope.py"),
     r"{p}:1: no model file at {d}/models/nope\.py \(the path is relative to the priors file that names it\)"),
    ("syntax", lambda s: s.replace("def growth(x, years):", "def growth(x, years)"), None,
     r"{m}:10: Python syntax error: expected ':' \(fix the model file\)"),
    ("no-model", lambda s: s + "\ndel MODEL\n", None,
     r"{m}: the file defines no riskmc\.Model \(end it with, e\.g\., MODEL = riskmc\.Model\(\"name\", inputs=\.\.\., "
     r"outputs=\.\.\., vectorised=f\); see docs/models\.md\)"),
    ("two-models", lambda s: s + "\nOTHER = riskmc.Model('other', inputs=MODEL.inputs, outputs=MODEL.outputs, "
     "vectorised=growth)\n", None,
     r"{m}: the file defines 2 models \(growth, other\): keep one per file"),
    ("import-fails", lambda s: s.replace("import numpy as np\n", "import numpy as np\nimport pandasx\n"), None,
     r"{m}:6: running the model file failed: ModuleNotFoundError: No module named 'pandasx' \(fix the model file\)"),
    ("no-prior", lambda s: s.replace('riskmc.Input("rate", "fraction/yr", "growth per year", -1)]',
                                     'riskmc.Input("rate", "fraction/yr", "growth per year", -1), riskmc.Input("tax")]'),
     None, r"{p}: model 'growth' needs priors that no file gives: tax \(add a \[priors\.NAME\] table for each\)"),
    ("unused-prior", None, lambda t: t + f"\n[priors.churn]\n{META}value = 0.1\n",
     r"{p}:\d+: prior 'churn' is not used by model 'growth' \(its inputs are base, rate; to use this prior, add "
     r"riskmc\.Input\(\"churn\"\) to a model of your own \(docs/models\.md\), or pass --allow-unused\)"),
    ("raises", lambda s: s.replace("    t = np.arange(len(years))\n",
                                   "    t = np.arange(len(years))\n    if (x['rate'] > 0.25).any():\n"
                                   "        raise ValueError('rate too high for this model')\n"), None,
     r"{m}:\d+: model 'growth': growth failed at draw [\d,]+ with ValueError: rate too high for this model; the draw's "
     r"inputs: base=[\d.]+, rate=0\.(?:2[5-9]|[3-9])\d* \(fix the function, or the priors that reach these inputs\)"),
    ("wrong-shape", lambda s: s.replace('return {"revenue": revenue,', 'return {"revenue": revenue[:, 0],'), None,
     r"{m}: model 'growth': output 'revenue' has shape \(\d+,\), expected \(\d+, 6\) \(draws x years\)"),
    ("missing-output", lambda s: s.replace(', "doubled": (revenue >= 2 * x["base"][:, None]).astype(float)', ""),
     None, r"{m}: model 'growth': the function returned no 'doubled' \(it returned revenue\)"),
    ("not-finite", lambda s: s.replace('revenue = x["base"][:, None] * (1 + x["rate"][:, None]) ** t',
                                       'revenue = x["base"][:, None] * (1 + x["rate"][:, None]) ** t / (t >= 3)'),
     None, r"{m}: the model gave inf for revenue\[2025\] at draw 0 \(16,384 draws of this chunk are not finite\); the "
     r"draw's inputs: base=[\d.]+, rate=[-\d.]+ \(check the model's equations at these inputs, or the priors that "
     r"reach them\)"),
    ("no-headline", lambda s: s.replace('"revenue", headline=True)', '"revenue")'), None,
     r"{m}:\d+: model 'growth': mark at least one output headline=True: it leads the report"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_a_bad_model_gets_one_line_and_nothing_written(project, tmp_path, case):
    _, edit_model, edit_priors, pattern = case
    p = project(edit_model(VECTORISED) if edit_model else VECTORISED)
    if edit_priors:
        p.write_text(edit_priors(p.read_text()))
    out = tmp_path / "out"
    # A fixed seed: which draw fails first (and its inputs) depends on it.
    r = run_cli("run", p, "--draws", 20_000, "--seed", 7, "--out", out, "--quiet")
    assert r.exit_code == 3, r.output
    assert "Traceback" not in r.output and r.stderr.count("\n") == 1, r.stderr
    m = str(tmp_path / "models" / "growth.py")
    want = pattern.replace("{p}", re.escape(str(p))).replace("{m}", re.escape(m)).replace("{d}", re.escape(str(tmp_path)))
    assert re.fullmatch("riskmc: error: " + want, r.stderr.strip()), r.stderr
    assert not out.exists()


def test_compiled_function_parameters_must_be_the_inputs(project, tmp_path):
    p = project(COMPILED.replace("def growth(rate, base, years, out):", "def growth(rate, bas, years, out):")
                .replace("r = base", "r = bas").replace("2 * base", "2 * bas"))
    r = run_cli("run", p, "--draws", 2_000, "--out", tmp_path / "o", "--quiet")
    assert r.exit_code == 3
    assert r.stderr == (f"riskmc: error: {tmp_path / 'models' / 'growth.py'}:12: model 'growth': growth takes 'bas', "
                        "which is not one of the model's inputs (base, rate)\n")


def test_copying_the_shipped_vendors_model_keeps_working(tmp_path):
    shutil.copy(ROOT / "models" / "vendors.py", tmp_path / "vendors.py")
    text = (ROOT / "priors" / "vendors.toml").read_text().replace('"../models/vendors.py"', '"vendors.py"')
    (tmp_path / "v.toml").write_text(text)
    r = riskmc.run(tmp_path / "v.toml", draws=2_000, seed=1)
    assert set(r.summary["claims"]) == {"C1", "C4"}


def test_a_compiled_function_numba_cannot_compile_is_one_line(project, tmp_path):
    p = project(COMPILED.replace("import riskmc\n", "import os\n\nimport riskmc\n")
                .replace("        r *= 1.0 + rate\n", "        r *= 1.0 + rate + len(os.getcwd())\n"))
    r = run_cli("run", p, "--draws", 2_000, "--out", tmp_path / "o", "--quiet")
    assert r.exit_code == 3, r.output
    assert r.stderr.startswith(f"riskmc: error: {tmp_path / 'models' / 'growth.py'}: model 'growth': numba cannot "
                               "compile growth: ")
    assert r.stderr.endswith("(compiled functions take numbers and arrays only; see docs/models.md, or write the "
                             "model in the vectorised style)\n") and r.stderr.count("\n") == 1
