"""Shared fixtures: a tiny model for kernel tests and helpers to write priors files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "priors" / "base.toml"


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
