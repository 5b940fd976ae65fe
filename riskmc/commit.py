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
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from . import __version__, interrupt
from .errors import OutputError

MANIFEST = "manifest.json"
# What riskmc writes into a run folder: a new run replaces all of these, and a folder
# holding any of them is a riskmc folder (anything else in it is the user's and is kept).
RUN_FILES = ("summary.json", "report.html", "draws.parquet", "draws.nc", "sensitivity.json",
             "compare.json", "compare.html", MANIFEST)
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
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
        shutil.rmtree(p, ignore_errors=True)


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

    `replace_run=True` (a run, a comparison) replaces all of riskmc's files in the folder;
    False (sensitivity, report) replaces only those it writes and keeps the rest.
    """

    def __init__(self, final: str | Path, *, replace_run: bool = True) -> None:
        self.shown = Path(final)
        self.final = Path(os.path.realpath(final))
        self.replace_run = replace_run
        self.staging: Path | None = None
        self.written: list[str] = []
        self._made: list[Path] = []
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
            interrupt.check()
            self._swap()
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
        shutil.rmtree(old, ignore_errors=True)
        self._made.clear()
        return [self.shown / name for name in self.written]

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
            return set(json.loads((self.final / MANIFEST).read_text())["files"])
        except (OSError, ValueError, KeyError, TypeError):
            return set()

    def _write_manifest(self, owned: list[str]) -> None:
        files = {}
        for name in sorted(owned):
            p = self.staging / name
            if p.is_file() and not p.is_symlink():
                files[name] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        doc = {"riskmc_version": __version__,
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
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
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
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        interrupt.check()
        os.replace(tmp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write the file: {exc.strerror}", file=final) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def verify(folder: str | Path) -> dict:
    """Check a folder against its manifest.json: every file there, with its SHA-256.

    Returns the manifest; raises OutputError naming the first file that does not match.
    """
    folder = Path(folder)
    try:
        doc = json.loads((folder / MANIFEST).read_text())
        files = doc["files"]
        if not isinstance(files, dict):
            raise TypeError
    except FileNotFoundError:
        raise OutputError("no manifest.json: not a folder riskmc committed (or made before riskmc 0.2)",
                          file=folder) from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise OutputError("manifest.json is damaged", file=folder,
                          hint="re-run the command that wrote this folder") from exc
    for name, entry in sorted(files.items()):
        p = folder / name
        if not p.is_file():
            raise OutputError(f"{name} is missing or not a file, but manifest.json lists it", file=folder,
                              hint="re-run the command that wrote this folder")
        try:
            ok = p.stat().st_size == entry["bytes"] and sha256_file(p) == entry["sha256"]
        except (OSError, KeyError, TypeError) as exc:
            raise OutputError("manifest.json is damaged", file=folder,
                              hint="re-run the command that wrote this folder") from exc
        if not ok:
            raise OutputError(f"{name} differs from the file riskmc wrote (its SHA-256 does not match "
                              "manifest.json)", file=folder, hint="re-run the command that wrote this folder")
    return doc
