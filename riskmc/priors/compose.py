"""Read priors files and compose them: parse the TOML, follow `extends`, lay a child's keys over its
parent's. Every mistake points at a file and a line, and quotes nothing from outside the priors' folder."""

from __future__ import annotations

import difflib
import hashlib
import os
import pickle
import re
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import PriorsError
from ..store.textfile import read_text
from .families import FAMILIES
from .toml_lines import LineIndex

TOP_KEYS = ("title", "description", "model", "extends", "run", "priors", "correlations", "scenarios", "claims",
            "evidence", "decisions")
SPEC_KEYS = ("family", "range", "confidence", "value", "lower", "upper", "values", "probs")
PARAM_KEYS = sorted({p for f in FAMILIES.values() for p in f.params} - {"value"})
QUANTILE_KEY = re.compile(r"^p(\d{2})$")


# --------------------------------------------------------------------------- reading
@dataclass
class _Doc:
    path: Path
    data: dict
    lines: LineIndex
    sha256: str


# Names become folder names, file columns and parts of events: letters, digits, _ - . only.
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


# Parsed priors files by the SHA-256 of their bytes, pickled: a file is read by
# model_ref, then by load, then once per scenario that `priors check` validates. Each
# reader unpickles its own copy of the tables (a twentieth of parsing the TOML again),
# so no load can change what the next one reads; the key is the content, never stale.
_PARSED: dict[str, tuple[bytes, LineIndex]] = {}
_PARSED_MAX = 32
_PARSED_LOCK = threading.Lock()  # library users may load priors from several threads


def _read(path: Path) -> _Doc:
    text, raw = read_text(path)
    digest = hashlib.sha256(raw).hexdigest()
    with _PARSED_LOCK:
        kept = _PARSED.get(digest)
    if kept is not None:
        return _Doc(path, pickle.loads(kept[0]), kept[1], digest)
    # A byte-order mark (Windows Notepad's UTF-8) is not TOML but says nothing: skip it.
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg).strip()
        msg = msg[:1].lower() + msg[1:]
        hint = "see https://toml.io for the syntax"
        said = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        if msg.startswith("cannot overwrite a value") and "=" in said:
            # A key given twice in one table: name it.
            msg, hint = f"'{said.split('=')[0].strip()}' is given twice in its table", "keep one of them"
        raise PriorsError(f"malformed TOML: {msg}", file=path, line=line, hint=hint) from exc
    except RecursionError as exc:
        raise PriorsError("malformed TOML: values nested too deeply", file=path, line=_deep_line(text),
                          hint="a priors file nests tables and lists a few levels at most") from exc
    doc = _Doc(path, data, LineIndex(text), digest)
    try:
        kept = (pickle.dumps(data), doc.lines)
    except RecursionError:  # nested too deeply to copy: parsed again when read again
        return doc
    with _PARSED_LOCK:
        while _PARSED and len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[digest] = kept
    return doc


def _deep_line(text: str, limit: int = 100) -> int | None:
    """The line where brackets and braces first nest `limit` deep (outside strings and
    comments): where a file that is nested too deeply for the parser goes wrong."""
    depth, line, i, n = 0, 1, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            end = text.find(quote, i + len(quote))
            while quote == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(quote, end + 1)
            stop = n if end < 0 else end + len(quote)
            line += text.count("\n", i, stop)
            i = stop
            continue
        elif c in "[{":
            depth += 1
            if depth >= limit:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(sorted(choices))}"


class _Where:
    """Builds errors that point at a key in one document."""

    def __init__(self, doc: _Doc):
        self.doc = doc

    def error(self, message: str, *path: str, hint: str | None = None) -> PriorsError:
        return PriorsError(message, file=self.doc.path, line=self.doc.lines.line(*path), hint=hint)


