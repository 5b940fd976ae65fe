"""Shared fixtures: a tiny model for kernel tests and helpers to write priors files."""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw their examples from a fixed seed: a run of the suite is the same run
# every time, so CI never fails by chance (a new example is tried by changing the code or
# the test, not the clock). RISKMC_HYPOTHESIS=explore searches anew, longer.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("RISKMC_HYPOTHESIS", "ci"))

# Fitted priors and tables go to a cache of this test session's own (subprocesses
# inherit it): the suite starts cold, as CI's clean clone does, and leaves ~/.cache alone.
if "RISKMC_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    os.environ["RISKMC_CACHE_DIR"] = tempfile.mkdtemp(prefix="riskmc-test-cache-")
    atexit.register(shutil.rmtree, os.environ["RISKMC_CACHE_DIR"], ignore_errors=True)

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "priors" / "base.toml"


def toy_priors(source: str = "assumption", **priors: tuple[str, str, dict]) -> str:
    """[priors.*] tables for a test model: each keyword a prior's name, its value
    (unit, family, parameters); the description is the name."""
    out = []
    for name, (unit, family, params) in priors.items():
        out += [f"[priors.{name}]", f'description = "{name}"', f'unit = "{unit}"', f'source = "{source}"',
                f'family = "{family}"', *(f"{k} = {v!r}" for k, v in params.items()), ""]
    return "\n".join(out)


# The toys the known-answer tests share: a ~ N(1, 2^2) and b ~ N(3, 4^2), so a + b ~
# N(4, 20); c and d lognormal, for a product.
NORMAL_A = ("x", "normal", {"mean": 1.0, "sd": 2.0})
NORMAL_B = ("x", "normal", {"mean": 3.0, "sd": 4.0})


@pytest.fixture
def write_toml(tmp_path):
    """Write a TOML file into tmp_path (dedented) and return its path."""

    def write(text: str, name: str = "p.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@pytest.fixture(scope="session")
def base_run():
    """One small base-case run shared by tests that only read its results."""
    import riskmc
    return riskmc.run(BASE, draws=40_000, seed=7, workers=2)


def spec_model(inputs, outputs=(), years=None, fn=None, name="toy"):
    """A riskmc.Model with these inputs and outputs: for tests that check priors against a
    model's declarations, or run a small model through the kernel. `fn` defaults to zeros."""
    import dataclasses

    import numpy as np

    import riskmc
    outputs = tuple(outputs) or (riskmc.Output("y", headline=True),)
    if not any(o.headline for o in outputs):
        outputs = (dataclasses.replace(outputs[0], headline=True),) + outputs[1:]

    def zeros(x, yrs):
        n = len(next(iter(x.values())))
        shape = (n,) if yrs is None else (n, len(yrs))
        return {o.name: np.zeros(shape) for o in outputs}

    return riskmc.Model(name, inputs=inputs, outputs=outputs, years=years, vectorised=fn or zeros)
