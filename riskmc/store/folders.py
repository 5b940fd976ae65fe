"""The folders riskmc writes, as a reader or a writer must see them: their kinds, their
manifests, and the checks that keep an output from destroying an input.

A folder riskmc committed holds a manifest.json listing exactly the files it wrote, each
with its SHA-256 and size, and the folder's kind (a run, an ask, a comparison, an export,
a ledger's report). `verify` checks every byte; readers check the listing and the bytes
of what they read (`check_listing`, `check_listed`); writers refuse an output that would
replace an input or a folder of another kind (`check_output`, `check_file_output`,
`check_folder`). riskmc.store.commit is what writes them.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError, UsageError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Kind:
    """A kind of folder riskmc writes: the files it may hold, the one that marks it, and
    what to call it in a message. A command writes one kind, and never into a folder that
    holds another: `ask --out` onto a run folder would replace the run."""

    name: str
    files: tuple[str, ...]
    words: str

    @property
    def marker(self) -> str:
        return self.files[0]


KINDS = {k.name: k for k in (
    Kind("run", ("summary.json", "report.html", "draws.parquet", "draws.nc", "sensitivity.json", "voi.json"),
         "a run"),
    Kind("ask", ("ask.json", "ask.html"), "the answers of riskmc ask"),
    Kind("voi", ("voi.json", "voi.html"), "the value of information of a run"),
    Kind("compare", ("compare.json", "compare.html"), "a comparison of runs"),
    Kind("export", ("summary.csv", "claims.csv", "evidence.csv", "inputs.csv", "draws.csv", "run.xlsx"),
         "an export of a run"),
    Kind("ledger", ("ledger.json", "ledger.html"), "a ledger's report"),
)}
# What riskmc writes into a folder: a folder holding any of these is a riskmc folder
# (anything else in it is the user's and is kept).
RIVAL_FILES = tuple(f for k in KINDS.values() for f in k.files)
RUN_FILES = (*RIVAL_FILES, MANIFEST)


def sha256_file(path: Path) -> str:
    from .textfile import sha256_regular
    return sha256_regular(path)




def is_riskmc_folder(path: Path) -> bool:
    return any((path / name).exists() or (path / name).is_symlink() for name in RUN_FILES)


def read_manifest(folder: Path) -> dict | None:
    """A folder's manifest.json as riskmc wrote it, or None when there is none; OutputError
    when it is damaged (not JSON, nested too deeply, not a table of files)."""
    from .textfile import read_regular
    try:
        raw = read_regular(folder / MANIFEST, MANIFEST_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except ValueError as exc:
        raise OutputError("manifest.json is damaged", file=folder,
                          hint="re-run the command that wrote this folder") from exc
    except OSError as exc:
        raise OutputError(f"cannot read manifest.json: {exc.strerror}", file=folder) from exc
    try:
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
            raise TypeError("not a table of files")
        for name, entry in doc["files"].items():
            if (not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str)
                    or isinstance(entry.get("bytes"), bool) or not isinstance(entry.get("bytes"), int)):
                raise TypeError(f"entry {name!r}")
        if "kind" in doc and doc["kind"] not in KINDS:
            raise TypeError("unknown kind")
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise OutputError("manifest.json is damaged", file=folder,
                          hint="re-run the command that wrote this folder") from exc
    return doc


# A manifest lists a handful of files; anything much larger is not one riskmc wrote.
MANIFEST_BYTES = 1 << 20


def folder_kind(folder: Path) -> str | None:
    """Which kind of riskmc folder this is (its manifest says; a folder from before kinds
    were recorded is known by its files), or None for a new, empty or foreign folder."""
    try:
        doc = read_manifest(folder)
    except OutputError:
        doc = None
    if doc is not None and doc.get("kind") in KINDS:
        return doc["kind"]
    for kind in KINDS.values():
        if any((folder / f).exists() or (folder / f).is_symlink() for f in kind.files):
            return kind.name
    return None


def _committed_above(path: Path) -> tuple[Path, str] | None:
    """The nearest folder above `path` that riskmc committed (it has a manifest), and its
    kind: an output there would not be what its manifest lists."""
    for folder in path.parents:
        try:
            if (folder / MANIFEST).is_file():
                kind = folder_kind(folder)
                if kind is not None:
                    return folder, kind
        except OSError:
            continue
    return None


def _overlap(a: Path, b: Path) -> bool:
    """Whether one of two resolved paths is, or holds, the other."""
    return a == b or a in b.parents or b in a.parents


def check_output(final: str | Path, kind: str, inputs=(), *, option: str = "--out") -> None:
    """Refuse an output that would destroy an input: a folder that is, holds or lies inside
    one of the command's inputs, or one holding riskmc files of another kind."""
    shown = Path(final)
    path = Path(os.path.realpath(final))
    for src in inputs:
        real = Path(os.path.realpath(src))
        if _overlap(path, real):
            what = ("is a folder this command reads" if path == real else
                    f"holds {src}, which this command reads" if path in real.parents else
                    f"lies inside {src}, which this command reads")
            raise UsageError(f"{option} {shown} {what}: writing there would replace what it reads; nothing was "
                             "written", hint=f"choose another folder with {option}")
    if path.is_dir():
        found = folder_kind(path)
        if found is not None and found != kind:
            k = KINDS[found]
            raise UsageError(f"{option} {shown} holds {k.words} ({k.marker}), which this command would replace; "
                             "nothing was written", hint=f"choose another folder with {option}")
    above = _committed_above(path)
    if above is not None:
        raise UsageError(f"{option} {shown} lies inside {above[0]}, which holds {KINDS[above[1]].words}: riskmc keeps "
                         "its folders as it committed them; nothing was written",
                         hint=f"choose another folder with {option}")


