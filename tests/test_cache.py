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
    assert list((tmp_path / "cache").rglob("*.json")) and list((tmp_path / "cache").rglob("*.arrays"))
    warm = run_with(tmp_path / "cache")
    none = run_with("")
    assert cold == warm == none
    assert json.loads(cold)["claims"]["C1"]["probability"]["value"] > 0


def test_a_damaged_cache_entry_is_ignored(tmp_path):
    cold = run_with(tmp_path / "cache")
    for p in (tmp_path / "cache").rglob("*.*"):
        p.write_bytes(b"\x00garbage")
    assert run_with(tmp_path / "cache") == cold


def test_a_table_with_one_byte_changed_is_rebuilt(tmp_path):
    """A table of the right length but a flipped byte (a bad disk, a partial copy) fails its
    checksum and is built again: the run's bits do not move (without the check they do)."""
    cold = run_with(tmp_path / "cache")
    tables = sorted((tmp_path / "cache").rglob("*.arrays"))
    assert tables
    for p in tables:
        data = bytearray(p.read_bytes())
        body = 8 + int.from_bytes(data[:8], "little")
        data[body + 8 * 8000 + 7] ^= 0x40  # the exponent of the table's value at u = 0.49
        p.write_bytes(bytes(data))
    assert run_with(tmp_path / "cache") == cold
