"""Time as riskmc reads it: the one timestamp a run records (SOURCE_DATE_EPOCH, the
reproducible-builds convention), today's date, and dates as the ledger stores them."""

from __future__ import annotations

import datetime as dt
import os

from ..errors import LedgerUsageError, SamplingError


class TimestampError(SamplingError):
    """SOURCE_DATE_EPOCH is set but is not a usable time."""


def from_epoch(epoch: str) -> str:
    """SOURCE_DATE_EPOCH as an ISO 8601 UTC time, or a TimestampError saying what it must be."""
    try:
        seconds = int(epoch.strip())
        if not 0 <= seconds <= 253402300799:  # up to 9999-12-31T23:59:59Z
            raise ValueError(epoch)
        when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise TimestampError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970 (before year 10000), "
                             f"got {epoch!r}") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def created() -> str | None:
    """The run's one timestamp: SOURCE_DATE_EPOCH when set, else none, so reruns match."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return from_epoch(epoch) if epoch else None


def parse_date(text: str, what: str = "date") -> str:
    """YYYY-MM-DD, checked; the one format the ledger stores."""
    s = str(text)
    try:
        if len(s) == 10:
            return dt.date.fromisoformat(s).isoformat()
    except ValueError:
        pass
    raise LedgerUsageError(f"{what} must be a date such as 2026-03-31, got '{s}'")


def today() -> str:
    """Today, YYYY-MM-DD: SOURCE_DATE_EPOCH's day when it is set (a pipeline's fixed clock),
    else the system's."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return from_epoch(epoch)[:10]
    return dt.date.today().isoformat()


def not_after_today(name: str, date: str, path) -> None:
    """An outcome is recorded once it is known: a date after today is a mistake."""
    now = today()
    if date > now:
        raise LedgerUsageError(f"'{name}' resolved on {date}, after today ({now}): an outcome is recorded once it is "
                               "known; nothing was changed", file=path, hint="check --date")


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
