"""Clocks of the account pool: account-side time (cooldowns, buckets) is injectable for tests.

Request deadlines are measured on the event loop's own clock, so a manual clock never makes a
caller wait longer or shorter than its ``deadline_s`` in real time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of monotonic seconds and of the matching aware UTC wall time."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clocks: ``time.monotonic`` and ``datetime.now(UTC)``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when ``advance`` is called."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._elapsed = 0.0

    def monotonic(self) -> float:
        return 1_000.0 + self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self._elapsed += seconds


def to_wall(clock: Clock, monotonic_time: float) -> datetime:
    """Convert a monotonic instant of ``clock`` to its aware UTC wall time."""
    return clock.now() + timedelta(seconds=monotonic_time - clock.monotonic())


def to_monotonic(clock: Clock, wall_time: datetime) -> float:
    """Convert an aware wall time to a monotonic instant of ``clock``."""
    return clock.monotonic() + (wall_time - clock.now()).total_seconds()
