"""One source of "now" for services and flows, so months can be replayed on a simulated clock."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = as_utc(when)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self._now = self._now + delta
        return self._now


class OffsetClock:
    """Real time, shifted: starts at `virtual_start` when real time was `real_start`, then runs.

    For a demo whose data lives in another year: deadlines, colours and the sweeps behave as if
    the service were running then, and time still passes.
    """

    def __init__(self, virtual_start: dt.datetime, real_start: dt.datetime | None = None) -> None:
        self._offset = as_utc(virtual_start) - (as_utc(real_start) if real_start else
                                                dt.datetime.now(UTC))

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC) + self._offset


def as_utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: give a timezone (Asia/Shanghai or UTC)")
    return when.astimezone(UTC)


def local_date(when: dt.datetime) -> dt.date:
    """The calendar date in Asia/Shanghai, which is what deadlines count in."""
    return as_utc(when).astimezone(SHANGHAI).date()


def shanghai(when: dt.datetime) -> dt.datetime:
    return as_utc(when).astimezone(SHANGHAI)


def parse_local(text: str) -> dt.datetime:
    """Parse '2023-03-24' or '2023-03-24 18:00' as Asia/Shanghai time."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return as_utc(value)
