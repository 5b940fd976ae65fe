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
