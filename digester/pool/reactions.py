"""Account state changes after each response: cooldowns, parking, disabling, the breaker."""

from __future__ import annotations

import random
from dataclasses import dataclass

from digester.models import AccountState
from digester.pool.account import AccountRuntime, Lease
from digester.pool.api import AdminAlert, AlertKind
from digester.pool.classify import Failure, FailureKind
from digester.pool.limits import RateLimitHeaders


@dataclass(frozen=True, slots=True)
class Reaction:
    """The consequences of one response that the pool must persist, log and announce."""

    state_changed: bool = False
    alert: AdminAlert | None = None


def follow_limits(account: AccountRuntime, limits: RateLimitHeaders | None, now: float) -> None:
    """Bring the account's buckets in line with the server's rate-limit headers."""
    if limits is None:
        return
    account.refill(now)
    requests, tokens = limits.requests, limits.tokens
    account.requests.follow(requests.limit, requests.remaining, requests.reset_s)
    account.tokens.follow(tokens.limit, tokens.remaining, tokens.reset_s)


def react_to_success(account: AccountRuntime, lease: Lease, now: float) -> Reaction:
    """Close a half-open breaker after its probe succeeded."""
    if account.record_success(lease, now):
        return Reaction(True, _alert(account, AlertKind.RESTORED, "probe request succeeded"))
    return Reaction()


def react_to_failure(
    account: AccountRuntime, lease: Lease, failure: Failure, now: float, rng: random.Random
) -> Reaction:
    """Apply a failed attempt to the account. A rejected request leaves the account untouched."""
    follow_limits(account, failure.limits, now)
    if failure.kind in (FailureKind.REJECTED, FailureKind.DEADLINE):
        return Reaction()
    account.count_failure()
    if failure.kind is FailureKind.RATE_LIMITED:
        return _cool_down(account, failure, now, rng)
    if failure.kind is FailureKind.BILLING:
        return park(account, failure.reason, now)
    if failure.kind in (FailureKind.AUTH, FailureKind.MODEL_MISSING):
        return disable(account, failure.reason)
    return _feed_breaker(account, lease, failure.reason, now)


def react_to_park_probe(account: AccountRuntime, failure: Failure | None, now: float) -> Reaction:
    """Reactivate a parked account whose probe succeeded, else schedule its next probe."""
    if account.state is not AccountState.PARKED:
        return Reaction()  # an admin changed it while the probe ran
    if failure is None:
        account.set_state(AccountState.ACTIVE, "", None)
        return Reaction(True, _alert(account, AlertKind.RESTORED, "billing probe succeeded"))
    account.count_failure()
    if failure.kind in (FailureKind.AUTH, FailureKind.MODEL_MISSING):
        return disable(account, failure.reason)
    next_probe = now + account.policy.park_probe_interval_s
    account.set_state(AccountState.PARKED, failure.reason, next_probe)
    return Reaction(True)


def park(account: AccountRuntime, reason: str, now: float) -> Reaction:
    """Stop sending requests to the account until a rare probe shows it can pay again."""
    if not account.is_usable():
        return Reaction()
    interval = account.policy.park_probe_interval_s
    account.set_state(AccountState.PARKED, reason, now + interval)
    message = f"parked after a billing error, probed every {interval:.0f} s: {reason}"
    return Reaction(True, _alert(account, AlertKind.PARKED, message))


def disable(account: AccountRuntime, reason: str) -> Reaction:
    """Stop using the account until an admin enables it."""
    if account.state is AccountState.DISABLED:
        return Reaction()
    account.set_state(AccountState.DISABLED, reason, None)
    message = f"disabled until an admin enables it: {reason}"
    return Reaction(True, _alert(account, AlertKind.DISABLED, message))


def _cool_down(
    account: AccountRuntime, failure: Failure, now: float, rng: random.Random
) -> Reaction:
    policy = account.policy
    delay = failure.limits.cooldown_s() if failure.limits is not None else None
    if delay is None:
        delay = policy.rate_limit_default_s
    delay = min(delay, policy.rate_limit_max_s)
    # Jitter spreads the retries of several pools that hit the same limit together.
    delay *= 1.0 + rng.uniform(0.0, policy.jitter_fraction)
    before = (account.state, account.cooldown_until)
    account.cool_down(now + delay, f"rate limited: {failure.reason}")
    return Reaction(before != (account.state, account.cooldown_until))


def _feed_breaker(account: AccountRuntime, lease: Lease, reason: str, now: float) -> Reaction:
    """Count a server failure; the breaker opens on a failure streak or a high failure rate."""
    was_open = account.breaker_open()
    if not account.record_failure(lease, reason, now):
        return Reaction()
    if was_open:
        return Reaction(True)
    message = f"one probe request in {account.cooling_for(now):.0f} s; {account.state_reason}"
    return Reaction(True, _alert(account, AlertKind.BREAKER_OPEN, message))


def _alert(account: AccountRuntime, kind: AlertKind, message: str) -> AdminAlert:
    return AdminAlert(account.id, account.name, kind, message)
