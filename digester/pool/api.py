"""Values that callers of the account pool pass in and get back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from digester.models import AccountState


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion to run on some account of the pool."""

    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float = 0.3
    deadline_s: float = 120.0  # overall time budget for all attempts, waiting included
    max_attempts: int = 3  # distinct accounts tried at most


@dataclass(frozen=True, slots=True)
class Completion:
    """A valid chat completion and the account that produced it."""

    text: str
    finish_reason: str
    account_id: int
    account_name: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int


# Returns None when the completion is valid, else the reason it is not.
Validator = Callable[[Completion], str | None]


class AlertKind(StrEnum):
    DISABLED = "disabled"
    PARKED = "parked"
    RESTORED = "restored"
    BREAKER_OPEN = "breaker_open"


@dataclass(frozen=True, slots=True)
class AdminAlert:
    """An account event that admins should hear about."""

    account_id: int
    account_name: str
    kind: AlertKind
    message: str


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """Live numbers of one account, for tests and the command line."""

    id: int
    name: str
    masked_key: str
    model: str
    state: AccountState
    state_reason: str
    cooldown_s: float  # seconds left of the cooldown, 0 when none
    breaker_open: bool  # one probe request decides once the cooldown ends (half-open)
    in_flight: int
    max_concurrency: int
    tokens_reserved: int
    requests_available: float  # level of the requests-per-minute bucket
    tokens_available: float  # level of the tokens-per-minute bucket
    requests_per_minute: float  # the limit in force, after the server's headers
    tokens_per_minute: float
    consecutive_failures: int
    requests_total: int  # since the pool started, including counts not yet written
    failures_total: int
    invalid_outputs_total: int
