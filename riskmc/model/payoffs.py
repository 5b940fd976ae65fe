"""Payoffs as text: arithmetic over a model's outputs and inputs, parsed (never eval'ed).

    y
    0
    2 * (nvidia_share[2030] - 0.5) - 0.1
    min(amazon_eps_upside[2027], 0.5) - max(0, 0.4 - custom_share_2030)

An operand is a number (a percent, 2%, is 0.02; money, $160B, is read in the decision's
money unit: 160 when it is "$B"), an output in a year, `name[2030]` (or
`name` for a model without years), or an input by name, as in events; the operators are
+ - * / with the usual precedence, unary minus and parentheses; the functions `min(a, b, ...)`, `max(a, b, ...)`
and `abs(a)`. A parsed payoff is bound to a model's rows (outputs by year, then inputs)
and evaluated on a block of draws with numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import EventError
from .events import Var as Ref  # an output in a year, or an input: as events name them
from .tokens import Cursor, tokenize

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<percent>(?:\d+\.?\d*|\.\d+)%)
  | (?P<money>\$(?:\d+\.?\d*|\.\d+)[KMBT]?)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<op>[-+*/])
  | (?P<punct>[\[\](),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
FUNCTIONS = {"min": (1, None), "max": (1, None), "abs": (1, 1)}
MAX_CHARS = 10_000


@dataclass(frozen=True)
class Num:
    value: float

    def text(self) -> str:
        return f"{self.value:g}"


@dataclass(frozen=True)
class Money:
    written: str          # as written, "$160B": its value depends on the decision's unit

    def text(self) -> str:
        return self.written


@dataclass(frozen=True)
class Neg:
    arg: object

    def text(self) -> str:
        # Unary minus binds tighter than any operator: -(y * y), not -y * y, reads back the same.
        return f"-({self.arg.text()})" if isinstance(self.arg, Bin) else f"-{self.arg.text()}"


@dataclass(frozen=True)
class Bin:
    op: str
    left: object
    right: object

    def text(self) -> str:
        right = _wrapped(self.right, self.op, right=True)
        return f"{_wrapped(self.left, self.op)} {self.op} {right}"


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple

    def text(self) -> str:
        return f"{self.fn}({', '.join(a.text() for a in self.args)})"


_RANK = {"+": 1, "-": 1, "*": 2, "/": 2}


def _wrapped(node, op: str, right: bool = False) -> str:
    """A child's text, in parentheses where the operator would otherwise bind it differently."""
    t = node.text()
    # Operators group to the left, so a right operand of the same rank keeps its parentheses
    # (y - (a - b) needs them; y + (a + b) keeps them too, so the text reads back as the tree).
    if isinstance(node, Bin) and (_RANK[node.op] < _RANK[op] or right and _RANK[node.op] == _RANK[op]):
        return f"({t})"
    return t


def parse(text: str):
    """The payoff's syntax tree; an EventError naming the column of the first mistake."""
    if not isinstance(text, str) or not text.strip():
        raise EventError("a payoff is empty", hint='write an expression such as "y" or "0"')
    if len(text) > MAX_CHARS:
        raise EventError(f"a payoff is {len(text):,} characters long, more than {MAX_CHARS:,}")
    p = _Parser(text, tokenize(text, _TOKEN, hint="a payoff uses numbers (2% for 0.02), outputs, inputs, + - * /, "
                                                  "( ), min, max and abs"))
    node = p.sum()
    p.done("join terms with + - * /")
    return node


