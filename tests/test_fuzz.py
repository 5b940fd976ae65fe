"""A corpus of mistakes and damage: each ends in its exit code and one line, never a traceback,
and a folder holding an earlier run is left byte for byte as it was.

Malformed priors, CLI values at their limits, damaged run folders; faults between commit
steps are in test_commit.py, signals at random instants in test_pipeline.py, random edits
of the priors in test_priors_fuzz.py.
"""

import json
import os
import re
import shutil

import pyarrow.parquet as pq
import pytest
from scipy import stats
from typer.testing import CliRunner

from riskmc.cli import app
from tests.conftest import BASE

BASE_TEXT = BASE.read_text()


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in BASE_TEXT, old
    return BASE_TEXT.replace(old, new, count)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# (id, priors text, expected stderr as a regex with {p} for the file, exit code)
PRIORS_CASES = [
    ("claim-years-int", edit("year = 2030\nbetween", "years = 2030\nbetween"),
     r"{p}:\d+: claim 'C1': 'years' must be a list of years, e\.g\. years = \[2025, 2026, 2027\]", 3),
    ("claim-output-list", edit('output = "nvidia_share"', 'output = ["nvidia_share"]'),
     r"{p}:\d+: claim 'C1': 'output' must name one output in quotes \(one of: .*\)", 3),
    ("claim-output-table", edit('output = "nvidia_share"', "output = {a = 1}"),
     r"{p}:\d+: claim 'C1': 'output' must name one output in quotes \(one of: .*\)", 3),
    ("claim-years-twice", edit("years = [2025, 2026, 2027]", "years = [2025, 2025, 2027]"),
     r"{p}:\d+: claim 'C4': 'years' names a year twice", 3),
    # A share's threshold in percent: refused as events refuse it, never a probability of 0.
    ("claim-between-percent", edit("between = [0.45, 0.50]", "between = [45, 50]"),
     r"{p}:\d+: claim 'C1': nvidia_share is a share from 0 to 1, compared with 45 in \"between = \[45, 50\]\" "
     r"\(did you mean 0\.45 or 45%\?\)", 3),
    ("duplicate-key", edit('unit = "fraction"\nsource = "essay F4/F16', 'range = [0.2, 0.4]\nunit = "fraction"\nsource = '
                           '"essay F4/F16'),
     r"{p}:\d+: malformed TOML: 'range' is given twice in its table \(keep one of them\)", 3),
    # A prior in another unit than the model reads: its numbers would be taken as the model's.
    ("prior-unit-money-for-share",
     edit('description = "Custom silicon\'s share of hyperscaler AI workloads in 2030"\nunit = "fraction"',
          'description = "Custom silicon\'s share of hyperscaler AI workloads in 2030"\nunit = "$B"'),
     r"{p}:\d+: prior 'custom_share_2030': unit '\$B', but the model reads custom_share_2030 in 'fraction' "
     r"\(state it in the model's unit: unit = \"fraction\"\)", 3),
    ("claim-below-money", edit("between = [0.45, 0.50]", 'below = "$160B"'),
     r"{p}:\d+: claim 'C1': \$160B is money, but nvidia_share is in fraction, in \"below = \$160B\" \(write the "
     r"number in nvidia_share's own unit\)", 3),
    ("scenario-priors-number", edit("[scenarios.nvidia-price-war]\n", "[scenarios.nvidia-price-war]\npriors = 5\n")
     .replace("[scenarios.nvidia-price-war.priors.gpu_asp_peak_year]\nfamily = \"uniform\"\nlower = 2025.5\n"
              "upper = 2026.5\n\n[scenarios.nvidia-price-war.priors.gpu_asp_decline]\nrange = [0.10, 0.25]", ""),
     r"{p}:\d+: 'priors' must be a table: \[scenarios\.nvidia-price-war\.priors\]", 3),
    ("range-near-max-float", edit("range = [3.0, 6.0]", "range = [1e308, 1.7e308]"),
     r"{p}:\d+: prior 'aws_capacity_add_gw': lognormal\(mu=709\.462, sigma=0\.1613\) reaches values too large "
     r"to compute with \(beyond 1e\+100 in its far tails\) \(state aws_capacity_add_gw in a smaller unit, or "
     r"narrow its range\)", 3),
    # Too small to compute with: refused, never 'met' by a fallback family in digits it has lost.
    ("range-subnormal", edit("range = [3.0, 6.0]", "range = [1e-320, 2e-320]"),
     r"{p}:\d+: prior 'aws_capacity_add_gw': \w+ cannot be fitted to these quantiles: they are too small or too "
     r"close together to compute with .*\(state the quantity in another unit, so its values are moderate\)", 3),
    ("range-huge", edit("range = [3.0, 6.0]", "range = [1e300, 1e305]"),
     r"{p}:\d+: prior 'aws_capacity_add_gw': lognormal\(.*\) reaches values too large to compute with .*", 3),
    ("outputs-overflow", edit("range = [126, 131]", "range = [1e98, 1.5e98]"),
     r"the model's outputs in chunk 0 do not sum to a finite number \(values too large to add up\) \(state the "
     r"priors in a larger unit \(e\.g\. \$B, not \$\) so outputs stay moderate\)", 3),
    ("nested-deep", "x = " + "[" * 3000 + "]" * 3000 + "\n",
     r"{p}:1: malformed TOML: values nested too deeply \(a priors file nests tables and lists a few levels at most\)", 3),
    ("title-number", edit('title = "Base case', 'title = 5\n#"'),
     r"{p}:\d+: 'title' must be text in quotes", 3),
    ("owner-table", edit('source = "essay F6', 'owner = {a = 1}\nsource = "essay F6'),
     r"{p}:\d+: prior 'ai_capex_cum_2030': 'owner' must be text in quotes", 3),
    ("scenario-escapes", edit("trainium-slip]", '"x/../../../../elsewhere/ESCAPED"]', 1)
     .replace("[scenarios.trainium-slip.priors", '[scenarios."x/../../../../elsewhere/ESCAPED".priors'),
     r"{p}:\d+: scenario name 'x/\.\./\.\./\.\./\.\./elsewhere/ESCAPED' may hold only letters, digits, '_', '-' "
     r"and '\.' \(it becomes part of file and folder names\) \(rename it, e\.g\. x_elsewhere_ESCAPED\)", 3),
    ("claim-name-slash", edit("[claims.C2]", '[claims."C2/x"]'),
     r"{p}:\d+: claim name 'C2/x' may hold only letters, .*", 3),
    ("run-draws-huge", edit("draws = 100000", "draws = 9223372036854775807"),
     r"{p}:\d+: \[run\] draws must be at most 1,000,000,000,000, got 9,223,372,036,854,775,807 \(run fewer "
     r"draws; --target-mcse adds draws until the answer is precise enough\)", 3),
    ("extends-dev-zero", 'extends = "/dev/zero"\n',
     r"{p}:1: 'extends' names /dev/zero: not a regular file, so not a priors file \(name a \.toml file\)", 3),
    ("extends-outside", 'extends = "/etc/passwd"\n',
     r"/etc/passwd:1: not a usable priors file \(riskmc quotes nothing from files outside the priors' "
     r"folder: check it there\)", 3),
    ("extends-fifo", 'extends = "fifo.toml"\n',
     r"{p}:1: 'extends' names fifo\.toml: not a regular file, so not a priors file \(name a \.toml file\)", 3),
    ("extends-huge", 'extends = "huge.toml"\n',
     r"{p}:1: 'extends' names huge\.toml: larger than 1 MiB, so not a priors file", 3),
]

