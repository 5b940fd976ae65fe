"""Numbers in events written with their unit ("50%", "$160B"), read in the unit of the
variable they are compared with; and the percent slip (a share compared with 50) caught.
"""

from __future__ import annotations

from ..errors import EventError

# A share is written from 0 to 1, or in percent ("50%"); money in its unit, or with a
# dollar sign and a scale ("$160B") converted to the output's unit.
SHARE_UNITS = ("fraction", "fraction/yr")
_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


class Written(str):
    """A number written with its unit ("50%", "$160B"), read once the variable's unit is known."""


def in_unit(value: float, written: str | None, unit: str, what: str, text: str) -> float:
    """The number compared with `what` (in `unit`), in that unit: a percent or a dollar
    figure converted; a plain number above 1 compared with a share refused as the slip
    it is. `text` is the whole event, for the message."""
    if written is None:
        if unit in SHARE_UNITS and abs(value) > 1:
            raise EventError(f"{what} is a share from 0 to 1, compared with {value:g} in \"{text}\"",
                             hint=f"did you mean {value / 100:g} or {value:g}%?")
        return value
    if written.endswith("%"):
        if unit not in SHARE_UNITS:
            raise EventError(f"{written} is a percent, but {what} is in {unit or 'plain numbers'}, in \"{text}\"",
                             hint=f"write the number in {what}'s own unit")
        return float(written[:-1]) / 100
    sign = -1.0 if written.startswith("-") else 1.0
    digits = written.lstrip("-").lstrip("$")
    scale = _SCALE[digits[-1]] if digits[-1] in _SCALE else 1.0
    own = unit.split("/")[0]
    if not own.startswith("$") or own[1:] not in _SCALE:
        raise EventError(f"{written} is money, but {what} is in {unit or 'plain numbers'}, in \"{text}\"",
                         hint=f"write the number in {what}'s own unit")
    return sign * float(digits.rstrip("KMBT")) * scale / _SCALE[own[1:]]
