"""The one timestamp a run records: SOURCE_DATE_EPOCH, the reproducible-builds convention."""

from __future__ import annotations

import datetime as dt
import os

from ..errors import SamplingError


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