# (id, extra arguments, expected stderr regex, exit code); env in the id after '@'
CLI_CASES = [
    ("draws-2**63", ["--draws", str(2 ** 63)],
     r"draws must be at most 1,000,000,000,000 \(days of sampling here\), got 9,223,372,036,854,775,808 "
     r"\(run fewer draws; --target-mcse adds draws until the answer is precise enough\)", 2),
    ("scheduler-garbage", ["--backend", "dask", "--scheduler", "garbage"],
     r"cannot reach the Dask scheduler at garbage: missing port number in address 'garbage' \(give an "
     r"address such as tcp://127\.0\.0\.1:8786\)", 2),
    ("scheduler-without-dask", ["--scheduler", "tcp://127.0.0.1:1"], r"--scheduler goes with --backend dask", 2),
    ("target-inf", ["--target-mcse", "inf"], r"target MCSE must be a positive, finite number, got inf", 2),
    ("target-nan", ["--target-mcse", "nan"], r"target MCSE must be a positive, finite number, got nan", 2),
    ("target-zero", ["--target-mcse", "0"], r"target MCSE must be a positive, finite number, got 0\.0", 2),
    ("max-draws-alone", ["--max-draws", "100000"], r"--max-draws goes with --target-mcse", 2),
    ("epoch-abc@SOURCE_DATE_EPOCH=abc", [],
     r"SOURCE_DATE_EPOCH must be whole seconds since 1970 \(before year 10000\), got 'abc'", 2),
    ("epoch-1e20@SOURCE_DATE_EPOCH=1e20", [],
     r"SOURCE_DATE_EPOCH must be whole seconds since 1970 \(before year 10000\), got '1e20'", 2),
    ("epoch-far@SOURCE_DATE_EPOCH=100000000000000", [],
     r"SOURCE_DATE_EPOCH must be whole seconds since 1970 \(before year 10000\), got '100000000000000'", 2),
]