def check_file_output(target: str | Path, inputs=(), *, option: str) -> None:
    """Refuse a single output file (a depfile, a page) that is one of the command's inputs,
    or that lies in a folder riskmc committed (it would no longer match its manifest)."""
    shown = Path(target)
    path = Path(os.path.realpath(target))
    for src in inputs:
        if path == Path(os.path.realpath(src)):
            raise UsageError(f"{option} {shown} is a file this command reads: it would be overwritten; "
                             "nothing was written", hint=f"choose another file with {option}")
    found = folder_kind(path.parent)
    above = (path.parent, found) if found is not None else _committed_above(path.parent)
    if above is not None:
        raise UsageError(f"{option} {shown} lies in a folder that holds {KINDS[above[1]].words}: it would no longer "
                         "match its manifest.json; nothing was written", hint=f"choose another file with {option}")


def check_folder(final: str | Path) -> None:
    """Refuse, before any work, an output folder riskmc must not replace.

    It must be new, empty, or a folder riskmc wrote (one holding a run's files); never a
    file, the file system's root, a mount point, or a folder holding the current one.
    """
    shown = Path(final)
    path = Path(os.path.realpath(final))
    if path.exists() and not path.is_dir():
        raise OutputError("the output folder is a file", file=shown, hint="choose a folder with --out")
    if path == Path(path.anchor) or (path.exists() and os.path.ismount(path)):
        raise OutputError("the output folder is a file system's root or a mount point", file=shown,
                          hint="choose a folder inside it with --out, e.g. reports/NAME")
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == path or path in cwd.parents:
        raise OutputError("the output folder holds the current folder", file=shown,
                          hint="choose a folder for the run's files with --out, e.g. reports/NAME")
    if path.is_dir():
        try:
            entries = os.listdir(path)
        except OSError as exc:
            raise OutputError(f"cannot read the output folder: {exc.strerror}", file=shown) from exc
        if entries and not is_riskmc_folder(path):
            raise OutputError("the output folder holds files riskmc did not write", file=shown,
                              hint="choose a new or empty folder with --out; riskmc replaces only its own folders")




