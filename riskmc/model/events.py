"""Events as text: one small grammar for claims and questions, parsed (never eval'ed).

    nvidia_share[2030] < 0.5 and aws_revenue[2026] > 154
    0.45 <= nvidia_share[2030] <= 0.50
    not (custom_share_2030 > 0.4) or nvidia_dc_revenue[2025:2027] rises

An operand is an output in a year, `name[2030]` (or `name` for a model without years),
or an input by name. Comparisons are <, <=, >, >=, == and != against a number, and may
chain (`a <= x <= b`); `name[y1:y2] rises` (or `falls`) holds when the output goes up
(down) every year of the span. `and` binds tighter than `or`; `not` and parentheses as
usual. A parsed event is resolved against a model's rows (outputs by year, then inputs)
and evaluated on a block of draws with numpy.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from ..errors import EventError
from . import units
from .tokens import Cursor, tokenize
from .units import Written

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<money>-?\$[-+]?(?:\d+\.?\d*|\.\d+)[KMBT]?)
  | (?P<percent>[-+]?(?:\d+\.?\d*|\.\d+)%)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<punct>[\[\]():])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
_WORDS = {"and", "or", "not", "rises", "falls"}
# Longer events than this are not questions but accidents.
MAX_CHARS = 10_000
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Var:
    name: str
    year: int | None = None

    def text(self) -> str:
        return self.name if self.year is None else f"{self.name}[{self.year}]"


@dataclass(frozen=True)
class Cmp:
    var: Var
    op: str
    value: float
    written: str | None = None  # "50%", "$160B": as typed, until bound to the variable's unit

    def text(self) -> str:
        return f"{self.var.text()} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Trend:
    name: str
    first: int
    last: int
    rises: bool

    def text(self) -> str:
        return f"{self.name}[{self.first}:{self.last}] {'rises' if self.rises else 'falls'}"


@dataclass(frozen=True)
class Not:
    arg: object

    def text(self) -> str:
        return f"not ({self.arg.text()})" if isinstance(self.arg, (Cmp, BoolOp)) else f"not {self.arg.text()}"


@dataclass(frozen=True)
class BoolOp:
    op: str          # "and" or "or"
    args: tuple

    def text(self) -> str:
        return f" {self.op} ".join(_wrap(a, self.op) for a in self.args)


def _wrap(node, parent: str | None = None) -> str:
    """A child's text, in parentheses when it joins with the other operator (clearer to
    read, though `and` binds tighter anyway)."""
    t = node.text()
    return f"({t})" if isinstance(node, BoolOp) and node.op != parent else t


def parse(text: str) -> object:
    """The event's syntax tree; an EventError naming the column of the first mistake."""
    if not isinstance(text, str) or not text.strip():
        raise EventError("an event is empty", hint='write one such as "nvidia_share[2030] < 0.5"')
    if len(text) > MAX_CHARS:
        raise EventError(f"an event is {len(text):,} characters long, more than {MAX_CHARS:,}",
                         hint="state it more briefly, or split it into several questions")
    p = _Parser(text, tokenize(text, _TOKEN, _WORDS))
    node = p.expr()
    p.done("join conditions with 'and' or 'or'")
    return node


