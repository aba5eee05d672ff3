"""Token buckets, rate-limit headers and error sorting of the account pool, without a server."""

from __future__ import annotations

import email.utils
import math
import random
import time

import pytest

from digester.models import AccountState
from digester.pool.account import AccountConfig, AccountRuntime, PoolPolicy
from digester.pool.classify import Failure, FailureKind, redact
from digester.pool.clock import ManualClock
from digester.pool.dispatch import Dispatcher
from digester.pool.errors import PoolExhausted
from digester.pool.limits import RateLimitHeaders, TokenBucket, parse_duration
from digester.pool.reactions import react_to_failure
from digester.pool.selection import choose


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("120ms", 0.12), ("6m0s", 360.0), ("1.5s", 1.5), ("1h2m3s", 3723.0), ("7", 7.0)],
)
def test_parse_duration_formats(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "1x"])
def test_parse_duration_invalid(text: str) -> None:
    assert parse_duration(text) is None


def test_bucket_refills_per_minute() -> None:
    bucket = TokenBucket(600, now=0.0)

    assert bucket.capacity == 10
    for _ in range(10):
        assert bucket.admits(1)
        bucket.take(1)
    assert not bucket.admits(1)
    assert bucket.seconds_until(1) == pytest.approx(0.1)
    bucket.refill(0.1)
    assert bucket.admits(1)


def test_bucket_large_request_leaves_debt() -> None:
    bucket = TokenBucket(60_000, now=0.0)  # 1,000 tokens a second

    assert bucket.admits(5_000)
    bucket.take(5_000)
    bucket.refill(3.0)
    assert not bucket.admits(5_000)
    bucket.refill(5.0)
    assert bucket.admits(5_000)


def test_bucket_zero_means_no_limit() -> None:
    bucket = TokenBucket(0, now=0.0)

    bucket.take(10**9)
    assert bucket.unlimited
    assert bucket.admits(10**9)
    assert math.isinf(bucket.level)


def test_bucket_follows_lower_server_limit() -> None:
    bucket = TokenBucket(600, now=0.0)

    bucket.follow(limit=120, remaining=0, reset_s=30.0)

    assert bucket.per_minute == 120
    assert bucket.capacity == 2
    assert bucket.level == 0
    assert bucket.seconds_until(1) == pytest.approx(0.5)


def test_bucket_follows_remaining_only_downwards() -> None:
    bucket = TokenBucket(600, now=0.0)

    bucket.follow(limit=600, remaining=590, reset_s=1.0)
    assert bucket.level == 10
    bucket.follow(limit=600, remaining=3, reset_s=59.7)
    assert bucket.level == 3


def test_bucket_reconfigure_keeps_level_within_limit() -> None:
    bucket = TokenBucket(600, now=0.0)

    bucket.reconfigure(60)

    assert bucket.capacity == 1
    assert bucket.level == 1


def test_headers_cooldown_takes_later_of_retry_and_reset() -> None:
    headers = {
        "retry-after": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "7s",
        "x-ratelimit-remaining-tokens": "5000",
        "x-ratelimit-reset-tokens": "6m0s",
    }

    limits = RateLimitHeaders.parse(headers)

    assert limits.retry_after_s == 3
    assert limits.requests.exhausted
    assert not limits.tokens.exhausted
    assert limits.cooldown_s() == 7


def test_headers_prefer_retry_after_ms() -> None:
    limits = RateLimitHeaders.parse({"retry-after": "1", "retry-after-ms": "1500"})

    assert limits.retry_after_s == 1.5
    assert RateLimitHeaders.parse({}).cooldown_s() is None


def test_retry_after_date_uses_date_header() -> None:
    headers = {
        "retry-after": "Fri, 04 Dec 2026 17:30:45 GMT",
        "date": "Fri, 04 Dec 2026 17:30:00 GMT",
    }

    assert RateLimitHeaders.parse(headers).retry_after_s == 45


def test_retry_after_date_uses_local_clock() -> None:
    retry_at = email.utils.formatdate(time.time() + 30, usegmt=True)

    delay = RateLimitHeaders.parse({"retry-after": retry_at}).retry_after_s

    assert delay is not None
    assert 28 <= delay <= 30


def test_retry_after_past_date_is_zero() -> None:
    headers = {
        "retry-after": "Fri, 04 Dec 2026 17:29:00 GMT",
        "date": "Fri, 04 Dec 2026 17:30:00 GMT",
    }

    assert RateLimitHeaders.parse(headers).retry_after_s == 0


@pytest.mark.parametrize("value", ["soon", "Fri, 99 Foo 2026", "04 Dec 2026 17:29"])
def test_retry_after_invalid_is_none(value: str) -> None:
    headers = {"retry-after": value, "date": "Fri, 04 Dec 2026 17:30:00 GMT"}

    assert RateLimitHeaders.parse(headers).retry_after_s is None


