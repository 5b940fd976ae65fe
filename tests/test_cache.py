"""The disk cache of fits and tables changes no number: a run is the same bits cold, warm
and with no cache at all."""

import json
import os
import subprocess
import sys

from tests.conftest import BASE, ROOT

CODE = r"""
import json, sys
import riskmc
r = riskmc.run(sys.argv[1], draws=20_000, seed=3, workers=1)
print(json.dumps(r.summary, sort_keys=True))
"""


def run_with(cache_dir) -> str:
    env = dict(os.environ, RISKMC_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", CODE, str(BASE)], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def test_cold_warm_and_no_cache_give_the_same_bits(tmp_path):
    cold = run_with(tmp_path / "cache")
    assert list((tmp_path / "cache").rglob("*.json")) and list((tmp_path / "cache").rglob("*.npz"))
    warm = run_with(tmp_path / "cache")
    none = run_with("")
    assert cold == warm == none
    assert json.loads(cold)["claims"]["C1"]["probability"]["value"] > 0


def test_a_damaged_cache_entry_is_ignored(tmp_path):
    cold = run_with(tmp_path / "cache")
    for p in (tmp_path / "cache").rglob("*.*"):
        p.write_bytes(b"\x00garbage")
    assert run_with(tmp_path / "cache") == cold
