"""All or nothing: a folder holds the earlier run or the new one, whatever fails and when."""

import errno
import select
import signal
import subprocess
import sys

import pytest

from riskmc.errors import OutputError
from riskmc.store import commit, folders

STEPS = ["kept", "manifest", "synced", "swapped"]


def write_run(folder, tag: str, **kw):
    """A run's files, as a command would commit them: contents that say which run."""
    with commit.Transaction(folder, **kw) as tx:
        tx.begin()
        tx.write("summary.json", f'{{"run": "{tag}"}}\n'.encode())
        tx.write("draws.parquet", (tag * 200_000).encode())
        tx.write("report.html", f"<p>{tag}</p>\n".encode())
        return tx.commit()


def snapshot(folder):
    """Every file under the folder, by relative path, with its bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def hidden_siblings(folder):
    return [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.riskmc-")]


@pytest.fixture
def runs(tmp_path):
    """A folder holding run A, and what the folder holds after run B alone."""
    ref = tmp_path / "ref"
    write_run(ref, "B")
    folder = tmp_path / "run"
    write_run(folder, "A")
    return folder, snapshot(folder), snapshot(ref)


def test_commit_writes_manifest_last_and_verify_checks_it(tmp_path):
    folder = tmp_path / "run"
    paths = write_run(folder, "A")
    assert [p.name for p in paths] == ["summary.json", "draws.parquet", "report.html"]
    doc = folders.verify(folder)
    assert sorted(doc["files"]) == ["draws.parquet", "report.html", "summary.json"]
    (folder / "report.html").write_text("changed")
    with pytest.raises(OutputError) as e:
        folders.verify(folder)
    assert str(e.value) == (f"{folder}: report.html differs from the file riskmc wrote (its SHA-256 does not "
                            "match manifest.json) (re-run the command that wrote this folder)")
    assert not hidden_siblings(folder)


@pytest.mark.parametrize("step", STEPS)
def test_a_fault_between_any_two_steps_leaves_one_whole_run(runs, monkeypatch, step):
    folder, before, after_b = runs

    def fault(at):
        if at == step:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(commit, "_fault", fault)
    with pytest.raises((OutputError, OSError)):
        write_run(folder, "B")
    got = snapshot(folder)
    # Before the swap the folder is the earlier run; after it, the new one.
    assert got == (after_b if step == "swapped" else before)
    folders.verify(folder)
    assert not hidden_siblings(folder)


# A fresh process that commits, as riskmc would: tests kill it or crash it mid-commit.
# `step` is a named step (commit._fault's names) where it crashes by itself, or
# "loop:STEP:N": it commits A and B in turn and, at STEP of its commit number N (from 0),
# says "at STEP N" and waits there for the test's kill -9. STEP may also be "writing",
# between two staged files, before commit() begins.
CHILD = r"""
import os, sys
from riskmc.store import commit

folder, step, exchange = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if not exchange:
    commit._exchange = lambda a, b: False
loop = step.startswith("loop:")
if loop:
    _, step, last = step.split(":")
    last = int(last)
k = 0


def crash(at):
    if at != step or (loop and k != last):
        return
    if not loop:
        os._exit(9)  # no clean-up of any kind: as kill -9 or a power cut
    print(f"at {at} {k}", flush=True)
    sys.stdin.read()  # the test kills the process here; EOF means the test has gone
    os._exit(9)


commit._fault = crash


def write_run(tag):
    with commit.Transaction(folder) as tx:
        tx.begin()
        tx.write("summary.json", f'{{"run": "{tag}"}}\n'.encode())
        crash("writing")
        tx.write("draws.parquet", (tag * 200_000).encode())
        tx.write("report.html", f"<p>{tag}</p>\n".encode())
        tx.commit()


if loop:
    while True:
        write_run("AB"[k % 2])
        k += 1
