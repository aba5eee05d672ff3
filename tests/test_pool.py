"""The account pool reacts to every response of an OpenAI-compatible server as designed.

Each test runs the real ``openai`` client against the LLM stand-in, with accounts stored in
the test database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from digester.models import AccountState, ChatGPTAccount
from digester.pool import (
    AdminAlert,
    AlertKind,
    Completion,
    ManualClock,
    NoUsableAccount,
    PoolExhausted,
    PoolPolicy,
    RequestRejected,
    persistence,
)
from tests.standins.accounts import add_account, chat, open_pool
from tests.standins.llm import LLMStandin
from tests.standins.llm_replies import REFUSAL_TEXT


@pytest.fixture
async def llm() -> AsyncIterator[LLMStandin]:
    async with LLMStandin(hang_s=30.0) as server:
        yield server


def keys_called(llm: LLMStandin) -> list[str]:
    return [request.key for request in llm.requests()]


async def test_no_request_to_disabled_or_parked(database: str, llm: LLMStandin) -> None:
    disabled = await add_account(llm, "disabled", columns={"state": AccountState.DISABLED})
    parked = await add_account(llm, "parked", columns={"state": AccountState.PARKED})
    active = await add_account(llm, "active")

    async with open_pool() as pool:
        results = await asyncio.gather(*(pool.complete(chat()) for _ in range(30)))

    assert {result.account_id for result in results} == {active.id}
    assert llm.requests(disabled.api_key) == []
    assert llm.requests(parked.api_key) == []


async def test_no_accounts_raises_at_once(database: str) -> None:
    async with open_pool() as pool:
        started = time.monotonic()
        with pytest.raises(NoUsableAccount):
            await pool.complete(chat(deadline_s=30.0))

        assert time.monotonic() - started < 0.5
        assert not pool.has_usable_account()


async def test_all_disabled_or_parked_raises_at_once(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "disabled", columns={"state": AccountState.DISABLED})
    await add_account(llm, "parked", columns={"state": AccountState.PARKED})

    async with open_pool() as pool:
        started = time.monotonic()
        with pytest.raises(NoUsableAccount) as caught:
            await pool.complete(chat(deadline_s=30.0))

        assert time.monotonic() - started < 0.5
        assert "are disabled, parked" in caught.value.reason
    assert llm.requests() == []


async def test_retry_after_respected_across_restart(database: str, llm: LLMStandin) -> None:
    clock = ManualClock()
    limited = await add_account(llm, "limited", script=["rate_limited:30"])

    async with open_pool(clock=clock) as pool:
        with pytest.raises(PoolExhausted):
            await pool.complete(chat())
        [status] = pool.snapshot()
        assert status.state is AccountState.COOLING
        assert 30 <= status.cooldown_s <= 33
        with pytest.raises(PoolExhausted):
            await pool.complete(chat(deadline_s=0.2))
        spare = await add_account(llm, "spare")
        await pool.refresh()
        first = [await pool.complete(chat()) for _ in range(5)]
    stored = await ChatGPTAccount.get(id=limited.id)

    async with open_pool(clock=clock) as pool:
        second = [await pool.complete(chat()) for _ in range(5)]
        clock.advance(34)
        later = await asyncio.gather(*(pool.complete(chat()) for _ in range(30)))

    assert stored.state is AccountState.COOLING
    assert stored.cooldown_until is not None
    assert stored.cooldown_until - clock.now() > timedelta(seconds=-5)
    assert {c.account_id for c in first + second} == {spare.id}
    assert len(llm.requests(limited.api_key)) > 1
    assert limited.id in {c.account_id for c in later}
    assert [r.status for r in llm.requests(limited.api_key)][0] == 429


async def test_second_429_keeps_later_deadline(database: str, llm: LLMStandin) -> None:
    clock = ManualClock()
    await add_account(llm, "limited", script=["rate_limited:1"], latency_s=0.1)
    llm.script("sk-test-limited-0123456789", "rate_limited:40", "rate_limited:1")

    async with open_pool(clock=clock) as pool:
        results = await asyncio.gather(
            *(pool.complete(chat()) for _ in range(3)), return_exceptions=True
        )
        [status] = pool.snapshot()

    assert all(isinstance(result, PoolExhausted) for result in results)
    assert 40 <= status.cooldown_s <= 44


async def test_revoked_key_dropped_after_first_401(database: str, llm: LLMStandin) -> None:
    revoked = await add_account(llm, "revoked")
    healthy = await add_account(llm, "healthy")
    llm.revoke(revoked.api_key)
    alerts: list[AdminAlert] = []

    async with open_pool() as pool:
        pool.subscribe(alerts.append)
        results = [await pool.complete(chat()) for _ in range(20)]

    assert len(llm.requests(revoked.api_key)) == 1
    assert {result.account_id for result in results} == {healthy.id}
    assert [alert.kind for alert in alerts] == [AlertKind.DISABLED]
    assert alerts[0].account_id == revoked.id
    stored = await ChatGPTAccount.get(id=revoked.id)
    assert stored.state is AccountState.DISABLED
    assert "401" in stored.state_reason


async def test_disabled_state_survives_restart(database: str, llm: LLMStandin) -> None:
    revoked = await add_account(llm, "revoked", script=["invalid_api_key"])

    async with open_pool() as pool:
        with pytest.raises(NoUsableAccount):
            await pool.complete(chat())
    async with open_pool() as pool:
        assert not pool.has_usable_account()
        with pytest.raises(NoUsableAccount):
            await pool.complete(chat())

    assert len(llm.requests(revoked.api_key)) == 1


async def test_insufficient_quota_parks_without_retry(database: str, llm: LLMStandin) -> None:
    broke = await add_account(llm, "broke", script=["insufficient_quota"] * 100)
    healthy = await add_account(llm, "healthy")
    alerts: list[AdminAlert] = []

    async with open_pool() as pool:
        pool.subscribe(alerts.append)
        results = [await pool.complete(chat()) for _ in range(20)]
        [broke_status, _] = pool.snapshot()

    assert len(llm.requests(broke.api_key)) == 1
    assert {result.account_id for result in results} == {healthy.id}
    assert max(result.attempts for result in results) == 2
    assert [alert.kind for alert in alerts] == [AlertKind.PARKED]
    assert broke_status.state is AccountState.PARKED
    assert broke_status.cooldown_s == pytest.approx(1800, abs=5)
    stored = await ChatGPTAccount.get(id=broke.id)
    assert stored.state is AccountState.PARKED


async def test_parked_account_probed_with_one_token(database: str, llm: LLMStandin) -> None:
    broke = await add_account(llm, "broke", script=["insufficient_quota", "insufficient_quota"])
    await add_account(llm, "healthy")
    policy = PoolPolicy(park_probe_interval_s=0.2)
    alerts: list[AdminAlert] = []

    async with open_pool(policy=policy, refresh_interval_s=0.05) as pool:
        pool.subscribe(alerts.append)
        await pool.start()
        await pool.complete(chat())
        for _ in range(100):
            if alerts[-1].kind is AlertKind.RESTORED:
                break
            await asyncio.sleep(0.05)
        [status, _] = pool.snapshot()

    probes = llm.requests(broke.api_key)[1:]
    assert [alert.kind for alert in alerts] == [AlertKind.PARKED, AlertKind.RESTORED]
    assert [probe.status for probe in probes] == [429, 200]
    assert all(probe.max_tokens == 1 for probe in probes)
    assert status.state is AccountState.ACTIVE


async def test_model_not_found_disables(database: str, llm: LLMStandin) -> None:
    missing = await add_account(llm, "missing", script=["model_not_found"])
    healthy = await add_account(llm, "healthy")
    alerts: list[AdminAlert] = []

    async with open_pool() as pool:
        pool.subscribe(alerts.append)
        results = [await pool.complete(chat()) for _ in range(10)]

    assert {result.account_id for result in results} == {healthy.id}
    assert len(llm.requests(missing.api_key)) == 1
    assert [alert.kind for alert in alerts] == [AlertKind.DISABLED]
    assert (await ChatGPTAccount.get(id=missing.id)).state is AccountState.DISABLED


async def test_bad_request_rejected_without_penalty(database: str, llm: LLMStandin) -> None:
    account = await add_account(llm, "only", script=["context_length_exceeded"])
    await add_account(llm, "other", script=["context_length_exceeded"])

    async with open_pool() as pool:
        with pytest.raises(RequestRejected) as caught:
            await pool.complete(chat())
        statuses = pool.snapshot()

    assert len(llm.requests()) == 1
    assert "context_length_exceeded" in caught.value.reason
    assert all(status.state is AccountState.ACTIVE for status in statuses)
    assert all(status.consecutive_failures == 0 for status in statuses)
    assert account.state is AccountState.ACTIVE


async def test_request_above_every_limit_rejected(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "small", columns={"tokens_per_minute": 500})

    async with open_pool() as pool:
        with pytest.raises(RequestRejected):
            await pool.complete(chat(max_tokens=1_000))

    assert llm.requests() == []


async def test_all_failing_ends_within_deadline(database: str, llm: LLMStandin) -> None:
    for name in ("first", "second", "third"):
        await add_account(llm, name, script=["hang"] * 10)

    async with open_pool(request_timeout_s=10.0) as pool:
        started = time.monotonic()
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(deadline_s=1.0))
        elapsed = time.monotonic() - started
        statuses = pool.snapshot()

    assert elapsed < 1.5
    assert "deadline" in caught.value.last_reason
    assert all(status.in_flight == 0 for status in statuses)
    assert all(status.consecutive_failures == 0 for status in statuses)


async def test_open_breaker_fails_waiters_fast(database: str, llm: LLMStandin) -> None:
    # After two probes failed, the server counts as down, so requests fail at once.
    dead = await add_account(llm, "dead", script=["server_error"] * 100)
    policy = PoolPolicy(failure_threshold=3, breaker_base_s=0.2, breaker_wait_probes=2)

    async with open_pool(policy=policy) as pool:
        for _ in range(5):
            with pytest.raises(PoolExhausted):
                await pool.complete(chat(deadline_s=60.0, max_attempts=1))
        started = time.monotonic()
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(deadline_s=60.0))
        elapsed = time.monotonic() - started
        statuses = pool.snapshot()

    assert len(llm.requests(dead.api_key)) == 5
    assert statuses[0].breaker_open
    assert statuses[0].consecutive_failures == 5
    assert elapsed < 0.1
    assert "circuit breaker" in str(caught.value)


@pytest.mark.parametrize("errors", [3, 4])
async def test_breaker_blip_loses_no_request(database: str, llm: LLMStandin, errors: int) -> None:
    # Three 500s open the breaker, and a fourth fails its first probe. Requests wait for
    # the probes and all succeed.
    only = await add_account(llm, "only", script=["server_error"] * errors)
    policy = PoolPolicy(failure_threshold=3, breaker_base_s=0.3, breaker_wait_probes=2)

    async with open_pool(policy=policy) as pool:
        for _ in range(3):
            with pytest.raises(PoolExhausted):
                await pool.complete(chat(max_attempts=1))
        started = time.monotonic()
        results = await asyncio.gather(*(pool.complete(chat(deadline_s=10.0)) for _ in range(10)))
        elapsed = time.monotonic() - started
        [status] = pool.snapshot()

    assert len(results) == 10
    assert len(llm.requests(only.api_key)) == errors + 10
    assert 0.25 <= elapsed < 2.5
    assert not status.breaker_open


async def test_account_timeout_counts_as_failure(database: str, llm: LLMStandin) -> None:
    for name in ("first", "second"):
        await add_account(llm, name, script=["hang"] * 10)

    async with open_pool(request_timeout_s=0.3) as pool:
        started = time.monotonic()
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(deadline_s=5.0))
        elapsed = time.monotonic() - started
        statuses = pool.snapshot()

    # The third attempt returns to one of the two accounts, since both were tried.
    assert 0.9 <= elapsed < 2.0
    assert caught.value.last_reason == "timed out"
    assert sorted(status.consecutive_failures for status in statuses) == [1, 2]
    assert sorted(status.failures_total for status in statuses) == [1, 2]


async def test_single_account_retries_server_error(database: str, llm: LLMStandin) -> None:
    only = await add_account(llm, "only", script=["server_error"])

    async with open_pool() as pool:
        result = await pool.complete(chat())

    assert result.attempts == 2
    assert [r.status for r in llm.requests(only.api_key)] == [500, 200]


async def test_retry_skips_account_cooling_long(database: str, llm: LLMStandin) -> None:
    # The untried account cools down past the deadline, so the retry returns to the first.
    flaky = await add_account(llm, "flaky", script=["server_error"])
    columns = {
        "state": AccountState.COOLING,
        "state_reason": "rate limited",
        "cooldown_until": datetime.now(UTC) + timedelta(seconds=60),
    }
    cooling = await add_account(llm, "cooling", columns=columns)

    async with open_pool() as pool:
        result = await pool.complete(chat(deadline_s=10.0))

    assert result.attempts == 2
    assert [r.status for r in llm.requests(flaky.api_key)] == [500, 200]
    assert llm.requests(cooling.api_key) == []


async def test_retry_skips_account_out_of_budget(database: str, llm: LLMStandin) -> None:
    # The untried account has used its one request a minute, so the retry returns.
    budget = await add_account(llm, "budget", columns={"requests_per_minute": 1, "weight": 1000.0})

    async with open_pool() as pool:
        first = await pool.complete(chat())
        flaky = await add_account(llm, "flaky", script=["server_error"])
        await pool.refresh()
        started = time.monotonic()
        result = await pool.complete(chat(deadline_s=5.0))
        elapsed = time.monotonic() - started

    assert first.account_id == budget.id
    assert result.account_id == flaky.id
    assert result.attempts == 2
    assert elapsed < 1.0


async def test_server_errors_exhaust_attempts(database: str, llm: LLMStandin) -> None:
    for name in ("first", "second", "third", "fourth"):
        await add_account(llm, name, fault_rate=1.0)

    async with open_pool() as pool:
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(max_attempts=3))

    assert len(llm.requests()) == 3
    assert len(set(keys_called(llm))) == 3
    assert "HTTP 500" in caught.value.last_reason


def reject_refusals(completion: Completion) -> str | None:
    return "refusal" if completion.text == REFUSAL_TEXT else None


@pytest.mark.parametrize("outcome", ["refusal", "empty", "length", "content_filter"])
async def test_invalid_output_retried_elsewhere(
    database: str, llm: LLMStandin, outcome: str
) -> None:
    broken = await add_account(llm, "broken", script=[outcome] * 100, columns={"weight": 100.0})
    healthy = await add_account(llm, "healthy", columns={"weight": 0.01})

    async with open_pool() as pool:
        results = [await pool.complete(chat(), reject_refusals) for _ in range(5)]
        [broken_status, _] = pool.snapshot()
    stored = await ChatGPTAccount.get(id=broken.id)

    assert {result.account_id for result in results} == {healthy.id}
    assert broken_status.invalid_outputs_total >= 1
    assert stored.invalid_outputs_total == broken_status.invalid_outputs_total
    assert len(llm.requests(broken.api_key)) == broken_status.invalid_outputs_total
    assert max(result.attempts for result in results) == 2
    assert broken_status.state is AccountState.ACTIVE


async def test_invalid_output_not_retried_on_same(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "only", script=["refusal"] * 10)

    async with open_pool() as pool:
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(max_attempts=3), reject_refusals)

    assert len(llm.requests()) == 1
    assert "invalid output: refusal" in caught.value.last_reason


async def test_half_open_sends_exactly_one_probe(database: str, llm: LLMStandin) -> None:
    clock = ManualClock()
    flaky = await add_account(llm, "flaky", fault_rate=1.0, columns={"weight": 100.0})
    steady = await add_account(llm, "steady", columns={"max_concurrency": 20})
    policy = PoolPolicy(failure_threshold=2, breaker_base_s=10.0)
    alerts: list[AdminAlert] = []

    async with open_pool(clock=clock, policy=policy) as pool:
        pool.subscribe(alerts.append)
        for _ in range(20):
            await pool.complete(chat())
        tripped = pool.snapshot()[0]
        failures_before = len(llm.requests(flaky.api_key))
        clock.advance(11)
        llm.add_key(flaky.api_key, latency_s=0.5)
        burst = [asyncio.create_task(pool.complete(chat())) for _ in range(10)]
        await asyncio.sleep(0.25)
        during_probe = len(llm.requests(flaky.api_key)) - failures_before
        results = await asyncio.gather(*burst)
        llm.add_key(flaky.api_key)
        after = [await pool.complete(chat()) for _ in range(10)]
        recovered = pool.snapshot()[0]

    assert failures_before == 2
    assert tripped.breaker_open
    assert 10 <= tripped.cooldown_s <= 11
    assert during_probe == 1
    assert sum(result.account_id == flaky.id for result in results) == 1
    assert sum(result.account_id == steady.id for result in results) == 9
    assert recovered.state is AccountState.ACTIVE
    assert not recovered.breaker_open
    assert any(result.account_id == flaky.id for result in after)
    assert [alert.kind for alert in alerts] == [AlertKind.BREAKER_OPEN, AlertKind.RESTORED]


async def test_restart_waits_for_first_probe(database: str, llm: LLMStandin) -> None:
    # The breaker was open when the last process stopped, and its cooldown has ended since.
    columns = {
        "state": AccountState.COOLING,
        "state_reason": "circuit open after 3 failures in a row",
        "cooldown_until": datetime.now(UTC) - timedelta(seconds=1),
        "consecutive_failures": 3,
    }
    only = await add_account(llm, "only", latency_s=0.1, columns=columns)

    async with open_pool() as pool:
        results = await asyncio.gather(*(pool.complete(chat(deadline_s=10.0)) for _ in range(5)))
        [status] = pool.snapshot()

    assert len(results) == 5
    assert len(llm.requests(only.api_key)) == 5
    assert status.state is AccountState.ACTIVE


async def test_failed_probe_doubles_backoff(database: str, llm: LLMStandin) -> None:
    clock = ManualClock()
    flaky = await add_account(llm, "flaky", fault_rate=1.0, columns={"weight": 100.0})
    await add_account(llm, "steady")
    policy = PoolPolicy(failure_threshold=2, breaker_base_s=10.0)

    async with open_pool(clock=clock, policy=policy) as pool:
        for _ in range(10):
            await pool.complete(chat())
        clock.advance(11)
        for _ in range(10):
            await pool.complete(chat())
        status = pool.snapshot()[0]
    stored = await ChatGPTAccount.get(id=flaky.id)

    assert len(llm.requests(flaky.api_key)) == 3
    assert status.breaker_open
    assert 19 <= status.cooldown_s <= 20
    assert status.consecutive_failures == 3
    assert stored.state is AccountState.COOLING
    assert stored.consecutive_failures == 3


async def test_failure_rate_opens_breaker(database: str, llm: LLMStandin) -> None:
    # Every other response fails: never two failures in a row, but half of the window.
    clock = ManualClock()
    flaky = await add_account(llm, "flaky", script=["server_error", "ok"] * 20)
    policy = PoolPolicy(
        failure_threshold=3, failure_window=8, failure_window_min=6, breaker_base_s=10.0
    )
    alerts: list[AdminAlert] = []

    async with open_pool(clock=clock, policy=policy) as pool:
        pool.subscribe(alerts.append)
        outcomes = []
        for _ in range(7):
            try:
                await pool.complete(chat(max_attempts=1))
                outcomes.append("ok")
            except PoolExhausted:
                outcomes.append("failed")
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(max_attempts=1, deadline_s=5.0))
        [status] = pool.snapshot()
    stored = await ChatGPTAccount.get(id=flaky.id)

    assert outcomes == ["failed", "ok"] * 3 + ["failed"]
    assert len(llm.requests(flaky.api_key)) == 7
    assert "circuit breaker" in str(caught.value)
    assert status.breaker_open
    assert 10 <= status.cooldown_s <= 11
    assert [alert.kind for alert in alerts] == [AlertKind.BREAKER_OPEN]
    assert "4 of the last 7 requests failed" in alerts[0].message
    assert stored.state is AccountState.COOLING
    assert stored.consecutive_failures == 3


async def test_scattered_failures_keep_breaker_closed(database: str, llm: LLMStandin) -> None:
    flaky = await add_account(llm, "flaky", script=["server_error", "ok", "ok"] * 10)
    policy = PoolPolicy(failure_threshold=3, failure_window=8, failure_window_min=6)

    async with open_pool(policy=policy) as pool:
        for _ in range(30):
            with contextlib.suppress(PoolExhausted):
                await pool.complete(chat(max_attempts=1))
        [status] = pool.snapshot()

    assert len(llm.requests(flaky.api_key)) == 30
    assert not status.breaker_open
    assert status.state is AccountState.ACTIVE


async def test_ratelimit_headers_steer_buckets(database: str, llm: LLMStandin) -> None:
    account = await add_account(
        llm, "narrow", requests_per_minute=2, columns={"requests_per_minute": 600}
    )

    async with open_pool() as pool:
        await pool.complete(chat())
        await pool.complete(chat())
        with pytest.raises(PoolExhausted):
            await pool.complete(chat(deadline_s=0.3))
        [status] = pool.snapshot()

    assert [r.status for r in llm.requests(account.api_key)] == [200, 200]
    assert status.requests_per_minute == 2
    assert status.requests_available < 1


async def test_admin_changes_apply_on_refresh(database: str, llm: LLMStandin) -> None:
    first = await add_account(llm, "first")

    async with open_pool(refresh_interval_s=0.05) as pool:
        await pool.start()
        await ChatGPTAccount.filter(id=first.id).update(state=AccountState.DISABLED)
        await asyncio.sleep(0.2)
        assert not pool.has_usable_account()
        second = await add_account(llm, "second")
        await ChatGPTAccount.filter(id=first.id).update(state=AccountState.ACTIVE)
        await asyncio.sleep(0.2)
        both = {(await pool.complete(chat())).account_id for _ in range(40)}
        await ChatGPTAccount.filter(id=second.id).delete()
        await ChatGPTAccount.filter(id=first.id).update(max_concurrency=3, weight=2.5)
        await asyncio.sleep(0.2)
        only_first = {(await pool.complete(chat())).account_id for _ in range(10)}
        [status] = pool.snapshot()

    assert both == {first.id, second.id}
    assert only_first == {first.id}
    assert status.max_concurrency == 3


async def test_admin_disable_survives_state_change(database: str, llm: LLMStandin) -> None:
    # The pool's own state change, written after an admin disabled the account, must not
    # make the account usable again.
    clock = ManualClock()
    busy = await add_account(
        llm, "busy", script=["rate_limited:1", "rate_limited:1"], columns={"weight": 100.0}
    )
    await add_account(llm, "spare")
    policy = PoolPolicy(jitter_fraction=0.0)

    async with open_pool(clock=clock, policy=policy) as pool:
        await pool.complete(chat())
        await asyncio.sleep(0.05)  # the cooldown is written
        await ChatGPTAccount.filter(id=busy.id).update(
            state=AccountState.DISABLED, state_reason="disabled by an admin"
        )
        clock.advance(2)
        await pool.complete(chat())  # a second 429 changes the pool's state again
        await asyncio.sleep(0.05)
        await pool.refresh()
        results = [await pool.complete(chat()) for _ in range(5)]
        status = pool.snapshot()[0]
    stored = await ChatGPTAccount.get(id=busy.id)

    assert [r.status for r in llm.requests(busy.api_key)] == [429, 429]
    assert stored.state is AccountState.DISABLED
    assert stored.state_reason == "disabled by an admin"
    assert status.state is AccountState.DISABLED
    assert all(result.account_id != busy.id for result in results)


async def test_admin_enable_survives_failed_probe(database: str, llm: LLMStandin) -> None:
    clock = ManualClock()
    flaky = await add_account(llm, "flaky", script=["server_error"] * 4)
    policy = PoolPolicy(failure_threshold=3, breaker_base_s=10.0)

    async with open_pool(clock=clock, policy=policy) as pool:
        for _ in range(3):
            with pytest.raises(PoolExhausted):
                await pool.complete(chat(max_attempts=1))
        await asyncio.sleep(0.05)  # the open breaker is written
        await ChatGPTAccount.filter(id=flaky.id).update(
            state=AccountState.ACTIVE, cooldown_until=None, state_reason="", consecutive_failures=0
        )
        clock.advance(11)
        with pytest.raises(PoolExhausted):
            await pool.complete(chat(max_attempts=1))  # the probe fails before a refresh
        await asyncio.sleep(0.05)
        await pool.refresh()
        status = pool.snapshot()[0]
        result = await pool.complete(chat())
    stored = await ChatGPTAccount.get(id=flaky.id)

    assert len(llm.requests(flaky.api_key)) == 5
    assert status.state is AccountState.ACTIVE
    assert status.consecutive_failures == 0
    assert result.account_id == flaky.id
    assert stored.state is AccountState.ACTIVE


async def test_enable_of_active_keeps_later_cooldown(database: str, llm: LLMStandin) -> None:
    # An enable that changes only the reason of an active account must not cancel a
    # rate limit that arrives after it.
    limited = await add_account(
        llm,
        "limited",
        script=["rate_limited:30"],
        columns={"state_reason": "probe request succeeded", "weight": 1000.0},
    )
    await add_account(llm, "spare")

    async with open_pool() as pool:
        await ChatGPTAccount.filter(id=limited.id).update(state_reason="")
        await pool.complete(chat())
        await asyncio.sleep(0.05)  # the cooldown is written
        await pool.refresh()
        status = pool.snapshot()[0]
    stored = await ChatGPTAccount.get(id=limited.id)

    assert status.state is AccountState.COOLING
    assert status.cooldown_s > 25
    assert stored.state is AccountState.COOLING


async def test_state_writes_run_one_at_a_time(database: str, llm: LLMStandin) -> None:
    row = await add_account(llm, "busy")
    account = persistence.build_account(row, PoolPolicy(), ManualClock())
    writer = persistence.StateWriter(ManualClock())

    account.cool_down(2_000.0, "rate limited")
    writer.mark(account)
    await asyncio.sleep(0)  # the background write starts and waits for the database
    account.set_state(AccountState.DISABLED, "HTTP 401", None)
    writer.mark(account)
    await writer.flush()  # the periodic flush runs beside it
    await writer.close()
    stored = await ChatGPTAccount.get(id=row.id)

    assert stored.state is AccountState.DISABLED
    assert stored.state_reason == "HTTP 401"


async def test_enable_resets_failure_streak(database: str, llm: LLMStandin) -> None:
    flaky = await add_account(llm, "flaky", script=["server_error"] * 3)
    policy = PoolPolicy(failure_threshold=3, breaker_base_s=60.0)

    async with open_pool(policy=policy, refresh_interval_s=0.1) as pool:
        for _ in range(3):
            with pytest.raises(PoolExhausted):
                await pool.complete(chat(max_attempts=1))
        await asyncio.sleep(0.05)  # the open breaker is written
        await pool.start()  # the usage of those failures is written on its first round
        await ChatGPTAccount.filter(id=flaky.id).update(
            state=AccountState.ACTIVE, cooldown_until=None, state_reason="", consecutive_failures=0
        )
        await asyncio.sleep(0.3)
        status = pool.snapshot()[0]
        result = await pool.complete(chat())
    stored = await ChatGPTAccount.get(id=flaky.id)

    assert status.state is AccountState.ACTIVE
    assert status.consecutive_failures == 0
    assert result.account_id == flaky.id
    assert stored.consecutive_failures == 0


async def test_usage_counters_written(database: str, llm: LLMStandin) -> None:
    account = await add_account(llm, "counted", script=["server_error"])

    async with open_pool() as pool:
        with pytest.raises(PoolExhausted):
            await pool.complete(chat(max_attempts=1))
        results = [await pool.complete(chat()) for _ in range(3)]
    stored = await ChatGPTAccount.get(id=account.id)

    assert stored.requests_total == 4
    assert stored.failures_total == 1
    assert stored.prompt_tokens_total == sum(r.prompt_tokens for r in results)
    assert stored.completion_tokens_total == sum(r.completion_tokens for r in results)
    assert stored.last_used_at is not None
    assert stored.consecutive_failures == 0
