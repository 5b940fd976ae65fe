"""Build a decision from its `[decisions.NAME]` table: options, each a payoff over outputs
and inputs, priced by every run (riskmc.analyze.decisions)."""

from __future__ import annotations

from dataclasses import dataclass

from .compose import _check_name, _did_you_mean, _Where

DECISION_KEYS = ("description", "options", "unit")


@dataclass(frozen=True)
class Decision:
    """A choice among options, each paying an expression (riskmc.model.payoffs.Payoff)."""

    name: str
    description: str
    options: tuple[tuple[str, object], ...]   # (option, Payoff), in the file's order
    unit: str
    file: str
    line: int | None          # its options' line: where a payoff's mistake is

    def as_dict(self) -> dict:
        return {"description": self.description, "unit": self.unit, "line": self.line,
                "options": {k: p.text for k, p in self.options}}


def build_decision(name: str, t, w: _Where, model) -> Decision:
    """A decision's table, checked against the model: two or more options, each a payoff."""
    from ..errors import EventError
    from ..model.payoffs import resolve
    path = ("decisions", name)

    def err(message, *keys, hint=None):
        return w.error(f"decision '{name}': {message}", *path, *keys, hint=hint)

    example = 'options = { take = "y", pass = "0" }'
    if not isinstance(t, dict):
        raise err("must be a table: [decisions." + name + "]")
    for key in t:
        if key not in DECISION_KEYS:
            raise err(f"unknown key '{key}'", key, hint=_did_you_mean(key, DECISION_KEYS))
    for key in ("description", "unit"):
        if key in t and not isinstance(t[key], str):
            raise err(f"'{key}' must be text in quotes", key)
    unit = _unit(t.get("unit", ""), model, err)
    options = t.get("options")
    if not isinstance(options, dict):
        raise err("needs its options: a table of option = \"payoff\"", *(("options",) if "options" in t else ()),
                  hint=example)
    if len(options) < 2:
        raise err(f"has {len(options)} option{'' if len(options) == 1 else 's'}: a decision chooses between two "
                  "or more", "options", hint="add the alternative, e.g. pass = \"0\"")
    built = []
    for option, text in options.items():
        _check_name(w, "option", option, (*path, "options", option))
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = repr(float(text))
        if not isinstance(text, str):
            raise err(f"option '{option}' must be a payoff in quotes, e.g. \"y\" or \"0\"", "options", option)
        try:
            built.append((option, resolve(text, model, unit)))
        except EventError as exc:
            raise err(f"option '{option}': {exc.message}", "options", option, hint=exc.hint) from None
    return Decision(name, t.get("description", ""), tuple(built), unit, str(w.doc.path),
                    w.doc.lines.line(*path, "options"))


def _unit(unit: str, model, err) -> str:
    """The payoffs' unit, as the model's outputs and inputs spell theirs: a percent, or a
    slip of one of the model's units, is refused (the unit decides how every figure is
    printed); other text is taken as given (a unit of the user's own, e.g. "points")."""
    import difflib

    from ..model.units import SHARE_UNITS
    from .numbers import PERCENT_UNITS
    if unit.strip().lower() in PERCENT_UNITS:
        raise err(f"unit '{unit}': a payoff in shares is written from 0 to 1 (2% reads 0.02) and printed in "
                  "percentage points", "unit", hint='write unit = "fraction"')
    known = sorted({*SHARE_UNITS, *(o.unit for o in model.outputs), *(x.unit for x in model.inputs)} - {""})
    if unit and unit not in known:
        close = [k for k in known if k.lower() == unit.lower()] or difflib.get_close_matches(unit, known, n=1,
                                                                                             cutoff=0.75)
        if close:
            raise err(f"unit '{unit}' is not one of the model's units", "unit", hint=f"did you mean '{close[0]}'?")
    return unit
