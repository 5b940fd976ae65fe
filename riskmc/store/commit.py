"""All or nothing: a command's files reach their folder together, by one atomic swap.

A command stages every file it writes in a hidden sibling of the output folder
(`reports/.base.riskmc-PID-XXXX/`), beside copies (hard links) of whatever of the old
folder it keeps, and a `manifest.json` written last with each file's SHA-256. Then one
`renameat2(RENAME_EXCHANGE)` swaps the staged folder and the output folder: before it the
folder is the earlier run, after it the new one, whatever happens between two
instructions (Ctrl-C, kill -9, a full disk, power loss; the kernel journals the rename).
The old folder, now under the hidden name, is removed last; a leftover hidden sibling
from a process that died is removed by the next command that writes there.

Where the exchange is not supported (not Linux, or a file system without it) the swap
is two renames, old folder aside then new folder in, and a folder found missing beside
a complete set-aside folder is put back first. docs/commit.md explains the design.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, interrupt
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
    Kind("run", ("summary.json", "report.html", "draws.parquet", "draws.nc", "sensitivity.json"), "a run"),
    Kind("ask", ("ask.json", "ask.html"), "the answers of riskmc ask"),
    Kind("compare", ("compare.json", "compare.html"), "a comparison of runs"),
    Kind("export", ("summary.csv", "claims.csv", "evidence.csv", "inputs.csv", "draws.csv", "run.xlsx"),
         "an export of a run"),
    Kind("ledger", ("ledger.json", "ledger.html"), "a ledger's report"),
)}
# What riskmc writes into a folder: a folder holding any of these is a riskmc folder
# (anything else in it is the user's and is kept).
RIVAL_FILES = tuple(f for k in KINDS.values() for f in k.files)
RUN_FILES = (*RIVAL_FILES, MANIFEST)
_TAG = ".riskmc-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _fault(step: str) -> None:
    """A named point between two steps of a commit; tests inject faults here."""


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    from .textfile import sha256_regular
    return sha256_regular(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def remove_tree(path: Path) -> None:
    """Remove a folder riskmc staged or set aside, even one someone made read-only (a run
    folder chmod 555, swapped out): nothing else would ever remove riskmc's copy."""
    try:
        shutil.rmtree(path)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    # Folders first, top-down, so that each can be listed and emptied; links are not followed.
    with contextlib.suppress(OSError):
        if not os.path.islink(path):
            os.chmod(path, stat.S_IRWXU)
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            p = os.path.join(root, d)
            with contextlib.suppress(OSError):
                if not os.path.islink(p):
                    os.chmod(p, stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)


def recover(final: Path) -> None:
    """Put back a folder set aside by a two-rename swap that did not finish, and remove
    hidden siblings left by commands that died."""
    parent, name = final.parent, final.name
    try:
        siblings = [p for p in parent.iterdir() if p.name.startswith(f".{name}{_TAG}")]
    except OSError:
        return
    for p in siblings:
        try:
            pid = int(p.name[len(f".{name}{_TAG}"):].split("-")[0])
        except ValueError:
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        if p.name.endswith("-aside") and not final.exists():
            os.replace(p, final)  # the earlier run, set aside by a swap that was cut short
            _fsync_dir(parent)
            continue
        remove_tree(p)


def _carry(src: Path, dst: Path) -> None:
    """dst becomes a copy of src: hard links for files (no bytes copied), links kept."""
    st = os.lstat(src)
    if stat.S_ISDIR(st.st_mode):
        os.mkdir(dst)
        for entry in sorted(os.listdir(src)):
            _carry(src / entry, dst / entry)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(st.st_mode):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    else:
        raise OutputError(f"cannot keep {src.name}: it is not a file, folder or link",
                          file=src.parent, hint="move it out of the output folder")


