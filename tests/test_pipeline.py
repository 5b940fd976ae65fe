"""Pipelines: interrupted runs leave nothing behind, exit codes say why, files are stable."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import BASE, ROOT


def _start(out, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "riskmc", "run", str(BASE), "--draws", "50000000",
                             "--out", str(out), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_sampling(proc, out, timeout=60):
    """Sampling has begun once the staged draws file exists in the output folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.startswith(".draws.parquet.") for p in out.glob(".*")):
            time.sleep(1.0)
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("the run never started sampling")


@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                           (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_interrupted_run_writes_nothing(tmp_path, sig, code, word):
    out = tmp_path / "run"
    proc = _start(out, "--save-draws")
    _wait_until_sampling(proc, out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == f"riskmc: {word}: nothing of this run was written to {out}"
    assert list(out.iterdir()) == []


def test_interrupt_keeps_the_previous_complete_run(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "riskmc", "run", str(BASE), "--draws", "20000",
                           "--seed", "1", "--out", str(out), "--quiet"], cwd=ROOT)
    assert done.returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = _start(out, "--save-draws", "--seed", "2")
    _wait_until_sampling(proc, out)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


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
    assert short.output == "riskmc: target MCSE 0.0001 not reached in 65,536 draws (raise --max-draws)\n"
    s = json.loads((tmp_path / "no" / "summary.json").read_text())
    assert s["convergence"] == {"target_mcse": 0.0001, "converged": False, "max_draws": 65536}
    assert s["command"].endswith("--draws 16384 --sampler mc --target-mcse 0.0001 --max-draws 65536")


def test_disk_full_leaves_nothing(tmp_path, monkeypatch):
    """A write failing for lack of space: one line, exit 4, no file of the run left."""
    import errno
    from pathlib import Path

    from typer.testing import CliRunner

    from riskmc.cli import app
    real = Path.write_bytes

    def full(self, data):
        if ".report.html." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(BASE), "--draws", "20000", "--out", str(out), "--quiet"])
    assert r.exit_code == 4
    assert r.output == (f"riskmc: error: {out}: cannot write report.html: No space left on device "
                        "(free some space or choose another folder with --out)\n")
    assert list(out.iterdir()) == []
