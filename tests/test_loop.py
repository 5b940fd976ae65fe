"""The analyst's loop: answers on the terminal, help that fits, no dead ends in priors, exports."""

import json
import re

import pytest
from typer.testing import CliRunner

from riskmc.cli import app
from tests.conftest import BASE, ROOT

runner = CliRunner()


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def commands():
    import typer.main
    group = typer.main.get_command(app)
    out = []

    def walk(cmd, prefix):
        for name, sub in getattr(cmd, "commands", {}).items():
            out.append(prefix + [name])
            walk(sub, prefix + [name])

    walk(group, [])
    return out


# ------------------------------------------------------------------ answers on the terminal
def test_run_prints_the_answer_in_80_columns(tmp_path):
    r = invoke("run", BASE, "--draws", 20000, "--seed", 1, "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "Base case: custom silicon vs NVIDIA, 2025-2030"
    # Paths are printed whole (scripts read them); their length is pytest's temporary folder's.
    text = [line for line in lines if not line.startswith(str(tmp_path))]
    assert all(len(line) <= 80 for line in text), max(text, key=len)
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    from riskmc.report import fmt
    for name, c in s["claims"].items():
        p = fmt.prob(c["probability"]["value"], c["probability"]["mcse"])
        assert any(line.startswith(name) and p in line for line in lines), (name, p)
    med = s["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["value"]
    assert any(line.startswith("NVIDIA's share") and f"{100 * med:.1f}%" in line for line in lines)
    assert lines[-1] == str(tmp_path / "o" / "report.html")


def test_run_json_prints_the_headline_for_pipelines(tmp_path):
    r = invoke("run", BASE, "--draws", 20000, "--seed", 1, "--out", tmp_path / "o", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert doc["claims"] == {k: c["probability"] for k, c in s["claims"].items()}
    assert doc["outputs"]["nvidia_share"]["p50"] == s["outputs"]["nvidia_share"]["years"]["2030"]["p50"]
    assert doc["files"]["report"] == str(tmp_path / "o" / "report.html")


def test_sensitivity_prints_top_drivers_in_80_columns(tmp_path):
    r = invoke("sensitivity", BASE, "--draws", 1024, "--seed", 1, "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    text = [line for line in lines if not line.startswith(str(tmp_path))]  # paths are printed whole
    assert all(len(line) <= 80 for line in text), max(text, key=len)
    assert any(line.startswith("other merchant share 2030") for line in lines)
    assert lines[-1] == str(tmp_path / "o" / "sensitivity.json")


@pytest.mark.parametrize("cmd", [c for c in [["run"], ["report"], ["sensitivity"], ["compare"], ["verify"],
                                             ["export"], ["priors", "check"], ["priors", "show"], ["priors", "fit"]]])
def test_every_command_accepts_quiet(cmd):
    r = invoke(*cmd, "--help")
    assert r.exit_code == 0
    assert "--quiet" in r.stdout


def test_quiet_means_silence(tmp_path):
    out = tmp_path / "o"
    assert invoke("run", BASE, "--draws", 5000, "--out", out, "--quiet").stdout == ""
    for args in (["report", out], ["verify", out], ["priors", "check", BASE], ["priors", "show", BASE],
                 ["priors", "fit", "--p05", 0.3, "--p95", 0.5], ["export", out, "--csv"]):
        r = invoke(*args, "--quiet")
        assert r.exit_code == 0 and r.stdout == "", (args, r.output)


# ------------------------------------------------------------------ help that fits
def test_help_fits_80_columns_and_shows_literal_brackets():
    every = []
    for cmd in [[]] + commands():
        r = invoke(*cmd, "--help", terminal_width=80, env={"COLUMNS": "80"})
        assert r.exit_code == 0, cmd
        for line in r.stdout.splitlines():
            assert len(line) <= 80, (cmd, line)
        assert "<bool>" not in r.stdout and "<str>" not in r.stdout and "<int range>" not in r.stdout, cmd
        every.append(r.stdout)
    run_help = " ".join(invoke("run", "--help", env={"COLUMNS": "80"}).stdout.split())
    assert "the file's [run] draws" in run_help and "[scenarios.NAME] overlay" in run_help


# ------------------------------------------------------------------ no dead ends in priors
META = 'description = "d"\nunit = "fraction"\nsource = "assumption"\n'


def one_prior(tmp_path, body: str):
    """A priors file for the Ishigami-like toy: one share, through a model file of its own."""
    (tmp_path / "m.py").write_text(
        "import riskmc\n"
        "MODEL = riskmc.Model('one', inputs=[riskmc.Input('s', 'fraction', 's', 0, 1)],\n"
        "                     outputs=[riskmc.Output('y', headline=True)], vectorised=lambda x, y: {'y': x['s']})\n")
    p = tmp_path / "p.toml"
    p.write_text(f'model = "m.py"\n[priors.s]\n{META}{body}\n')
    return p


@pytest.mark.parametrize("quantiles", [(0.2, 0.3, 0.6), (0.01, 0.02, 0.5), (0.3, 0.5, 0.52), (0.05, 0.5, 0.95)])
def test_every_suggestion_is_accepted_when_followed(tmp_path, quantiles):
    """A fit that misses names a family that fits; written exactly so, it is accepted."""
    a, b, c = quantiles
    p = one_prior(tmp_path, f'family = "beta"\np05 = {a}\np50 = {b}\np95 = {c}')
    r = invoke("priors", "check", p)
    if r.exit_code == 0:
        return  # beta fitted: nothing to suggest
    hint = re.search(r"\(try (family = .*)\)$", r.stderr.strip())
    if hint is None:  # no family reproduces these quantiles: it says so, and suggests nothing
        assert r.stderr.strip().endswith("(check the stated quantiles)"), r.stderr
        return
    followed = hint.group(1).replace(", ", "\n")
    p.write_text(p.read_text().replace('family = "beta"', followed))
    r = invoke("priors", "check", p)
    assert r.exit_code == 0, (followed, r.output)


@pytest.mark.parametrize("args", [["--p05", 0.3, "--p95", 0.5], ["--p05", 0.2, "--p50", 0.3, "--p95", 0.6,
                                                                 "--family", "metalog", "--lower", 0, "--upper", 1],
                                  ["--p05", 2, "--p95", 8], ["--p05", -1, "--p95", 3],
                                  # No beta meets these: a metalog in [0, 1], as a priors file fits them.
                                  ["--p05", 0.30, "--p50", 0.45, "--p95", 0.50]])
def test_priors_fit_snippet_pasted_gives_the_same_prior(tmp_path, args):
    r = invoke("priors", "fit", *args)
    assert r.exit_code == 0, r.output
    snippet = r.stdout.split("# paste into a [priors.NAME] table:\n")[1]
    model = ("import riskmc\nMODEL = riskmc.Model('one', inputs=[riskmc.Input('s')], "
             "outputs=[riskmc.Output('y', headline=True)], vectorised=lambda x, y: {'y': x['s']})\n")
    (tmp_path / "m.py").write_text(model)
    p = tmp_path / "p.toml"
    p.write_text(f'model = "m.py"\n[priors.s]\ndescription = "d"\nunit = "x"\nsource = "assumption"\n{snippet}')
    from riskmc.loading import load
    fam = load(p).priors["s"].family
    assert r.stdout.splitlines()[0] == fam.describe()


def test_priors_fit_takes_bounds():
    r = invoke("priors", "fit", "--p05", 0.2, "--p50", 0.3, "--p95", 0.6, "--family", "metalog",
               "--lower", 0, "--upper", 1)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("metalog(p05=0.2, p50=0.3, p95=0.6, lower=0, upper=1)")


@pytest.mark.parametrize("body,hint", [
    ("range = [30, 50]", "did you mean range = [0.30, 0.50]?"),
    ("p05 = 30\np95 = 50", "did you mean p05 = 0.3, p95 = 0.5?"),
    ("value = 21", "did you mean value = 0.21?"),
])
def test_a_share_given_in_percent_says_what_it_should_read(tmp_path, body, hint):
    p = one_prior(tmp_path, body)
    r = invoke("priors", "check", p)
    assert r.exit_code == 3
    assert r.stderr.startswith(f"riskmc: error: {p}:6: prior 's': s is a fraction between 0 and 1, not a "
                               "percentage"), r.stderr
    assert r.stderr.endswith(f"({hint})\n")


def test_percent_unit_on_a_fraction(tmp_path):
    p = one_prior(tmp_path, "range = [0.3, 0.5]")
    p.write_text(p.read_text().replace('unit = "fraction"', 'unit = "percent"'))
    r = invoke("priors", "check", p)
    assert r.exit_code == 3 and r.stderr.endswith('(did you mean unit = "fraction"?)\n'), r.stderr


def test_check_reports_every_bad_file(tmp_path):
    bad1 = tmp_path / "a.toml"
    bad1.write_text(BASE.read_text().replace('family = "bernoulli"', 'family = "bernouli"'))
    bad2 = tmp_path / "b.toml"
    bad2.write_text("[priors.x\n")
    r = invoke("priors", "check", bad1, BASE, bad2)
    assert r.exit_code == 3
    errors = r.stderr.splitlines()
    assert len(errors) == 2 and errors[0].startswith(f"riskmc: error: {bad1}:") and \
        errors[1].startswith(f"riskmc: error: {bad2}:1: malformed TOML")
    assert f"{BASE}: ok" in r.stdout


# ------------------------------------------------------------------ exports
def test_export_csv_and_xlsx(tmp_path):
    out = tmp_path / "o"
    assert invoke("run", BASE, "--draws", 5000, "--seed", 1, "--out", out, "--quiet").exit_code == 0
    r = invoke("export", out, "--csv", "--xlsx", "--out", tmp_path / "x")
    assert r.exit_code == 0, r.output
    import polars as pl
    summary = pl.read_csv(tmp_path / "x" / "summary.csv")
    s = json.loads((out / "summary.json").read_text())
    row = summary.filter((pl.col("output") == "nvidia_share") & (pl.col("year") == 2030))
    assert row["p50"][0] == pytest.approx(s["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["value"], rel=1e-12)
    assert pl.read_csv(tmp_path / "x" / "claims.csv")["claim"].to_list() == list(s["claims"])
    assert pl.read_csv(tmp_path / "x" / "draws.csv").height == 5000
    import zipfile
    with zipfile.ZipFile(tmp_path / "x" / "run.xlsx") as z:  # an xlsx is a zip of XML sheets
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
        formats = re.findall(r'formatCode="([^"]+)"', z.read("xl/styles.xml").decode())
        outputs = z.read("xl/worksheets/sheet1.xml").decode()
        inputs = z.read("xl/worksheets/sheet4.xml").decode()
    assert names == ["outputs", "outputs_mcse", "claims", "inputs", "draws"]
    # Shares as percent, money in $B; years as columns, an output and statistic a row;
    # every sheet's header frozen and filtered; each prior as stated and as fitted.
    assert "0.0%" in formats and "&quot;$&quot;#,##0.0&quot;B&quot;" in formats
    assert "<t>2025</t>" in outputs and "<t>2030</t>" in outputs and "<t>nvidia_share</t>" in outputs
    assert 'state="frozen"' in outputs and "<autoFilter" in outputs
    assert "<t>custom_share_2030</t>" in inputs and "<t>p05=30% p95=50%</t>" in inputs
    assert invoke("export", out).exit_code == 2
    # Same run, same bytes: the workbook's own "created" is the run's timestamp (none
    # here: zip's epoch), never the clock's.
    with zipfile.ZipFile(tmp_path / "x" / "run.xlsx") as z:
        assert "<dcterms:created xsi:type=\"dcterms:W3CDTF\">1980-01-01T00:00:00Z<" in z.read("docProps/core.xml").decode()
    assert invoke("export", out, "--xlsx", "--out", tmp_path / "y").exit_code == 0
    assert (tmp_path / "y" / "run.xlsx").read_bytes() == (tmp_path / "x" / "run.xlsx").read_bytes()


def test_readme_commands_run(tmp_path, monkeypatch):
    """Every `riskmc ...` command in the README's shell blocks, run as written, in order,
    in a copy of the project's priors, models and examples (with fewer draws, set in the
    copies' [run] tables: --draws on the command line would make scratch runs, which the
    README's `ledger record` rightly refuses)."""
    import glob
    import shlex
    import shutil
    readme = (ROOT / "README.md").read_text()
    for d in ("priors", "models", "examples"):
        shutil.copytree(ROOT / d, tmp_path / d)
    for f in (tmp_path / "priors").glob("*.toml"):  # enough draws for the README's conditional questions
        f.write_text(f.read_text().replace("draws = 100000", "draws = 20000"))
    monkeypatch.chdir(tmp_path)
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", readme, re.S))
    shown = re.findall(r"^(?:\.venv/bin/)?riskmc ([^\n#]+?)\s*(?:#.*)?$", blocks, re.M)
    assert len(shown) >= 7, shown
    for line in shown:
        args = [a for word in shlex.split(line) for a in (sorted(glob.glob(word)) if "*" in word else [word])]
        if args[0] in ("sensitivity", "seek"):
            args += ["--draws", "4096"]
        # The README resolves outcomes once they are reported (February 2027): the ledger's
        # clock is set past that for those commands, and only those (runs keep today).
        if args[:2] == ["ledger", "resolve"]:
            monkeypatch.setenv("SOURCE_DATE_EPOCH", "1803859200")   # 2027-03-01
        else:
            monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
        r = invoke(*args)
        assert r.exit_code == 0, (line, r.output)