runner = CliRunner()


def one_line(result, pattern: str, code: int):
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    err = result.stderr
    assert "Traceback" not in result.output
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert re.fullmatch("riskmc: error: " + pattern, err[:-1]), err


def files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A folder holding a complete earlier run, which no failed command may touch."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    r = runner.invoke(app, ["run", str(BASE), "--draws", "3000", "--seed", "1", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    return out, files(out)


@pytest.mark.parametrize("case", PRIORS_CASES, ids=[c[0] for c in PRIORS_CASES])
def test_malformed_priors(tmp_path, earlier, case):
    _, text, pattern, code = case
    out, before = earlier
    if "fifo.toml" in text:
        os.mkfifo(tmp_path / "fifo.toml")
    if "huge.toml" in text:
        (tmp_path / "huge.toml").write_text("# " + "x" * (1 << 20) + "\n")
    p = tmp_path / "p.toml"
    p.write_text(text)
    r = runner.invoke(app, ["run", str(p), "--draws", "2000", "--out", str(out), "--quiet"])
    one_line(r, pattern.replace("{p}", re.escape(str(p))).replace("{d}", re.escape(str(tmp_path))), code)
    assert files(out) == before
    if "ESCAPED" in text:
        assert not list(tmp_path.parent.rglob("ESCAPED"))


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_values_at_their_limits(monkeypatch, earlier, case):
    name, args, pattern, code = case
    out, before = earlier
    if "@" in name:
        key, value = name.split("@")[1].split("=")
        monkeypatch.setenv(key, value)
    r = runner.invoke(app, ["run", str(BASE), "--out", str(out), "--quiet", *args])
    one_line(r, pattern, code)
    assert files(out) == before


