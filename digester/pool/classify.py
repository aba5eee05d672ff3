"""Sorting of errors from an OpenAI-compatible server into the pool's reactions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import openai

from digester.models import mask_secret
from digester.pool.limits import RateLimitHeaders

# Error codes that mean the account cannot pay; retrying soon cannot help.
BILLING_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "quota_exceeded"}
)
_REJECTED_STATUSES = frozenset({400, 413, 422})
_REASON_MAX_CHARS = 200


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # cool down until the server allows more, then reuse
    BILLING = "billing"  # park, probe rarely
    AUTH = "auth"  # disable until an admin enables the account
    MODEL_MISSING = "model_missing"  # disable until an admin fixes the model
    REJECTED = "rejected"  # the request is at fault, not the account
    TRANSIENT = "transient"  # server error, timeout or connection error: circuit breaker
    DEADLINE = "deadline"  # the caller's deadline ended the call early; no account is to blame


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, sorted, with a reason that contains no secret."""

    kind: FailureKind
    reason: str
    limits: RateLimitHeaders | None = None
    timed_out: bool = False


def redact(text: str, secret: str) -> str:
    """Replace every occurrence of ``secret`` in ``text`` by its masked form."""
    if not secret:
        return text
    return text.replace(secret, mask_secret(secret))


def classify(error: BaseException, api_key: str) -> Failure | None:
    """Sort an exception raised by a chat call; return None for one that is not the server's."""
    if isinstance(error, openai.APITimeoutError | TimeoutError):
        return Failure(FailureKind.TRANSIENT, "timed out", timed_out=True)
    if isinstance(error, openai.APIConnectionError):
        return Failure(FailureKind.TRANSIENT, f"connection failed: {_describe(error, api_key)}")
    if isinstance(error, openai.APIStatusError):
        return _classify_status(error, api_key)
    if isinstance(error, openai.APIResponseValidationError):
        return Failure(FailureKind.TRANSIENT, "invalid response body")
    return None


def _classify_status(error: openai.APIStatusError, api_key: str) -> Failure:
    status = error.status_code
    limits = RateLimitHeaders.parse(error.response.headers)
    reason = f"HTTP {status} {error.code or error.type or ''}: {_describe(error, api_key)}"
    return Failure(_kind_of_status(status, error.code), reason, limits)


def _kind_of_status(status: int, code: str | None) -> FailureKind:
    if code in BILLING_CODES or status == 402:
        return FailureKind.BILLING
    if status == 429:
        return FailureKind.RATE_LIMITED
    if status in (401, 403):
        return FailureKind.AUTH
    if status == 404:
        return FailureKind.MODEL_MISSING
    if status in _REJECTED_STATUSES:
        return FailureKind.REJECTED
    return FailureKind.TRANSIENT


def _describe(error: openai.OpenAIError, api_key: str) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return redact(" ".join(message.split()), api_key)[:_REASON_MAX_CHARS]