write_run("B")
"""


def child(folder, step, exchange=True):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(folder), step, "1" if exchange else "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("step", [*STEPS, "aside"])
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_crash_between_any_two_steps_leaves_one_whole_run(runs, step, exchange):
    """kill -9 or power loss at each step: the process dies there, nothing cleans up."""
    folder, before, after_b = runs
    if exchange and step == "aside":
        pytest.skip("only the two-rename swap sets a folder aside")
    proc = child(folder, step, exchange)
    assert proc.wait(timeout=60) == 9
    # The next command to write here finds the folder whole (putting back a folder set
    # aside), and removes what the dead one left beside it.
    if folder.exists():
        assert snapshot(folder) in (before, after_b)
    commit.recover(folder)
    got = snapshot(folder)
    assert got == (after_b if step == "swapped" else before)
    folders.verify(folder)
    assert not hidden_siblings(folder)


@pytest.mark.parametrize("step", ["writing", *STEPS, "aside"])
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_kill_9_at_each_step_of_commits_in_turn(runs, step, exchange):
    """A process commits A and B in turn and is killed (SIGKILL, from outside) once it
    stands at `step`: of its second commit (B over A), then of its third (A over B). The
    kill lands at that step whatever the machine's load, so both runs are always seen."""
    folder, before, after_b = runs
    if exchange and step == "aside":
        pytest.skip("only the two-rename swap sets a folder aside")
    whole = {"A": before, "B": after_b}
    seen = set()
    for n in (1, 2):
        earlier, new = "AB"[(n - 1) % 2], "AB"[n % 2]
        proc = child(folder, f"loop:{step}:{n}", exchange)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready, f"the child never reached {step}"
            assert proc.stdout.readline() == f"at {step} {n}\n"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            proc.stdin.close()
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        if folder.exists():
            assert snapshot(folder) in (before, after_b)
        commit.recover(folder)
        got = snapshot(folder)
        # Before the swap the folder is the earlier run; after it, the new one.
        assert got == whole[new if step == "swapped" else earlier]
        folders.verify(folder)
        assert not hidden_siblings(folder)
        seen.add(got == before)
    assert seen == {True, False}, "the kills did not leave both runs, A and B, in turn"


def test_sensitivity_style_update_keeps_the_rest(runs):
    folder, before, _ = runs
    with commit.Transaction(folder, replace_run=False) as tx:
        tx.write("sensitivity.json", b"{}\n")
        tx.commit()
    got = snapshot(folder)
    assert got["sensitivity.json"] == b"{}\n"
    assert {k: v for k, v in got.items() if k not in ("sensitivity.json", "manifest.json")} == \
        {k: v for k, v in before.items() if k != "manifest.json"}
    assert "sensitivity.json" in folders.verify(folder)["files"]
    # A new run replaces every riskmc file, sensitivity.json included.
    write_run(folder, "C")
    assert "sensitivity.json" not in snapshot(folder)


def test_the_users_own_files_are_kept(runs):
    folder, _, _ = runs
    (folder / "notes.txt").write_text("mine")
    (folder / "sub").mkdir()
    (folder / "sub" / "a.csv").write_text("1,2")
    write_run(folder, "B")
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "sub" / "a.csv").read_text() == "1,2"
    assert "notes.txt" not in folders.verify(folder)["files"]


def test_a_folder_of_riskmc_names_replaced_by_folders_is_replaced_whole(runs):
    folder, _, _ = runs
    (folder / "report.html").unlink()
    (folder / "report.html").mkdir()
    (folder / "report.html" / "x").write_text("x")
    write_run(folder, "B")
    assert (folder / "report.html").read_text() == "<p>B</p>\n"


@pytest.mark.parametrize("case", ["file", "foreign", "cwd", "root"])
def test_folders_riskmc_must_not_replace(tmp_path, monkeypatch, case):
    target = tmp_path / "x"
    if case == "file":
        target.write_text("x")
        msg = f"{target}: the output folder is a file (choose a folder with --out)"
    elif case == "foreign":
        target.mkdir()
        (target / "thesis.docx").write_text("x")
        msg = (f"{target}: the output folder holds files riskmc did not write (choose a new or empty folder "
               "with --out; riskmc replaces only its own folders)")
    elif case == "cwd":
        (target / "inner").mkdir(parents=True)
        monkeypatch.chdir(target / "inner")
        msg = (f"{target}: the output folder holds the current folder (choose a folder for the run's files "
               "with --out, e.g. reports/NAME)")
    else:
        target = tmp_path.anchor
        msg = (f"{target}: the output folder is a file system's root or a mount point (choose a folder "
               "inside it with --out, e.g. reports/NAME)")
    with pytest.raises(OutputError) as e:
        commit.Transaction(target)
    assert str(e.value) == msg


def test_a_failed_first_run_leaves_no_folder_and_no_parents(tmp_path):
    folder = tmp_path / "a" / "b" / "run"
    with pytest.raises(RuntimeError), commit.Transaction(folder) as tx:
        tx.begin()
        tx.write("summary.json", b"{}")
        raise RuntimeError("the model failed")
    assert list(tmp_path.iterdir()) == []
