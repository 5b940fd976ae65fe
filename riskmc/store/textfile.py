"""Reading a file a user names (priors, model, a run folder's files): a regular file of
bounded size, opened so that a FIFO or a device fails at once instead of hanging."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from ..errors import PriorsError, RiskmcError

# A priors or model file is a page or two of text; far larger is not one (and reading
# /dev/zero, or a FIFO nobody writes to, must not hang or exhaust memory).
MAX_FILE_BYTES = 1 << 20


def read_text(path: Path, what: str = "priors file",
              error: type[RiskmcError] = PriorsError) -> tuple[str, bytes]:
    """A regular file of at most MAX_FILE_BYTES as UTF-8 text (and its bytes), or `error`.

    Opened without blocking and checked before reading, so a FIFO or /dev/zero fails at
    once; the messages quote nothing of the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"no such {what}", file=path, hint="check the path", quotes_file=False) from None
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror}", file=path, quotes_file=False) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"not a regular file, so not a {what}", file=path, quotes_file=False,
                        hint="name a .toml file" if what == "priors file" else "name a .py file")
        if st.st_size > MAX_FILE_BYTES:
            raise error(f"larger than {MAX_FILE_BYTES >> 20} MiB, so not a {what}", file=path, quotes_file=False)
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror}", file=path, quotes_file=False) from exc
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise error(f"larger than {MAX_FILE_BYTES >> 20} MiB, so not a {what}", file=path, quotes_file=False)
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1  # where the first byte that is not UTF-8 stands
        raise error("the file is not UTF-8 text", file=path, line=line, hint="save it as UTF-8",
                    quotes_file=False) from exc


class NotRegular(OSError):
    """The path names something other than a regular file (a FIFO, a device, a socket, or
    a symbolic link, which a folder riskmc committed never holds)."""

    def __init__(self, path, what: str = "not a regular file") -> None:
        super().__init__(errno.EINVAL, what, str(path))


def _open_regular(path: Path) -> int:
    """A file descriptor on `path` itself, never through a link (O_NOFOLLOW), never waiting
    on a FIFO (O_NONBLOCK)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular(path, "a link, not a file riskmc wrote") from None
        raise


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. FileNotFoundError and
    IsADirectoryError as open() raises them; NotRegular for a link or anything else that
    is not a file; ValueError when it is larger than `limit`."""
    fd = _open_regular(path)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(path)
        if st.st_size > limit:
            raise ValueError(f"larger than {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return raw


def sha256_regular(path: Path) -> str:
    """The SHA-256 of a regular file, read in blocks (NotRegular for a link, a FIFO or a device)."""
    fd = _open_regular(path)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(path)
        h = hashlib.sha256()
        with os.fdopen(fd, "rb", closefd=False) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    finally:
        os.close(fd)