class _Parser(Cursor):
    nesting = "a payoff nests more than {depth} deep"

    def sum(self):
        node = self.product()
        while (t := self.peek("op")) and t[1] in "+-":
            self.i += 1
            node = Bin(t[1], node, self.product())
        return node

    def product(self):
        node = self.unary()
        while (t := self.peek("op")) and t[1] in "*/":
            self.i += 1
            node = Bin(t[1], node, self.unary())
        return node

    def unary(self):
        t = self.peek("op")
        if t and t[1] in "+-":
            self.deeper(t[2])
            self.i += 1
            arg = self.unary()
            self.depth -= 1
            return Neg(arg) if t[1] == "-" else arg
        return self.atom()

    def atom(self):
        t = self.peek()
        if t is None:
            raise EventError(f"expected a number, an output or an input, found the end of \"{self.text}\"")
        if t[0] == "number":
            self.i += 1
            return Num(float(t[1]))
        if t[0] == "percent":   # 2% is 0.02, as shares are written everywhere else
            self.i += 1
            return Num(float(t[1][:-1]) / 100)
        if t[0] == "money":
            self.i += 1
            return Money(t[1])
        if t[0] == "punct" and t[1] == "(":
            self.deeper(t[2])
            self.i += 1
            node = self.sum()
            self.take("punct", "')'", ")")
            self.depth -= 1
            return node
        if t[0] != "name":
            raise EventError(f"expected a number, an output or an input, found '{t[1]}' at column {t[2]} of "
                             f"\"{self.text}\"")
        self.i += 1
        if self.peek("punct", "("):
            if t[1] not in FUNCTIONS:
                raise EventError(f"unknown function '{t[1]}' at column {t[2]} of \"{self.text}\"",
                                 hint="the functions are min, max and abs")
            self.deeper(t[2])
            self.i += 1
            args = [self.sum()]
            while self.peek("punct", ","):
                self.i += 1
                args.append(self.sum())
            self.take("punct", "')'", ")")
            self.depth -= 1
            lo, hi = FUNCTIONS[t[1]]
            if hi is not None and len(args) > hi:
                raise EventError(f"{t[1]}() takes one value, got {len(args)} (column {t[2]} of \"{self.text}\")")
            return Call(t[1], tuple(args))
        if self.peek("punct", "["):
            self.i += 1
            y = self.take("number", "a year")
            try:
                year = int(y[1])
            except ValueError:
                raise EventError(f"'{y[1]}' at column {y[2]} is not a year, in \"{self.text}\"") from None
            self.take("punct", "']'", "]")
            return Ref(t[1], year)
        return Ref(t[1])


@dataclass(frozen=True)
class Payoff:
    """A parsed payoff bound to a model's rows: evaluate it on (rows x draws) blocks."""

    tree: object
    index: tuple          # ((name, year), row) for every reference
    uses_inputs: bool
    money: tuple = ()     # (written, value in the decision's unit) for every sum of money

    @property
    def text(self) -> str:
        return self.tree.text()

    def values(self, rows: np.ndarray) -> np.ndarray:
        """Per draw, the payoff (rows as the kernel's: outputs by year, then inputs)."""
        out = _eval(self.tree, rows, {**dict(self.index), **dict(self.money)})
        return np.broadcast_to(np.asarray(out, dtype=float), (rows.shape[1],)).copy()


def resolve(text: str, model, unit: str = "") -> Payoff:
    """Parse `text` and bind it to `model`'s rows, money read in `unit` (the decision's);
    an EventError for unknown names and years, and for money in a payoff without a money unit."""
    from .events import row_of
    from .units import in_unit
    tree = parse(text)
    pairs, money = {}, {}

    def walk(node):
        if isinstance(node, Ref):
            pairs[(node.name, node.year)] = row_of(model, node.name, node.year, text)
        if isinstance(node, Money):
            try:
                money[node.written] = in_unit(0.0, node.written, unit, "the payoff", text)
            except EventError as exc:
                raise EventError(exc.message, hint='give the decision the unit its payoffs are in, e.g. unit = "$B"'
                                 if not unit else exc.hint) from None
        for child in _children(node):
            walk(child)

    walk(tree)
    n_out = len(model.outputs) * model.width
    return Payoff(tree, tuple(pairs.items()), any(r >= n_out for r in pairs.values()), tuple(money.items()))


def _children(node):
    if isinstance(node, Neg):
        return (node.arg,)
    if isinstance(node, Bin):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def _eval(node, rows, index):
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return rows[index[(node.name, node.year)]]
    if isinstance(node, Money):
        return index[node.written]
    if isinstance(node, Neg):
        return -_eval(node.arg, rows, index)
    if isinstance(node, Bin):
        a, b = _eval(node.left, rows, index), _eval(node.right, rows, index)
        with np.errstate(all="ignore"):
            return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[node.op](a, b)
    args = [_eval(a, rows, index) for a in node.args]
    if node.fn == "abs":
        return np.abs(args[0])
    out = args[0]
    for a in args[1:]:
        out = np.minimum(out, a) if node.fn == "min" else np.maximum(out, a)
    return out
