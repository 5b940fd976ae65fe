"""Where things are in a TOML file: line numbers for tables and keys.

tomllib gives values, not positions; error messages need the line, so one pass over
the text maps each table header and each `key =` line to its line number.
"""

from __future__ import annotations

import re

# A table header: [a.b] or [[a]], its parts bare or quoted (a quoted part may hold ] or =).
_HEADER = re.compile(r"""^\s*\[\[?\s*((?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\]"'])+?)\s*\]\]?\s*(#.*)?$""")
_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")
_KEY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_\-.]+)\s*=')


def _split_dotted(text: str) -> tuple[str, ...]:
    parts, buf, quote = [], "", None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                buf += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return tuple(parts)


class LineIndex:
    """Line numbers (1-based) of `[table]` headers and of `key = value` lines."""

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, ...], int] = {}
        self.keys: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            m = _HEADER.match(line)
            if m and not line.lstrip().startswith(("#",)) and "=" not in _QUOTED.sub("", m.group(1)):
                current = _split_dotted(m.group(1))
                self.tables.setdefault(current, number)
                continue
            k = _KEY.match(line)
            if k:
                path = current + _split_dotted(k.group(1))
                self.keys.setdefault(path, number)

    def line(self, *path: str) -> int | None:
        """The line of the key or table at `path`, or of its nearest enclosing table."""
        path = tuple(path)
        while path:
            if path in self.keys:
                return self.keys[path]
            if path in self.tables:
                return self.tables[path]
            # Only subtables written out, as [a.b.c] without [a.b]: the first of them.
            inner = [n for t, n in self.tables.items() if t[:len(path)] == path]
            if inner:
                return min(inner)
            path = path[:-1]
        return None