class _Parser(Cursor):
    nesting = "an event nests parentheses and 'not' more than {depth} deep"
    nesting_hint = "write it with fewer levels"

    def expr(self):
        args = [self.conj()]
        while self.peek("or"):
            self.i += 1
            args.append(self.conj())
        return args[0] if len(args) == 1 else BoolOp("or", tuple(args))

    def conj(self):
        args = [self.neg()]
        while self.peek("and"):
            self.i += 1
            args.append(self.neg())
        return args[0] if len(args) == 1 else BoolOp("and", tuple(args))

    def neg(self):
        if self.peek("not"):
            self.deeper(self.peek()[2])
            self.i += 1
            node = Not(self.neg())
            self.depth -= 1
            return node
        if self.peek("punct") and self.peek()[1] == "(":
            self.deeper(self.peek()[2])
            self.i += 1
            node = self.expr()
            self.depth -= 1
            t = self.peek("punct")
            if not t or t[1] != ")":
                got = self.tokens[self.i] if self.i < len(self.tokens) else None
                where = f"'{got[1]}' at column {got[2]}" if got else "the end"
                raise EventError(f"expected ')', found {where} of \"{self.text}\"")
            self.i += 1
            return node
        return self.comparison()

    def operand(self):
        """A number, or a name with an optional [year] or [year:year]."""
        t = self.peek()
        if t and t[0] == "number":
            self.i += 1
            return float(t[1])
        if t and t[0] in ("percent", "money"):
            self.i += 1
            return Written(t[1])
        name = self.take("name", "an output, an input or a number")
        if self.peek("punct") and self.peek()[1] == "[":
            self.i += 1
            y1 = self._year()
            y2 = None
            if self.peek("punct") and self.peek()[1] == ":":
                self.i += 1
                y2 = self._year()
            close = self.take("punct", "']'")
            if close[1] != "]":
                raise EventError(f"expected ']' at column {close[2]} of \"{self.text}\"")
            return (name[1], y1, y2, name[2])
        return (name[1], None, None, name[2])

    def _year(self) -> int:
        t = self.take("number", "a year")
        try:
            return int(t[1])
        except ValueError:
            raise EventError(f"'{t[1]}' at column {t[2]} is not a year, in \"{self.text}\"") from None

    def comparison(self):
        left = self.operand()
        if self.peek("rises") or self.peek("falls"):
            word = self.tokens[self.i][0]
            self.i += 1
            if not isinstance(left, tuple) or left[1] is None or left[2] is None:
                col = left[3] if isinstance(left, tuple) else "?"
                raise EventError(f"'{word}' needs a span of years, e.g. nvidia_dc_revenue[2025:2027] {word} "
                                 f"(column {col} of \"{self.text}\")")
            return Trend(left[0], left[1], left[2], word == "rises")
        terms, ops = [left], []
        while self.peek("op"):
            ops.append(self.take("op", "a comparison")[1])
            terms.append(self.operand())
        if not ops:
            t = self.peek()
            where = f"'{t[1]}' at column {t[2]}" if t else "the end"
            raise EventError(f"expected a comparison such as < 0.5 after '{_name(left)}', found {where} of "
                             f"\"{self.text}\"")
        parts = []
        for a, op, b in zip(terms, ops, terms[1:]):
            if isinstance(a, tuple) == isinstance(b, tuple):
                raise EventError(f"compare an output or input with a number, not {_name(a)} {op} {_name(b)}, "
                                 f"in \"{self.text}\"")
            if isinstance(a, tuple):
                parts.append(_cmp(_var(a, self.text), op, b))
            else:
                parts.append(_cmp(_var(b, self.text), _FLIP[op], a))
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))


def _cmp(var: Var, op: str, x) -> Cmp:
    return Cmp(var, op, float("nan"), str(x)) if isinstance(x, Written) else Cmp(var, op, x)


def _name(x) -> str:
    if isinstance(x, Written):
        return str(x)
    return f"{x:g}" if isinstance(x, float) else x[0] + (f"[{x[1]}]" if x[1] is not None else "")


def _in_unit(c: Cmp, unit: str, text: str) -> Cmp:
    """The comparison with its number in the variable's unit (riskmc.model.units)."""
    return Cmp(c.var, c.op, units.in_unit(c.value, c.written, unit, c.var.text(), text))


def _var(x, text) -> Var:
    if x[2] is not None:
        raise EventError(f"a span of years [{x[1]}:{x[2]}] goes with 'rises' or 'falls', not a comparison "
                         f"(column {x[3]} of \"{text}\")")
    return Var(x[0], x[1])


# ---------------------------------------------------------------------------- resolving
@dataclass(frozen=True)
class Event:
    """A parsed event bound to a model's rows: evaluate it on (rows x draws) blocks."""

    tree: object
    rows: tuple[int, ...]      # the rows it reads
    uses_inputs: bool

    @property
    def text(self) -> str:
        return self.tree.text()

    def mask(self, rows: np.ndarray) -> np.ndarray:
        """Per draw: does the event hold? `rows` as the kernel's: outputs by year, then inputs."""
        return _eval(self.tree, rows, self._index)

    def __post_init__(self):
        object.__setattr__(self, "_index", dict(self._pairs))

    _pairs: tuple = ()