def _load_chain(path: Path, seen: tuple[Path, ...] = (), top: _Where | None = None) -> list[_Doc]:
    """The file and its `extends` ancestors, root first. A mistake in what `extends` names
    (a folder, a FIFO, a binary file...) is reported at the `extends` line that names it;
    a cycle at the first file's `extends` line, where the chain was entered."""
    resolved = path.resolve()
    doc = _read(path)
    w = _Where(doc)
    top = top or w
    for key in doc.data:
        if key not in TOP_KEYS:
            raise w.error(f"unknown top-level key '{key}'", key, hint=_did_you_mean(key, TOP_KEYS))
    parent = doc.data.get("extends")
    if parent is None:
        return [doc]
    if not isinstance(parent, str):
        raise w.error("'extends' must be a file name in quotes", "extends")
    if not parent.strip():
        raise w.error("'extends' must name a priors file, got an empty name", "extends",
                      hint='e.g. extends = "base.toml", or remove the line')
    parent_path = path.parent / parent
    try:
        exists = parent_path.exists()
    except OSError as exc:
        raise w.error(f"'extends' names a path the system refuses: {exc.strerror}", "extends",
                      hint="name a priors file, e.g. extends = \"base.toml\"") from None
    if not exists:
        raise w.error(f"'extends' names a missing file: {parent}", "extends",
                      hint=f"no file at {parent_path}")
    if parent_path.resolve() in (*seen, resolved):
        cycle = " -> ".join(p.name for p in (*seen, resolved, parent_path.resolve()))
        raise top.error(f"'extends' makes a cycle: {cycle}", "extends", hint="remove one of the 'extends' lines")
    try:
        read_text(parent_path)  # the file itself: a folder, a FIFO, binary or too large is this line's mistake
    except PriorsError as exc:
        raise w.error(f"'extends' names {parent}: {exc.message}", "extends", hint=exc.hint) from exc
    try:
        chain = _load_chain(parent_path, (*seen, resolved), top)
    except PriorsError as exc:
        raise _redacted(exc, path) from exc
    return chain + [doc]


def _redacted(exc: PriorsError, top: Path) -> PriorsError:
    """An error in a file outside the priors' folder names the file and line but quotes
    none of its content: `extends` could name any file this user can read."""
    if exc.file is None or not exc.quotes_file or _inside(Path(exc.file), top.parent):
        return exc
    return PriorsError("not a usable priors file (riskmc quotes nothing from files outside the "
                       "priors' folder: check it there)", file=exc.file, line=exc.line)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except OSError:
        return False


# --------------------------------------------------------------------------- composing
def _merge_prior(old: dict | None, new: dict) -> dict:
    """A child's keys override the parent's.

    Stating the distribution a new way (family, range, quantiles or value) replaces the
    parent's whole distribution; giving only parameters (`p = 0.5`) adjusts the parent's.
    """
    if old is None:
        return dict(new)
    if any(k in ("family", "range", "value") or QUANTILE_KEY.match(k) for k in new):
        old = {k: v for k, v in old.items() if not _is_spec_key(k) and k not in ("experts", "pool")}
    if isinstance(new.get("experts"), dict):
        # Experts replace a single stated distribution, and merge with the parent's experts
        # one by one: a scenario can change one expert's view or weight, or add an expert.
        if "experts" not in old:  # the single view's citation was for that view
            old = {k: v for k, v in old.items() if k not in ("source", "reviewed")}
        old = {k: v for k, v in old.items() if not _is_spec_key(k)}
        mine = old.get("experts") if isinstance(old.get("experts"), dict) else {}
        weighs = any(isinstance(t, dict) and "weight" in t for t in new["experts"].values())
        if weighs and not any(isinstance(t, dict) and "weight" in t for t in mine.values()):
            # An overlay that weighs experts the parent left equal: the others keep weight 1.
            mine = {k: {**t, "weight": 1.0} if isinstance(t, dict) else t for k, t in mine.items()}
        merged = dict(mine)
        for name, table in new["experts"].items():
            both = isinstance(mine.get(name), dict) and isinstance(table, dict)
            merged[name] = _merge_prior(mine[name], table) if both else table
        return {**old, **new, "experts": merged}
    return {**old, **new}


def _is_spec_key(key: str) -> bool:
    return key in SPEC_KEYS or key in PARAM_KEYS or bool(QUANTILE_KEY.match(key))


@dataclass
class _Entry:
    table: dict
    doc: _Doc
    path: tuple[str, ...]


def _check_name(w: _Where, kind: str, name: str, path: tuple[str, ...]) -> None:
    if not NAME.match(name):
        raise w.error(f"{kind} name '{name}' may hold only letters, digits, '_', '-' and '.' "
                      "(it becomes part of file and folder names)", *path,
                      hint="rename it, e.g. " + (re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or kind))
