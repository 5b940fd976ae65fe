"""The cursor both small grammars (events, payoffs) parse with: text cut into (kind, value,
column) tokens, looked at and taken one by one, nesting bounded; every mistake an
EventError that names the column."""

from __future__ import annotations

import re

from ..errors import EventError

# Deeper nesting than anyone writes by hand; the bound keeps parsing and evaluating far
# from Python's recursion limit.
MAX_DEPTH = 64


def short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def tokenize(text: str, pattern: re.Pattern, words=frozenset(), hint: str | None = None) -> list[tuple]:
    """(kind, value, column) for each token of `text` (spaces dropped; a name in `words`
    is its own kind); an EventError at the first character no token matches."""
    tokens, pos = [], 0
    while pos < len(text):
        m = pattern.match(text, pos)
        if not m:
            raise EventError(f"unexpected '{text[pos]}' at column {pos + 1} of \"{text}\"", hint=hint)
        kind = m.lastgroup
        if kind != "space":
            value = m.group(kind)
            tokens.append((value if kind == "name" and value in words else kind, value, pos + 1))
        pos = m.end()
    return tokens


class Cursor:
    """A parser's place in its tokens. `nesting` says what nests too deep, for the error."""

    nesting = "nests more than {depth} deep"
    nesting_hint: str | None = None

    def __init__(self, text: str, tokens: list[tuple]) -> None:
        self.text, self.tokens, self.i, self.depth = text, tokens, 0, 0

    def peek(self, kind=None, value=None):
        if self.i < len(self.tokens):
            t = self.tokens[self.i]
            if (kind is None or t[0] == kind) and (value is None or t[1] == value):
                return t
        return None

    def take(self, kind, what, value=None):
        t = self.peek(kind, value)
        if t is None:
            got = self.tokens[self.i] if self.i < len(self.tokens) else None
            where = f"'{got[1]}' at column {got[2]}" if got else "the end"
            raise EventError(f"expected {what}, found {where} of \"{self.text}\"")
        self.i += 1
        return t

    def deeper(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise EventError(f"{self.nesting.format(depth=MAX_DEPTH)} (column {col} of \"{short(self.text)}\")",
                             hint=self.nesting_hint)

    def done(self, hint: str) -> None:
        """Every token used, or an EventError at the first left over."""
        if self.i < len(self.tokens):
            _, value, col = self.tokens[self.i]
            raise EventError(f"unexpected '{value}' at column {col} of \"{self.text}\"", hint=hint)