def resolve(text: str, model) -> Event:
    """Parse `text` and bind it to `model`'s rows; an EventError for unknown names and years."""
    tree = parse(text)
    n_out = len(model.outputs) * model.width
    pairs = {}

    def row(name: str, year: int | None) -> int:
        return row_of(model, name, year, text)

    def unit(name: str) -> str:
        specs = model.outputs if name in model.output_names else model.inputs
        return next(s.unit for s in specs if s.name == name)

    def walk(node):
        if isinstance(node, Cmp):
            pairs[(node.var.name, node.var.year)] = row(node.var.name, node.var.year)
            return _in_unit(node, unit(node.var.name), text)
        if isinstance(node, Trend):
            if model.years is None or node.name not in model.output_names:
                raise EventError(f"'{node.text()}': rises and falls take an output with years")
            if not node.first < node.last:
                raise EventError(f"'{node.text()}': the span's first year must come before its last")
            for y in range(node.first, node.last + 1):
                pairs[(node.name, y)] = row(node.name, y)
            return node
        if isinstance(node, Not):
            return Not(walk(node.arg))
        return BoolOp(node.op, tuple(walk(a) for a in node.args))

    tree = walk(tree)
    rows = tuple(sorted(set(pairs.values())))
    return Event(tree, rows, any(r >= n_out for r in rows), tuple(pairs.items()))


def row_of(model, name: str, year: int | None, text: str) -> int:
    """The row of `name` (in `year`) in the kernel's rows: outputs by year, then inputs;
    an EventError, naming `text`, for an unknown name or year."""
    t = model.width
    if name in model.output_names:
        k = model.output_names.index(name)
        if model.years is None:
            if year is not None:
                raise EventError(f"model '{model.name}' has no years: write {name}, not {name}[{year}]")
            return k
        if year is None:
            raise EventError(f"say which year of {name}: e.g. {name}[{model.years[-1]}] "
                             f"(the model runs {model.years[0]}-{model.years[-1]})")
        if year not in model.years:
            raise EventError(f"{name}[{year}]: the model runs {model.years[0]}-{model.years[-1]}")
        return k * t + model.years.index(year)
    if name in model.input_names:
        if year is not None:
            raise EventError(f"{name} is an input, one value per draw: drop [{year}]")
        return len(model.outputs) * t + model.input_names.index(name)
    close = difflib.get_close_matches(name, [*model.output_names, *model.input_names], n=1, cutoff=0.6)
    raise EventError(f"unknown name '{name}' in \"{text}\"", hint=f"did you mean '{close[0]}'?" if close
                     else f"outputs: {', '.join(model.output_names)}; inputs are the priors' names")


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
        "!=": np.not_equal}


def _eval(node, rows, index) -> np.ndarray:
    if isinstance(node, Cmp):
        return _OPS[node.op](rows[index[(node.var.name, node.var.year)]], node.value)
    if isinstance(node, Trend):
        ys = [rows[index[(node.name, y)]] for y in range(node.first, node.last + 1)]
        out = np.ones(rows.shape[1], dtype=bool)
        for a, b in zip(ys, ys[1:]):
            out &= (b > a) if node.rises else (b < a)
        return out
    if isinstance(node, Not):
        return ~_eval(node.arg, rows, index)
    parts = [_eval(a, rows, index) for a in node.args]
    out = parts[0].copy()
    for p in parts[1:]:
        if node.op == "and":
            out &= p
        else:
            out |= p
    return out


def claim_event(claim, model) -> Event:
    """A priors file's claim as an event over the model's rows."""
    if claim.event is not None:
        return claim.event
    if claim.rises:
        tree = Trend(claim.output, claim.years[0], claim.years[-1], True)
    else:
        years = claim.years or (None,)
        parts = []
        for y in years:
            v = Var(claim.output, y)
            if claim.above is not None:
                parts.append(Cmp(v, ">", claim.above))
            if claim.below is not None:
                parts.append(Cmp(v, "<", claim.below))
        tree = parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))
    ev = resolve(tree.text(), model)
    return Event(tree, ev.rows, ev.uses_inputs, ev._pairs)