class Transaction:
    """Every file one command writes into one output folder, made visible at once.

    `path(name)`/`write(name, data)` stage files; `commit()` keeps what it should of the
    old folder, writes manifest.json and swaps the staged folder in; leaving the `with`
    block by an exception removes everything staged, so the folder is as it was.

    `kind` says what the folder holds (KINDS): a folder holding another kind, or one that
    is, holds or lies inside one of the command's `inputs`, is refused before any work.
    `replace_run=True` (a run, a comparison) replaces all of riskmc's files in the folder;
    False (sensitivity, report) replaces only those it writes and keeps the rest.
    """

    def __init__(self, final: str | Path, *, kind: str = "run", inputs=(), replace_run: bool = True,
                 option: str = "--out") -> None:
        if kind not in KINDS:
            raise ValueError(f"not a kind of folder riskmc writes: {kind!r}")
        self.shown = Path(final)
        self.final = Path(os.path.realpath(final))
        self.kind = kind
        self.replace_run = replace_run
        self.staging: Path | None = None
        self.written: list[str] = []
        self._made: list[Path] = []
        self._stop: int | None = None  # riskmc.interrupt's token for removing the staged folder
        check_output(final, kind, inputs, option=option)
        check_folder(final)

    # ------------------------------------------------------------------ staging
    def begin(self) -> Transaction:
        """Create the staged folder (and any missing parents, removed again on failure)."""
        parent = self.final.parent
        missing = []
        p = parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        try:
            for d in reversed(missing):
                d.mkdir()
                self._made.append(d)
            recover(self.final)
            self.staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self.final.name}{_TAG}{os.getpid()}-"))
            self._stop = interrupt.on_stop(self._emergency)
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write to the output folder: {exc.strerror}", file=self.shown,
                              hint="choose another folder with --out, or fix its permissions") from exc
        return self

    def _name(self, name: str) -> str:
        if not name or "/" in name or name in (".", "..") or name.startswith(".") or name == MANIFEST:
            raise ValueError(f"not a file name riskmc writes: {name!r}")
        return name

    def path(self, name: str) -> Path:
        """Where to write `name` before the commit (streamed files, e.g. draws.parquet)."""
        if self.staging is None:
            self.begin()
        name = self._name(name)
        if name not in self.written:
            self.written.append(name)
        return self.staging / name

    def write(self, name: str, data: bytes) -> None:
        target = self.path(name)
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {name}: {exc.strerror}", file=self.shown,
                              hint="free some space or choose another folder with --out") from exc

    # ------------------------------------------------------------------ commit
    def commit(self) -> list[Path]:
        """Make every staged file visible at once; return their final paths."""
        if self.staging is None:
            self.begin()
        interrupt.check()
        self.written = [n for n in self.written if (self.staging / n).exists()]
        try:
            owned = self._keep_old()
            _fault("kept")
            self._write_manifest(owned)
            _fault("manifest")
            mask = _umask()
            for name in [*self.written, MANIFEST]:
                os.chmod(self.staging / name, 0o666 & ~mask)
                _fsync_file(self.staging / name)
            os.chmod(self.staging, 0o777 & ~mask)
            _fsync_dir(self.staging)
            _fault("synced")
            with interrupt.critical():
                interrupt.check()
                self._swap()
                interrupt.completed()
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write to the output folder: {exc.strerror}", file=self.shown,
                              hint="free some space or choose another folder with --out") from exc
        except BaseException:
            self.abort()
            raise
        _fault("swapped")
        _fsync_dir(self.final.parent)
        old, self.staging = self.staging, None
        remove_tree(old)
        interrupt.done(self._stop)
        self._made.clear()
        return [self.shown / name for name in self.written]

    def _emergency(self) -> None:
        """The watchdog's clean-up (another thread, the process about to end): the staged
        folder goes, renamed first so that nothing the command still writes lands in it."""
        staging = self.staging
        if staging is None:
            return
        trash = staging.with_name(staging.name + "-stopped")
        try:
            os.rename(staging, trash)
        except OSError:
            trash = staging
        remove_tree(trash)

    def _keep_old(self) -> list[str]:
        """Link into the staged folder what the command keeps of the old one; return the
        names of riskmc's own files in the new folder."""
        owned = list(self.written)
        if not self.final.is_dir():
            return owned
        for entry in sorted(os.listdir(self.final)):
            if entry in self.written or entry == MANIFEST:
                continue
            if entry in RUN_FILES:
                if self.replace_run:
                    continue
                owned.append(entry)
            elif entry in self._old_owned():
                if self.replace_run:
                    continue  # a file an earlier run wrote (a depfile): this run's replaces it
                owned.append(entry)
            _carry(self.final / entry, self.staging / entry)
        return owned

    def _old_owned(self) -> set[str]:
        try:
            doc = read_manifest(self.final)
        except OutputError:
            return set()
        return set(doc["files"]) if doc is not None else set()

    def _write_manifest(self, owned: list[str]) -> None:
        files = {}
        for name in sorted(owned):
            p = self.staging / name
            if p.is_file() and not p.is_symlink():
                files[name] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        doc = {"riskmc_version": __version__, "kind": self.kind,
               "about": "the files riskmc wrote here, all committed together; `riskmc verify` checks them",
               "files": files}
        (self.staging / MANIFEST).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def _swap(self) -> None:
        if not self.final.exists():
            os.rename(self.staging, self.final)
            return
        if _exchange(self.staging, self.final):
            return
        # Two renames: the earlier run goes aside under a name `recover` knows.
        aside = self.staging.with_name(self.staging.name + "-aside")
        os.rename(self.final, aside)
        _fault("aside")
        os.rename(self.staging, self.final)
        self.staging = aside

    def abort(self) -> None:
        """Remove everything staged (and parents this transaction created)."""
        if self.staging is not None:
            remove_tree(self.staging)
            self.staging = None
        interrupt.done(self._stop)
        self._stop = None
        for d in reversed(self._made):
            with contextlib.suppress(OSError):
                d.rmdir()
        self._made.clear()

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, et, ev, tb) -> bool:
        if et is not None:
            self.abort()
        return False


def write_file(final: str | Path, data: bytes) -> None:
    """One file, atomically: written beside its final name, then renamed into place."""
    final = Path(final)
    try:
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write the file: {exc.strerror}", file=final) from exc
    stop = interrupt.on_stop(lambda: os.unlink(tmp))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        with interrupt.critical():
            interrupt.check()
            os.replace(tmp, final)
            interrupt.done(stop)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write the file: {exc.strerror}", file=final) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        interrupt.done(stop)


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
