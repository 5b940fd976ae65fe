"""The command line: exact error lines, exit codes, help text, and the files a run writes."""

import json
import os
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from riskmc.cli import app
from tests.conftest import BASE, ROOT

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_every_command_has_one_line_help():
    import typer.main
    group = typer.main.get_command(app)
    names = []

    def walk(cmd, prefix):
        for name, sub in getattr(cmd, "commands", {}).items():
            names.append(prefix + name)
            assert sub.help and sub.help.strip(), f"{prefix}{name} has no help"
            walk(sub, prefix + name + " ")

    walk(group, "")
    assert {"run", "report", "priors", "priors check", "priors show", "priors fit"} <= set(names)
    for n in names:
        r = invoke(*n.split(), "--help")
        assert r.exit_code == 0, n


def test_a_command_imports_only_its_own_module():
    """Start-up builds the command that runs, not all ten; help still lists every one."""
    code = ("import sys\nfrom riskmc.cli.main import app\n"
            "try:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('riskmc.cli.'))))")
    r = subprocess.run([sys.executable, "-c", code, "priors", "check", BASE, "--quiet"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["riskmc.cli.common", "riskmc.cli.main", "riskmc.cli.priors"]
    listed = [line.split()[0] for line in invoke("--help").output.split("Commands:")[1].strip().splitlines()]
    assert listed == ["run", "report", "sensitivity", "voi", "compare", "verify", "export", "ask", "seek",
                      "priors", "ledger"]



def test_each_command_is_built_with_the_root_apps_settings():
    """Built on its own, a command must still print plain help (no rich markup, which
    would swallow `[run]`) and offer no completion options."""
    import importlib

    from typer.main import get_command

    from riskmc.cli.main import COMMANDS
    for name in COMMANDS:
        module = importlib.import_module(f"riskmc.cli.{name}")
        assert module.app.rich_markup_mode is None, name
        params = {p.name for p in get_command(module.app).params}
        assert not params & {"install_completion", "show_completion"}, name


def test_a_command_registered_on_the_root_app_is_kept():
    import typer
    from typer.main import get_command

    from riskmc.cli.main import COMMANDS, OneLineGroup
    root = typer.Typer(cls=OneLineGroup, add_completion=False)

    @root.callback()
    def main() -> None:
        """A root of its own."""

    @root.command("hello")
    def hello() -> None:
        """Say hello."""
        typer.echo("hi")

    group = get_command(root)
    group.add_command(get_command(root), name="again")
    assert list(group.commands) == [*COMMANDS, "hello", "again"]
    assert runner.invoke(root, ["hello"]).output == "hi\n"
    assert runner.invoke(root, ["priors", "--help"]).exit_code == 0
    assert "hello" in runner.invoke(root, ["--help"]).output

def test_help_lists_exit_codes():
    r = invoke("--help")
    assert r.exit_code == 0
    for line in ("    0  success", "    3  invalid priors or model file", "    4  an output folder", "  130  interrupted"):
        assert line in r.output


def test_top_level_help_fits_80_columns_uncut(monkeypatch):
    """Every line of `riskmc --help` fits 80 columns; no command summary is cut with '...'
    and the exit codes take a line each."""
    from riskmc.errors import EXIT_CODES
    monkeypatch.setenv("COLUMNS", "80")
    out = invoke("--help").output
    assert all(len(line) <= 80 for line in out.splitlines())
    commands = out.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 11 and not any(line.rstrip().endswith("...") for line in commands)
    codes = out.split("Exit codes:")[1].split("Options:")[0].strip().splitlines()
    assert len(codes) <= len(EXIT_CODES) + 3  # a few wrapped, none double-spaced


def test_run_writes_files_and_prints_report_path(tmp_path):
    out = tmp_path / "run"
    r = invoke("run", BASE, "--draws", 20000, "--seed", 1, "--out", out)
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith(str(out / "report.html"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 1 and summary["draws"] == 20000 and summary["sampler"] == "mc"
    assert summary["command"] == f"riskmc run {BASE} --seed 1 --draws 20000"   # what was given
    y = summary["outputs"]["nvidia_share"]["years"]["2030"]
    assert set(y) == {"mean", "sd", "p5", "p25", "p50", "p75", "p95"}
    assert all(set(v) == {"value", "mcse"} for v in y.values())
    assert (out / "draws.parquet").exists()  # 20,000 draws: small enough to save by default
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    import polars as pl
    frame = pl.read_parquet(out / "draws.parquet")
    assert frame.height == 20000 and frame["draw"].to_list() == list(range(20000))
    assert "nvidia_share_y2030" in frame.columns and "custom_share_2030" in frame.columns


def test_same_inputs_same_bytes_whatever_the_workers(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("run", BASE, "--draws", 20000, "--seed", 4, "--workers", 1, "--out", a).exit_code == 0
    assert invoke("run", BASE, "--draws", 20000, "--seed", 4, "--workers", 2, "--out", b).exit_code == 0
    for name in ("summary.json", "draws.parquet", "report.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_malformed_toml_one_line_exit_3(write_toml):
    p = write_toml('title = "x"\n[priors.x\n')
    r = invoke("priors", "check", p)
    assert r.exit_code == 3
    assert r.output == (f"riskmc: error: {p}:2: malformed TOML: expected ']' at the end of a table "
                        "declaration (see https://toml.io for the syntax)\n")


def test_unknown_family_exact_line(tmp_path):
    text = BASE.read_text().replace('family = "bernoulli"', 'family = "bernouli"')
    p = tmp_path / "base.toml"
    p.write_text(text)
    line = text.splitlines().index('family = "bernouli"') + 1
    r = invoke("priors", "check", p)
    assert r.exit_code == 3
    assert r.output == (f"riskmc: error: {p}:{line}: prior 'ramp_slip': unknown family 'bernouli' "
                        "(did you mean 'bernoulli'?)\n")


def test_missing_file_is_a_usage_error(tmp_path):
    r = invoke("run", tmp_path / "nope.toml")
    assert r.exit_code == 2
    assert "does not exist" in r.output


def test_unwritable_folder(tmp_path):
    if os.geteuid() == 0:
        # root ignores permissions; a path under a regular file can never be a folder.
        blocker = tmp_path / "file"
        blocker.write_text("x")
        out = blocker / "sub"
        msg = f"riskmc: error: {out}: cannot write to the output folder: Not a directory"
    else:
        out = tmp_path / "ro"
        out.mkdir(mode=0o500)
        msg = f"riskmc: error: {out}: cannot write to the output folder: Permission denied"
    r = invoke("run", BASE, "--draws", 1000, "--out", out)
    assert r.exit_code == 4
    assert r.output == msg + " (choose another folder with --out, or fix its permissions)\n"


def test_unknown_scenario(tmp_path):
    r = invoke("run", BASE, "--scenario", "nope", "--out", tmp_path)
    assert r.exit_code == 3
    assert r.output == (f"riskmc: error: {BASE}: unknown scenario 'nope' (scenarios in this file: "
                        "nvidia-price-war, trainium-slip)\n")
    r = invoke("run", BASE, "--scenario", "trainium_slip", "--out", tmp_path)
    assert r.exit_code == 3
    assert r.output == f"riskmc: error: {BASE}: unknown scenario 'trainium_slip' (did you mean 'trainium-slip'?)\n"


def test_priors_fit_prints_a_snippet():
    r = invoke("priors", "fit", "--p05", 0.30, "--p95", 0.50)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("beta(lower=0, upper=1, a=25.4535, b=38.4721)\nimplied: p05=0.3, p95=0.5")
    assert 'family = "beta"\n' in r.output


def test_priors_show_lists_stated_and_implied():
    r = invoke("priors", "show", BASE)
    assert r.exit_code == 0
    assert "custom_share_2030  [fraction]\n  beta(lower=0, upper=1, a=25.4535, b=38.4721)\n" \
           "  stated:  p05=30%, p95=50%" in r.output


def test_report_rerenders_from_run_folder(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", BASE, "--draws", 5000, "--seed", 2, "--out", out).exit_code == 0
    before = (out / "report.html").read_bytes()
    (out / "report.html").unlink()
    r = invoke("report", out)
    assert r.exit_code == 0, r.output
    assert (out / "report.html").read_bytes() == before


def test_python_m_riskmc_and_console_script():
    r = subprocess.run([sys.executable, "-m", "riskmc", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("riskmc ")


@pytest.mark.parametrize("args,code", [(["--draws", "0"], 2), (["--sampler", "qmc"], 2)])
def test_bad_settings(args, code, tmp_path):
    r = invoke("run", BASE, *args, "--out", tmp_path)
    assert r.exit_code == code


def test_priors_show_html_has_a_picture_per_prior(tmp_path):
    out = tmp_path / "priors.html"
    r = invoke("priors", "show", BASE, "--html", out)
    assert r.exit_code == 0, r.output
    html = out.read_text()
    from riskmc.api import load
    ps = load(BASE)
    drawn = [n for n, p in ps.priors.items() if p.family.name != "fixed"]
    assert html.count('aria-label="Density of the prior') == len(drawn)
    assert "<script" not in html


def test_sensitivity_joins_the_report(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", BASE, "--draws", 20000, "--seed", 1, "--out", out, "--quiet").exit_code == 0
    r = invoke("sensitivity", BASE, "--draws", 2048, "--seed", 1, "--out", out)
    assert r.exit_code == 0, r.output
    res = json.loads((out / "sensitivity.json").read_text())
    assert res["note"].startswith("Sobol indices assume independent factors; correlated priors are "
                                  "analysed as groups: group(ai_capex_2025, ai_capex_cum_2030, aws_capacity_add_gw)")
    share = res["outputs"]["nvidia_share"]
    assert share["sobol"][0]["factor"] == "other_merchant_share_2030"
    assert share["tornado"]["rows"][0]["input"] == "other_merchant_share_2030"
    html = (out / "report.html").read_text()
    assert "Tornado chart of NVIDIA" in html and "Sobol indices [95% bootstrap interval]" in html
    # Re-rendering from the folder keeps the section.
    (out / "report.html").unlink()
    assert invoke("report", out).exit_code == 0
    assert "Sobol indices [95% bootstrap interval]" in (out / "report.html").read_text()


def test_sensitivity_unknown_output():
    r = invoke("sensitivity", BASE, "--output", "nvidia_shares", "--draws", 256)
    assert r.exit_code == 2
    assert r.output == "riskmc: error: unknown output 'nvidia_shares' (did you mean 'nvidia_share'?)\n"


def test_all_scenarios_each_into_its_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("run", BASE, "--draws", 5000, "--all-scenarios")
    assert r.exit_code == 0, r.output
    assert [line for line in r.stdout.splitlines() if line.endswith(".html")] == [
        "reports/base/report.html", "reports/base-nvidia-price-war/report.html",
        "reports/base-trainium-slip/report.html"]
    s = json.loads((tmp_path / "reports/base-trainium-slip/summary.json").read_text())
    assert s["scenario"] == "trainium-slip"
    assert s["command"].endswith("--scenario trainium-slip")


def test_the_recorded_command_reproduces_the_run_and_its_role(tmp_path, monkeypatch):
    """The command a run records gives the same files: a forecast's is the file alone (a
    command-line --seed would make it scratch), a scratch run's keeps what made it so."""
    monkeypatch.chdir(ROOT)
    for args in ([], ["--draws", 3000, "--seed", 4], ["--scratch"]):
        assert invoke("run", "priors/base.toml", *args, "--out", tmp_path / "a", "-q").exit_code == 0
        s = json.loads((tmp_path / "a" / "summary.json").read_text())
        again = shlex.split(s["command"])[1:] + ["--out", str(tmp_path / "b"), "-q"]
        assert invoke(*again).exit_code == 0
        assert s["role"] == ("forecast" if not args else "scratch")
        for f in ("summary.json", "report.html"):
            assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), (args, f)
    # A file that fixes no seed: the command gives the fresh seed, and its rerun is a forecast too.
    import shutil
    for f in ("linear.py", "linear.toml"):
        shutil.copy(ROOT / "examples" / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    assert invoke("run", "linear.toml", "--out", "c", "-q").exit_code == 0
    s = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert s["role"] == "forecast" and s["command"] == f"riskmc run linear.toml --seed {s['seed']}"
    assert invoke(*shlex.split(s["command"])[1:], "--out", "d", "-q").exit_code == 0
    assert (tmp_path / "c" / "summary.json").read_bytes() == (tmp_path / "d" / "summary.json").read_bytes()


def test_all_scenarios_checks_every_scenario_before_writing(tmp_path, monkeypatch):
    """A mistake in the last scenario stops --all-scenarios before the first folder is made."""
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{BASE}"\n[scenarios.trainium-slip.priors.gpu_asp_peak_year]\nfamily = "triangular"\n'
                   'lower = 2030\nmode = 2029\nupper = 2031\n')
    said = (f"riskmc: error: {bad}:2: prior 'gpu_asp_peak_year': need lower <= mode <= upper and lower < upper, "
            "got 2030, 2029, 2031\n")
    r = invoke("run", bad, "--draws", 2000, "--all-scenarios", "-q")
    assert (r.exit_code, r.output) == (3, said)
    assert not (tmp_path / "reports").exists()
    # A run of the file alone, or of another scenario, refuses it as priors check does.
    for extra in ([], ["--scenario", "nvidia-price-war"]):
        r = invoke("run", bad, "--draws", 2000, "-q", *extra)
        assert (r.exit_code, r.output) == (3, said)
    assert invoke("priors", "check", bad).output == said
    assert not (tmp_path / "reports").exists()


def test_compare_same_seed_shows_paired_errors(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("run", BASE, "--draws", 20000, "--seed", 5, "--out", a, "--quiet").exit_code == 0
    assert invoke("run", ROOT / "priors" / "bull.toml", "--draws", 20000, "--seed", 5, "--out", b,
                  "--quiet").exit_code == 0
    r = invoke("compare", a, b, "--out", tmp_path / "cmp")
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert res["common_random_numbers"] and res["paired_errors"]
    # Titles too long for a column: the files' names label the runs, the titles stay in the page.
    assert [run["label"] for run in res["runs"]] == ["base", "bull"]
    assert [run["title"] for run in res["runs"]] == ["Base case: custom silicon vs NVIDIA, 2025-2030",
                                                      "Bull case: custom silicon wins fast"]
    assert [d["prior"] for d in res["priors_diff"][1]] == ["hyperscaler_fraction", "custom_share_2030",
                                                           "custom_cost_advantage", "savings_kept_as_margin"]
    m = res["outputs"]["nvidia_share"]["years"]["2030"]["mean"]["shifts"][1]
    assert m["value"] < 0
    # Common random numbers: the paired error is far below the independent-runs error.
    assert m["mcse_paired"] < m["mcse_independent"] / 5
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "common random numbers" in html
    # Shifts in the output's units, claims before -> after first on the terminal.
    assert " pp &plusmn; " in html and "e-0" not in html
    lines = r.stdout.splitlines()
    assert lines[0] == "base -> bull  (common random numbers: paired errors)"
    assert any(line.startswith("C1 ") for line in lines) and lines[-1] == str(tmp_path / "cmp" / "compare.html")
    assert all(len(line) <= 80 for line in lines[:-1])


def test_compare_a_scenario_grid_with_labels_from_the_files(tmp_path, monkeypatch):
    """Three runs with equal titles: labelled by priors file and scenario, columns beside the first."""
    monkeypatch.chdir(tmp_path)
    assert invoke("run", BASE, "--draws", 5000, "--seed", 2, "--all-scenarios", "--quiet").exit_code == 0
    runs = [tmp_path / "reports" / n for n in ("base", "base-trainium-slip", "base-nvidia-price-war")]
    r = invoke("compare", *runs, "--out", tmp_path / "grid")
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "grid" / "compare.json").read_text())
    assert [run["label"] for run in res["runs"]] == ["base", "base · trainium-slip", "base · nvidia-price-war"]
    assert len(res["claims"]["C1"]["probabilities"]) == 3
    assert "base · trainium-slip" in (tmp_path / "grid" / "compare.html").read_text()


def test_every_help_page_fits_80_columns_and_says_usage_plainly(monkeypatch):
    """Each command's --help at 80 columns: no line longer, and its usage line names
    arguments as Unix tools do (RUN_DIR, not typer's {RUN_DIR}; no <list[Path]>)."""
    monkeypatch.setenv("COLUMNS", "80")
    pages = [[c] for c in ("run", "report", "sensitivity", "voi", "compare", "verify", "export", "ask", "seek")]
    pages += [["priors", c] for c in ("check", "show", "fit")] + [["ledger", c] for c in ("record", "resolve", "show",
                                                                                         "report")]
    for page in pages:
        out = invoke(*page, "--help").output
        assert all(len(line) <= 80 for line in out.splitlines()), page
        usage = out.splitlines()[0]
        assert usage.startswith(f"Usage: riskmc {' '.join(page)} ") and "{" not in usage and "[Path]" not in out, page


def test_sensitivity_terminal_at_80_columns(tmp_path):
    """No line past 80 columns, none cut with '…' but the output's name; what wraps is
    indented under its first line, never back at column 0."""
    r = invoke("sensitivity", ROOT / "priors" / "experts.toml", "--draws", 4096, "--out", tmp_path / "s")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert all(len(line) <= 80 for line in lines[:-1])   # the last: the file's path, printed whole
    whom = lines.index(next(line for line in lines if line.startswith("whom you believe on custom share 2030")))
    assert all(line.startswith("  ") for line in lines[whom + 1:-1])
    assert "input" in r.output and "Shapley share [95%]" in r.output and "Sobol S1 [95%]" in r.output


def test_compare_sensitivity_and_verify_answer_in_json(tmp_path):
    """--json prints on stdout what the command writes (compare.json, sensitivity.json),
    and verify's verdict on a whole, current run; nothing else goes to stdout."""
    a, b = tmp_path / "a", tmp_path / "b"
    for out, extra in ((a, []), (b, ["--scenario", "trainium-slip"])):
        assert invoke("run", BASE, "--draws", 2000, "--seed", 3, "--out", out, "-q", *extra).exit_code == 0
    r = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == json.loads((tmp_path / "c" / "compare.json").read_text())
    r = runner.invoke(app, ["sensitivity", str(BASE), "--draws", "256", "--seed", "3", "--out", str(a), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == json.loads((a / "sensitivity.json").read_text())
    r = runner.invoke(app, ["verify", str(a), "--json"])
    got = json.loads(r.stdout)
    assert r.exit_code == 0 and got["complete"] is True and got["stale"] is False and got["seed"] == 3
    assert set(got["files"]) == {"summary.json", "report.html", "sensitivity.json", "draws.parquet"}
