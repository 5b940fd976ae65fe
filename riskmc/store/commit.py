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
from pathlib import Path

from .. import __version__, interrupt
from ..errors import OutputError
from .folders import KINDS, MANIFEST, RUN_FILES, check_folder, check_output, read_manifest, sha256_file

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


