"""Pipelines: interrupted runs leave nothing behind, exit codes say why, files are stable."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import BASE, ROOT


def _start(out, *extra, draws="50000000"):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "riskmc", "run", str(BASE), "--draws", draws,
                             "--out", str(out), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _staged(out):
    """The hidden sibling a run stages its files in, if there is one yet."""
    return [p for p in out.parent.glob(f".{out.name}.riskmc-*")]


def _wait_until_sampling(proc, out, timeout=120):
    """Sampling has begun once the staged draws file exists beside the output folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any((p / "draws.parquet").exists() for p in _staged(out)):
            time.sleep(1.0)
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("the run never started sampling")


def handlers_installed(pid: int) -> bool:
    """riskmc records SIGTERM once its handlers are in (Python alone never catches it):
    read the process's caught-signals mask from /proc."""
    try:
        text = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False
    mask = int(next(line.split()[1] for line in text.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(mask >> (signal.SIGTERM - 1) & 1)


def wait_for_handlers(proc, timeout=60):
    deadline = time.monotonic() + timeout
    while not handlers_installed(proc.pid):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "riskmc never installed its signal handlers"
        time.sleep(0.002)


def files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else None


@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                           (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_interrupted_run_writes_nothing(tmp_path, sig, code, word):
    out = tmp_path / "run"
    proc = _start(out, "--save-draws")
    _wait_until_sampling(proc, out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err == f"riskmc: {word}: nothing was written to {out}\n"
    assert not out.exists() and not _staged(out)


def test_interrupt_keeps_the_previous_complete_run(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "riskmc", "run", str(BASE), "--draws", "20000",
                           "--seed", "1", "--out", str(out), "--quiet"], cwd=ROOT)
    assert done.returncode == 0
    before = files(out)
    proc = _start(out, "--save-draws", "--seed", "2")
    _wait_until_sampling(proc, out)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert files(out) == before and not _staged(out)


@pytest.mark.slow
def test_signals_at_random_instants_land_as_one_line(tmp_path):
    """From the moment riskmc's handlers are in, a signal at any instant (imports, sampling,
    the report, the commit, the end) gives 130/143 and one line, and the folder holds the
    earlier run or the new one, whole."""
    import random

    from riskmc.store.folders import verify
    out = tmp_path / "run"
    assert subprocess.run([sys.executable, "-m", "riskmc", "run", str(BASE), "--draws", "5000",
                           "--seed", "1", "--out", str(out), "--quiet"], cwd=ROOT).returncode == 0
    before = files(out)
    rng = random.Random(7)
    for _ in range(6):
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        proc = _start(out, "--seed", "2", "--quiet", draws="20000")
        wait_for_handlers(proc)
        time.sleep(rng.uniform(0, 2.0))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        lines = err.splitlines()
        assert "Traceback" not in err and len(lines) <= 1, err
        if proc.returncode == 0:  # it had finished before the signal came
            assert lines == []
        else:
            assert proc.returncode == 128 + sig, err
            word = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}[sig]
            assert lines[0] in (f"riskmc: {word}: nothing was written to {out}",
                                f"riskmc: {word} as the command ended: its files are complete"), err
        now = files(out)
        if now != before:
            verify(out)  # the whole new run
            assert proc.returncode == 0 or "complete" in err
            before = now  # the next trial starts from this run
        assert not _staged(out)


def test_source_date_epoch_is_the_one_timestamp(tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1764633600")
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        subprocess.run([sys.executable, "-m", "riskmc", "run", str(BASE), "--draws", "20000",
                        "--out", str(out), "--quiet"], cwd=ROOT, env=env, check=True)
        outs.append(out)
    s = json.loads((outs[0] / "summary.json").read_text())
    assert s["created"] == "2025-12-02T00:00:00Z"
    for name in ("summary.json", "report.html", "draws.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_netcdf_opens_in_arviz_and_is_byte_stable(tmp_path):
    import arviz as az
    import numpy as np
    from typer.testing import CliRunner

    from riskmc.cli import app
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        r = CliRunner().invoke(app, ["run", str(BASE), "--draws", "32768", "--seed", "3", "--out", str(out),
                                     "--netcdf", "--quiet"])
        assert r.exit_code == 0, r.output
        outs.append(out)
    assert (outs[0] / "draws.nc").read_bytes() == (outs[1] / "draws.nc").read_bytes()
    dt = az.from_netcdf(outs[0] / "draws.nc")
    pp = dt["prior_predictive"]
    assert dict(pp.sizes) == {"chain": 2, "draw": 16384, "year": 6}
    assert "custom_share_2030" in dt["prior"].data_vars
    s = az.summary(dt, group="prior_predictive", var_names=["nvidia_share"])
    summary = json.loads((outs[0] / "summary.json").read_text())
    mean_2030 = summary["outputs"]["nvidia_share"]["years"]["2030"]["mean"]["value"]
    np.testing.assert_allclose(float(pp["nvidia_share"].sel(year=2030).mean()), mean_2030, rtol=1e-12)
    assert len(s) == 6


def test_summary_matches_its_schema(base_run):
    import json as _json
    from importlib import resources

    import jsonschema
    schema = _json.loads(resources.files("riskmc.schemas").joinpath("summary.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(_json.loads(_json.dumps(base_run.summary)), schema)
    # The schema is strict: an unknown field is an error.
    bad = dict(base_run.summary, surprise=1)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_target_mcse_exit_codes(tmp_path):
    from typer.testing import CliRunner

    from riskmc.cli import app
    runner = CliRunner()
    ok = runner.invoke(app, ["run", str(BASE), "--draws", "16384", "--target-mcse", "0.01",
                             "--out", str(tmp_path / "ok"), "--quiet"])
    assert ok.exit_code == 0, ok.output
    s = json.loads((tmp_path / "ok" / "summary.json").read_text())
    assert s["convergence"]["converged"] is True and s["draws"] == 16384
    short = runner.invoke(app, ["run", str(BASE), "--draws", "16384", "--target-mcse", "0.0001",
                                "--max-draws", "65536", "--out", str(tmp_path / "no"), "--quiet"])
    assert short.exit_code == 5
    assert short.output == ("riskmc: target MCSE 0.0001 not reached in 65,536 draws: amazon_eps_upside[2030] p95 "
                            "has 0.0018 (raise --max-draws)\n")  # the statistic that missed it most
    s = json.loads((tmp_path / "no" / "summary.json").read_text())
    assert s["convergence"] == {"target_mcse": 0.0001, "converged": False, "max_draws": 65536}
    assert s["command"].endswith("--draws 16384 --target-mcse 0.0001 --max-draws 65536")


def test_disk_full_leaves_the_earlier_run(tmp_path, monkeypatch):
    """A write failing for lack of space: one line, exit 4, the folder as it was."""
    import errno
    from pathlib import Path

    from typer.testing import CliRunner

    from riskmc.cli import app
    out = tmp_path / "run"
    assert CliRunner().invoke(app, ["run", str(BASE), "--draws", "5000", "--out", str(out), "--quiet"]).exit_code == 0
    before = files(out)
    real = Path.write_bytes

    def full(self, data):
        if self.name == "report.html":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    r = CliRunner().invoke(app, ["run", str(BASE), "--draws", "20000", "--out", str(out), "--quiet"])
    assert r.exit_code == 4
    assert r.output == (f"riskmc: error: {out}: cannot write report.html: No space left on device "
                        "(free some space or choose another folder with --out)\n")
    assert files(out) == before and not _staged(out)


def test_a_first_run_that_fails_leaves_no_folder(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from typer.testing import CliRunner

    from riskmc.cli import app

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "reports" / "run"
    r = CliRunner().invoke(app, ["run", str(BASE), "--draws", "2000", "--out", str(out), "--quiet"])
    assert r.exit_code == 4, r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing-folder", "is-a-folder"])
def test_depfile_that_cannot_be_written_fails_before_the_run(tmp_path, where):
    """Checked before sampling, so the earlier run stays (a folder is a usage error, exit 2)."""
    from typer.testing import CliRunner

    from riskmc.cli import app
    out = tmp_path / "run"
    assert CliRunner().invoke(app, ["run", str(BASE), "--draws", "5000", "--out", str(out), "--quiet"]).exit_code == 0
    before = files(out)
    if where == "missing-folder":
        dep = tmp_path / "nowhere" / "deps.mk"
        msg = f"riskmc: error: {dep}: cannot write the depfile: its folder does not exist (create the folder first, or put the depfile in the output folder)\n"
    else:
        dep = tmp_path / "deps.mk"
        dep.mkdir()
        msg = None
    r = CliRunner().invoke(app, ["run", str(BASE), "--draws", "5000", "--seed", "9", "--out", str(out),
                                 "--quiet", "--depfile", str(dep)])
    assert r.exit_code == (4 if msg else 2)
    if msg:
        assert r.output == msg
    assert files(out) == before


def test_depfile_is_committed_with_the_run_and_escaped_for_make(tmp_path):
    from typer.testing import CliRunner

    from riskmc.cli import app
    out = tmp_path / "my run"
    r = CliRunner().invoke(app, ["run", str(BASE), "--draws", "5000", "--out", str(out), "--quiet",
                                 "--depfile", str(out / "deps.mk")])
    assert r.exit_code == 0, r.output
    esc = str(out).replace(" ", "\\ ")
    assert (out / "deps.mk").read_text() == (f"{esc}/draws.parquet {esc}/summary.json {esc}/report.html: "
                                             f"{BASE}\n")
    from riskmc.store.folders import verify
    assert "deps.mk" in verify(out)["files"]


def test_target_mcse_sizes_the_draws_file_by_the_most_draws_it_may_take(tmp_path):
    """--target-mcse may run up to 100x --draws: whether draws.parquet is written (under
    32 MiB) is decided on that ceiling, once, with the run's other settings. It used to be
    decided on the first plan, and an Ishigami run wrote 77 MiB without --save-draws."""
    from typer.testing import CliRunner

    from riskmc.cli import app
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(ROOT / "examples" / "ishigami.toml"), "--draws", "20000",
                                 "--target-mcse", "1e-9", "--seed", "1", "--out", str(out)])
    assert r.exit_code == 5, r.output
    assert not (out / "draws.parquet").exists()
    assert "riskmc: note: draws.parquet not written (it would be about 91 MiB)" in r.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["draws"] == 2_000_000 and s["convergence"]["max_draws"] == 2_000_000


def test_the_unsaved_draws_note_is_said_when_it_matters(tmp_path):
    """Not at every default run: when the folder had draws.parquet (this run drops it), or
    the command line asked for more draws than the priors file."""
    from typer.testing import CliRunner

    from riskmc.cli import app
    out = tmp_path / "run"
    note = "riskmc: note: draws.parquet not written (it would be about 90 MiB)"
    r = CliRunner().invoke(app, ["run", str(BASE), "--out", str(out)])
    assert r.exit_code == 0 and note not in r.stderr
    assert CliRunner().invoke(app, ["run", str(BASE), "--out", str(out), "--save-draws", "-q"]).exit_code == 0
    r = CliRunner().invoke(app, ["run", str(BASE), "--out", str(out)])
    assert r.exit_code == 0 and note in r.stderr and not (out / "draws.parquet").exists()


def test_make_rebuilds_a_folder_holding_a_run_it_did_not_make(tmp_path):
    """make reports/bull/report.html rebuilds after a hand run with --draws 1000 (a
    scratch run), after a run of another priors file into the folder, and after an edit
    of a file bull.toml extends; otherwise it is up to date."""
    import shutil
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "priors", tmp_path / "priors")

    def make():
        r = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "reports/bull/report.html"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300, env=_no_make_env())
        assert r.returncode == 0, r.stderr
        return "riskmc run" in r.stdout

    def summary():
        return json.loads((tmp_path / "reports" / "bull" / "summary.json").read_text())
    riskmc_cli = str(ROOT / ".venv" / "bin" / "riskmc")
    assert make() and not make()
    for hand in (["priors/bull.toml", "--draws", "1000"], ["priors/base.toml"]):
        subprocess.run([riskmc_cli, "run", *hand, "--out", "reports/bull", "-q"], cwd=tmp_path, check=True)
        assert make(), hand
        s = summary()
        assert s["draws"] == 100_000 and s["role"] == "scenario"
        assert s["priors_files"][0]["path"] == "priors/bull.toml"
        assert not make()
    os.utime(tmp_path / "priors" / "base.toml")  # an edit of what bull.toml extends
    assert make() and not make()


def test_make_run_prints_the_headline_and_claims(tmp_path):
    import shutil
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "priors", tmp_path / "priors")
    for _ in range(2):  # built, then up to date: the same lines either way
        r = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "run"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, env=dict(_no_make_env(), COLUMNS="80"))
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[-1] == "reports/base/report.html"
        assert any(line.startswith("headline, 2030") for line in lines)
        assert {line.split()[0] for line in lines if line[:2] in ("C1", "C2", "C3", "C4")} == {"C1", "C2", "C3", "C4"}


def _no_make_env() -> dict:
    """The environment without an enclosing make's flags (make test runs these tests): a
    sub-make would print its directory and inherit the outer one's options."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}



def test_a_stop_during_all_scenarios_says_which_folders_are_complete(tmp_path):
    """Ctrl-C once the first folder is written: exit 130, one line naming the folder being
    written (nothing of it left) and the folders complete before it (each whole)."""
    import shutil
    for d in ("priors", "models"):
        shutil.copytree(ROOT / d, tmp_path / d)
    p = subprocess.Popen([sys.executable, "-m", "riskmc", "run", "priors/base.toml", "--all-scenarios", "--draws",
                          "200000", "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "reports" / "base").exists():
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    m = re.fullmatch(r"riskmc: interrupted \(Ctrl-C\): nothing was written to (\S+) \((.+) (?:was|were) complete "
                     r"before it\)\n", err)
    assert p.returncode == 130 and m, err
    done = m.group(2).split(", ")
    assert done[0] == "reports/base" and not (tmp_path / m.group(1)).exists()
    for folder in done:
        assert subprocess.run([sys.executable, "-m", "riskmc", "verify", folder], cwd=tmp_path).returncode == 0