def test_redact_masks_key() -> None:
    key = "sk-proj-abcdefghijklmnop1234"

    text = redact(f"Incorrect API key provided: {key}.", key)

    assert key not in text
    assert "sk-…1234" in text


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "insufficient_quota", FailureKind.BILLING),
        (429, "rate_limit_exceeded", FailureKind.RATE_LIMITED),
        (402, None, FailureKind.BILLING),
        (401, "invalid_api_key", FailureKind.AUTH),
        (403, None, FailureKind.AUTH),
        (404, "model_not_found", FailureKind.MODEL_MISSING),
        (400, "context_length_exceeded", FailureKind.REJECTED),
        (413, None, FailureKind.REJECTED),
        (500, None, FailureKind.TRANSIENT),
        (503, None, FailureKind.TRANSIENT),
        (409, None, FailureKind.TRANSIENT),
    ],
)
def test_status_sorted_into_kind(status: int, code: str | None, kind: FailureKind) -> None:
    from digester.pool.classify import _kind_of_status

    assert _kind_of_status(status, code) is kind


@pytest.mark.parametrize(
    "weights", [(math.inf, 1.0), (1e308, 1e308), (math.nan, 2.0), (-5.0, 0.0)]
)
def test_choose_survives_odd_weights(weights: tuple[float, float]) -> None:
    accounts = [
        AccountRuntime(number, _config(f"a{number}", weight), PoolPolicy(), now=0.0)
        for number, weight in enumerate(weights)
    ]
    rng = random.Random(1)

    chosen = [choose(accounts, 10, (), 0.0, rng) for _ in range(200)]

    assert all(account is not None for account in chosen)


def _config(name: str, weight: float) -> AccountConfig:
    return AccountConfig(
        name=name,
        api_key="sk-test-0000000000",
        base_url="http://127.0.0.1:9/v1",
        model="m",
        weight=weight,
        requests_per_minute=0,
        tokens_per_minute=0,
        max_concurrency=4,
    )


def test_probe_success_keeps_rate_limit_cooldown() -> None:
    policy = PoolPolicy(failure_threshold=2, breaker_base_s=5.0)
    account = AccountRuntime(1, _config("a", 1.0), policy, now=0.0)
    for _ in range(2):
        lease = account.reserve(10, 5, now=0.0)
        account.record_failure(lease, "HTTP 500", now=0.0)
        account.release(lease, None, responded=True)
    probe = account.reserve(10, 5, now=6.0)
    account.cool_down(36.0, "rate limited: HTTP 429")  # a 429 while the probe runs

    closed = account.record_success(probe, now=7.0)

    assert probe.is_probe
    assert closed
    assert not account.breaker_open()
    assert account.state is AccountState.COOLING
    assert account.cooling_for(7.0) == 29.0
    assert not account.admits(10, 20.0)
    assert account.admits(10, 36.0)


def test_retry_returns_to_tried_when_others_down() -> None:
    clock = ManualClock()
    now = clock.monotonic()
    policy = PoolPolicy(failure_threshold=1, breaker_wait_probes=1)
    free = AccountRuntime(1, _config("free", 1.0), policy, now)
    down = AccountRuntime(2, _config("down", 1.0), policy, now)
    down.consecutive_failures = 2  # opened, then its probe failed
    down.cool_down(now + 60.0, "circuit open")
    dispatcher = Dispatcher({1: free, 2: down}, clock, random.Random(1))

    excluded, error = dispatcher.exclusion(10, frozenset({1}), frozenset(), "HTTP 429", 30.0)
    _, barred_error = dispatcher.exclusion(10, frozenset({1}), frozenset({1}), "refusal", 30.0)

    assert down.breaker_open()
    assert error is None
    assert excluded == frozenset()
    assert isinstance(barred_error, PoolExhausted)


def test_retry_prefers_untried_account() -> None:
    clock = ManualClock()
    now = clock.monotonic()
    tried = AccountRuntime(1, _config("tried", 1.0), PoolPolicy(), now)
    untried = AccountRuntime(2, _config("untried", 1.0), PoolPolicy(), now)
    untried.cool_down(now + 5.0, "rate limited")
    dispatcher = Dispatcher({1: tried, 2: untried}, clock, random.Random(1))

    excluded, error = dispatcher.exclusion(10, frozenset({1}), frozenset(), "HTTP 500", 30.0)

    assert error is None
    assert excluded == frozenset({1})


def test_rate_limit_cooldown_is_capped() -> None:
    policy = PoolPolicy(rate_limit_max_s=3600.0, jitter_fraction=0.0)
    account = AccountRuntime(1, _config("a", 1.0), policy, now=0.0)
    lease = account.reserve(10, 5, now=0.0)
    limits = RateLimitHeaders.parse({"retry-after": "1e12"})
    failure = Failure(FailureKind.RATE_LIMITED, "HTTP 429", limits)

    react_to_failure(account, lease, failure, 0.0, random.Random(1))

    assert account.state is AccountState.COOLING
    assert account.cooling_for(0.0) == 3600.0