def test_correlations_singular_to_rounding_still_run(tmp_path):
    """1.0, 1.0 and 0.99999999996: an eigenvalue of -1e-12, which is rounding, not a mistake."""
    text = edit('"custom_share_2030 ~ custom_cost_advantage" = 0.4',
                '"custom_share_2030 ~ custom_cost_advantage" = 1.0\n"custom_share_2030 ~ aws_margin_2025" = 1.0\n'
                '"custom_cost_advantage ~ aws_margin_2025" = 0.99999999996')
    p = tmp_path / "p.toml"
    p.write_text(text)
    out = tmp_path / "o"
    r = runner.invoke(app, ["run", str(p), "--draws", "2000", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    # Rounding is not a mistake: nothing is repaired (repair = true is not set, and a matrix
    # the copula cannot hold is refused), the run records the correlations as stated...
    summary = _summary(out)
    assert not [n for n in summary["notes"] if "repaired" in n]
    stated = {("custom_share_2030", "custom_cost_advantage"): 1.0, ("custom_share_2030", "aws_margin_2025"): 1.0,
              ("custom_cost_advantage", "aws_margin_2025"): 0.99999999996,
              ("ai_capex_cum_2030", "aws_capacity_add_gw"): 0.5, ("ai_capex_2025", "ai_capex_cum_2030"): 0.6}
    assert {tuple(c["between"]): c["spearman"] for c in summary["correlations"]} == stated
    # ...and its draws hold them: the three priors tied at 1.0 move as one (ranks equal to
    # 1e-3), the others within 0.1 (5 standard errors at 2000 draws).
    draws = pq.read_table(out / "draws.parquet")
    for (a, b), rho in stated.items():
        got = stats.spearmanr(draws.column(a).to_numpy(), draws.column(b).to_numpy()).statistic
        assert abs(got - rho) < (1e-3 if rho > 0.99 else 0.1), (a, b, got)


# ---------------------------------------------------------------- damaged run folders
def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


def _set(folder, doc):
    (folder / "summary.json").write_text(json.dumps(doc))


DAMAGE = [
    ("empty-object", lambda f: _set(f, {}), r"summary\.json is not what riskmc writes: at the top level: "
     r"'riskmc_version' is a required property \(re-run the command that wrote it\)"),
    ("list", lambda f: _set(f, []), r"summary\.json is not what riskmc writes: at the top level: \[\] is not of "
     r"type 'object' \(re-run the command that wrote it\)"),
    ("null", lambda f: _set(f, None), r"summary\.json is not what riskmc writes: at the top level: None is not "
     r"of type 'object' \(re-run the command that wrote it\)"),
    ("binary", lambda f: (f / "summary.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff"),
     r"summary\.json is not JSON text \(re-run the command that wrote it\)"),
    ("nan", lambda f: (f / "summary.json").write_text('{"draws": NaN}'),
     r"summary\.json is not JSON text \(re-run the command that wrote it\)"),
    ("wrong-type", lambda f: _set(f, {**_summary(f), "draws": "many"}),
     r"summary\.json is not what riskmc writes: at \$\.draws: 'many' is not of type 'integer' \(re-run the "
     r"command that wrote it\)"),
    ("missing-claims", lambda f: _set(f, {k: v for k, v in _summary(f).items() if k != "claims"}),
     r"summary\.json is not what riskmc writes: at the top level: 'claims' is a required property \(re-run "
     r"the command that wrote it\)"),
    ("missing-year", lambda f: _set(f, _drop_year(_summary(f))),
     r"summary\.json is not what riskmc writes: output 'nvidia_share' has no statistics for 2027 \(re-run the "
     r"command that wrote it\)"),
    ("negative-sd", lambda f: _set(f, _negative_sd(_summary(f))),
     r"summary\.json is not what riskmc writes: at \$\.outputs\.nvidia_share\.years\['2030'\]\.sd\.value: -0\.1 is "
     r"less than the minimum of 0 \(re-run the command that wrote it\)"),
    ("edited-title", lambda f: _set(f, {**_summary(f), "title": "changed by hand"}),
     r"summary\.json was changed after riskmc wrote it \(its SHA-256 differs from manifest\.json\) \(re-run the "
     r"command that wrote this folder\)"),
    ("summary-is-a-folder", lambda f: ((f / "summary.json").unlink(), (f / "summary.json").mkdir()),
     r"summary\.json is a folder, not a file"),
    ("no-summary", lambda f: (f / "summary.json").unlink(),
     r"no summary\.json here: is this a riskmc run folder\?"),
    ("manifest-damaged", lambda f: (f / "manifest.json").write_text("[1, 2"),
     r"manifest\.json is damaged \(re-run the command that wrote this folder\)"),
]

DRAWS_DAMAGE = [
    ("truncated", lambda f: (f / "draws.parquet").write_bytes((f / "draws.parquet").read_bytes()[:5000]),
     r"draws\.parquet is damaged or not a Parquet file \(re-run the command that wrote it\)"),
    ("garbage", lambda f: (f / "draws.parquet").write_bytes(b"PAR1" + os.urandom(3000) + b"PAR1"),
     r"draws\.parquet is damaged or not a Parquet file \(re-run the command that wrote it\)"),
    ("fewer-rows", lambda f: _fewer_rows(f),
     r"draws\.parquet has 1,000 rows but summary\.json says the run had 3,000 draws \(re-run the command that "
     r"wrote it\)"),
]


def _drop_year(s):
    del s["outputs"]["nvidia_share"]["years"]["2027"]
    return s


def _negative_sd(s):
    s["outputs"]["nvidia_share"]["years"]["2030"]["sd"]["value"] = -0.1
    return s


def _fewer_rows(folder):
    import polars as pl
    pl.read_parquet(folder / "draws.parquet").head(1000).write_parquet(folder / "draws.parquet")


@pytest.fixture
def damaged(tmp_path, earlier):
    src, _ = earlier
    folder = tmp_path / "run"
    shutil.copytree(src, folder)
    return folder


@pytest.mark.parametrize("case", DAMAGE, ids=[c[0] for c in DAMAGE])
@pytest.mark.parametrize("command", ["report", "compare", "verify"])
def test_damaged_run_folder(damaged, tmp_path, case, command):
    name, damage, pattern = case
    damage(damaged)
    before = files(damaged)
    if command == "report":
        r = runner.invoke(app, ["report", str(damaged)])
    elif command == "compare":
        r = runner.invoke(app, ["compare", str(damaged), str(damaged), "--out", str(tmp_path / "cmp")])
        assert not (tmp_path / "cmp").exists()
    else:
        r = runner.invoke(app, ["verify", str(damaged)])
        if name in ("no-summary", "summary-is-a-folder"):
            pattern = r"summary\.json is missing or not a file, but manifest\.json lists it \(re-run the command " \
                      r"that wrote this folder\)"
        elif name != "manifest-damaged":
            pattern = (r"summary\.json differs from the file riskmc wrote \(its SHA-256 does not match "
                       r"manifest\.json\) \(re-run the command that wrote this folder\)")
    one_line(r, re.escape(str(damaged)) + ": " + pattern, 4)
    assert files(damaged) == before


@pytest.mark.parametrize("case", DRAWS_DAMAGE, ids=[c[0] for c in DRAWS_DAMAGE])
def test_damaged_draws(damaged, tmp_path, case):
    _, damage, pattern = case
    damage(damaged)
    r = runner.invoke(app, ["compare", str(damaged), str(damaged), "--out", str(tmp_path / "cmp")])
    one_line(r, re.escape(str(damaged)) + ": " + pattern, 4)
    assert not (tmp_path / "cmp").exists()
