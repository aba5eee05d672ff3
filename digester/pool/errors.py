"""Exceptions that the account pool raises to its callers."""

from __future__ import annotations


class PoolError(Exception):
    """A chat request failed in the pool. ``reason`` is the cause, with every key masked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoUsableAccount(PoolError):
    """No account is configured, or every account is disabled or parked."""


class PoolExhausted(PoolError):
    """The request used up its attempts or its deadline. ``last_reason`` is the last failure."""

    def __init__(self, reason: str, last_reason: str = "") -> None:
        super().__init__(f"{reason}; last failure: {last_reason}" if last_reason else reason)
        self.last_reason = last_reason


class RequestRejected(PoolError):
    """The server rejected the request itself (bad request, context too long).

    No account is penalized, so the caller can fall back at once.
    """
