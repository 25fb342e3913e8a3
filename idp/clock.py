"""The one place that says what time it is, so tests can move it (time_machine)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

STATE_TZ = ZoneInfo("Europe/Berlin")


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in the state's time zone (Europe/Berlin), which decides validity dates."""
    return dt.datetime.now(STATE_TZ).date()
