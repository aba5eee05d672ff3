"""Per-minute limits as token buckets, and the rate-limit headers that steer them."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

SECONDS_PER_MINUTE = 60.0
# A bucket contains at most one second of refill, so a fresh pool never bursts a whole
# minute's budget at once. Servers may enforce per-minute limits over shorter windows.
BURST_WINDOW_S = 1.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class TokenBucket:
    """A per-minute limit that refills ``per_minute / 60`` units a second, up to one burst window.

    A reservation larger than the burst is admitted when the bucket is full and leaves a debt
    (a negative level), so the average rate stays within the limit. ``per_minute <= 0``
    means no limit.
    """

    __slots__ = ("configured", "per_minute", "capacity", "rate", "level", "updated")

    def __init__(self, per_minute: int, now: float) -> None:
        self.configured = per_minute
        self.per_minute = 0.0
        self.capacity = math.inf
        self.rate = math.inf
        self.level = math.inf
        self.updated = now
        self._set_limit(per_minute)

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0

    def _set_limit(self, per_minute: float) -> None:
        self.per_minute = per_minute
        if per_minute <= 0:
            self.capacity = self.rate = self.level = math.inf
            return
        self.rate = per_minute / SECONDS_PER_MINUTE
        self.capacity = max(1.0, self.rate * BURST_WINDOW_S)
        self.level = self.capacity if math.isinf(self.level) else min(self.level, self.capacity)

    def reconfigure(self, per_minute: int) -> None:
        """Apply a limit that an admin changed, keeping the current level within the new one."""
        if per_minute != self.configured:
            self.configured = per_minute
            self._set_limit(per_minute)

    def refill(self, now: float) -> None:
        """Add the units that accrued since the last refill."""
        if not self.unlimited:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def admits(self, amount: float) -> bool:
        """Tell whether a reservation of ``amount`` fits now (call ``refill`` first)."""
        return self.level >= min(amount, self.capacity)

    def take(self, amount: float) -> None:
        """Reserve ``amount`` units, which may leave the level below zero (a debt)."""
        if not self.unlimited:
            self.level -= amount

    def give_back(self, amount: float) -> None:
        """Return reserved units, or take more when ``amount`` is negative."""
        if not self.unlimited:
            self.level = min(self.capacity, self.level + amount)

    def seconds_until(self, amount: float) -> float:
        """Return how long until ``amount`` fits, 0 when it fits now (call ``refill`` first)."""
        missing = min(amount, self.capacity) - self.level
        return 0.0 if missing <= 0 else missing / self.rate

    def follow(self, limit: int | None, remaining: int | None, reset_s: float | None) -> None:
        """Adopt the server's view of this limit from its ``x-ratelimit-*`` headers.

        The server's limit replaces a higher configured one. The level never exceeds what the
        server reports as remaining.
        """
        if limit is not None and limit > 0:
            effective = limit if self.configured <= 0 else min(self.configured, limit)
            if effective != self.per_minute:
                self._set_limit(effective)
        if remaining is None or self.unlimited:
            return
        server_level = float(remaining)
        if reset_s is not None and limit:
            # NOTE: the reset header is read as OpenAI's rate-limits guide defines it, the time
            # until the limit is back to its initial state. Servers with fixed windows are
            # handled by the cooldown after their 429 responses.
            server_level = min(server_level, max(0.0, limit - reset_s * limit / 60))
        self.level = min(self.level, server_level)


def parse_duration(text: str) -> float | None:
    """Parse ``6m0s``, ``1.5s``, ``120ms`` or plain seconds, or return None for invalid text."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _parse_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class LimitHeaders:
    """The ``x-ratelimit-*`` values of one resource (requests or tokens) in one response."""

    limit: int | None
    remaining: int | None
    reset_s: float | None

    @classmethod
    def parse(cls, headers: Mapping[str, str], resource: str) -> LimitHeaders:
        reset = headers.get(f"x-ratelimit-reset-{resource}")
        return cls(
            limit=_parse_int(headers.get(f"x-ratelimit-limit-{resource}")),
            remaining=_parse_int(headers.get(f"x-ratelimit-remaining-{resource}")),
            reset_s=parse_duration(reset) if reset is not None else None,
        )

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """The rate-limit headers of one response: both resources and ``Retry-After``."""

    requests: LimitHeaders
    tokens: LimitHeaders
    retry_after_s: float | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        return cls(
            requests=LimitHeaders.parse(headers, "requests"),
            tokens=LimitHeaders.parse(headers, "tokens"),
            retry_after_s=_parse_retry_after(headers),
        )

    def cooldown_s(self) -> float | None:
        """Return the later of ``Retry-After`` and the resets of exhausted resources."""
        candidates = [self.retry_after_s]
        for resource in (self.requests, self.tokens):
            if resource.exhausted:
                candidates.append(resource.reset_s)
        known = [value for value in candidates if value is not None]
        return max(known) if known else None


def _parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Read ``retry-after-ms`` (the openai client reads it too) or ``Retry-After``.

    ``Retry-After`` is either seconds or an HTTP date. A date is measured against the
    response's own ``Date`` header when there is one, so clock skew between the server
    and this machine does not matter.
    """
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds is not None:
        return seconds
    retry_at = _parse_http_date(value)
    if retry_at is None:
        return None
    sent_at = _parse_http_date(headers.get("date", "")) or time.time()
    return max(0.0, retry_at - sent_at)


def _parse_http_date(text: str) -> float | None:
    """Return the POSIX time of an HTTP date such as ``Wed, 21 Oct 2026 07:28:00 GMT``."""
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()