def plain_name(name: str) -> bool:
    """A file name riskmc writes into a folder: no path, nothing hidden, not the manifest."""
    return (isinstance(name, str) and bool(name) and "/" not in name and "\\" not in name and "\0" not in name
            and not name.startswith(".") and name != MANIFEST)


def check_listing(folder: str | Path) -> dict:
    """The folder's manifest, checked to list exactly the files riskmc wrote here: some,
    each a plain name inside the folder, and every file here of riskmc's names among them.
    (verify also checks each file's bytes; readers check those of the files they read.)"""
    folder = Path(folder)
    doc = read_manifest(folder)
    again = "re-run the command that wrote this folder"
    if doc is None:
        raise OutputError("no manifest.json: not a folder riskmc committed", file=folder)
    files = doc["files"]
    if not files:
        raise OutputError("manifest.json lists no files: not as riskmc commits a folder", file=folder, hint=again)
    kind = KINDS.get(doc.get("kind")) if doc.get("kind") else None
    for name in sorted(files):
        if not plain_name(name):
            raise OutputError(f"manifest.json names {name!r}, which is not a file inside this folder", file=folder,
                              hint=again)
        if kind is not None and name in RIVAL_FILES and name not in kind.files:
            raise OutputError(f"manifest.json lists {name}, which {kind.words} does not hold", file=folder,
                              hint=again)
    try:
        here = sorted(os.listdir(folder))
    except OSError as exc:
        raise OutputError(f"cannot read the folder: {exc.strerror}", file=folder) from exc
    for name in here:
        if name in RIVAL_FILES and name not in files:
            raise OutputError(f"{name} lies here but manifest.json does not list it: not as riskmc committed this "
                              "folder", file=folder, hint=again)
        if name in files:
            # Listed, so riskmc wrote it: a regular file, never a link or a FIFO put in its place.
            try:
                st = os.lstat(folder / name)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                raise OutputError(f"{name} is a link, not the file riskmc wrote", file=folder, hint=again)
            if not stat.S_ISREG(st.st_mode):
                raise OutputError(f"{name} is missing or not a file, but manifest.json lists it", file=folder,
                                  hint=again)
    return doc


def verify(folder: str | Path) -> dict:
    """Check a folder against its manifest.json: it lists exactly the files riskmc wrote
    here (check_listing), each a regular file with its size and SHA-256.

    Returns the manifest; raises OutputError naming the first file that does not match.
    """
    folder = Path(folder)
    doc = check_listing(folder)
    again = "re-run the command that wrote this folder"
    for name, entry in sorted(doc["files"].items()):
        p = folder / name
        try:
            st = os.lstat(p)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{name} is missing or not a file, but manifest.json lists it", file=folder,
                              hint=again)
        try:
            ok = st.st_size == entry["bytes"] and sha256_file(p) == entry["sha256"]
        except OSError as exc:
            raise OutputError(f"cannot read {name}: {exc.strerror}", file=folder) from exc
        if not ok:
            raise OutputError(f"{name} differs from the file riskmc wrote (its SHA-256 does not match "
                              "manifest.json)", file=folder, hint=again)
    return doc


def check_listed(folder: Path, name: str, digest: str, size: int) -> None:
    """A file a command is about to read is the one riskmc committed: manifest.json lists
    it with this SHA-256. A folder without a manifest, or one that does not list the
    file, is not as riskmc committed it."""
    doc = read_manifest(folder)
    again = "re-run the command that wrote this folder"
    if doc is None:
        raise OutputError(f"no manifest.json beside {name}: not a folder riskmc committed", file=folder,
                          hint=again)
    entry = doc["files"].get(name)
    if entry is None:
        raise OutputError(f"manifest.json does not list {name}: not as riskmc committed this folder",
                          file=folder, hint=again)
    if entry["sha256"] != digest or entry["bytes"] != size:
        raise OutputError(f"{name} was changed after riskmc wrote it (its SHA-256 differs from "
                          "manifest.json)", file=folder, hint=again)
