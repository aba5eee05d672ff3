"""The account pool under concurrent load: cancellation, fairness, waiting, and secrecy."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from digester.models import AccountState, ChatGPTAccount
from digester.pool import (
    ENV_ACCOUNT_NAME,
    AdminAlert,
    PoolError,
    PoolExhausted,
    PoolPolicy,
    ensure_env_account,
)
from digester.settings import load_settings
from tests.standins.accounts import add_account, chat, open_pool
from tests.standins.llm import LLMStandin
from tests.standins.llm_replies import REFUSAL_TEXT


@pytest.fixture
async def llm() -> AsyncIterator[LLMStandin]:
    async with LLMStandin(hang_s=30.0) as server:
        yield server


async def test_cancelled_requests_leak_nothing(database: str, llm: LLMStandin) -> None:
    limits = {"max_concurrency": 4, "requests_per_minute": 600_000, "tokens_per_minute": 10**8}
    await add_account(llm, "first", latency_s=0.02, columns=limits)
    await add_account(llm, "second", latency_s=0.05, columns=limits)
    await add_account(llm, "hanging", script=["hang"] * 300, columns=limits)
    rng = random.Random(11)

    async def cancelled_at_random(pool_complete: asyncio.Task[object]) -> None:
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        pool_complete.cancel()

    async with open_pool(request_timeout_s=10.0) as pool:
        requests = [asyncio.create_task(pool.complete(chat(deadline_s=10.0))) for _ in range(1000)]
        cancellers = [asyncio.create_task(cancelled_at_random(r)) for r in requests]  # type: ignore[arg-type]
        outcomes = await asyncio.gather(*requests, return_exceptions=True)
        await asyncio.gather(*cancellers)
        statuses = pool.snapshot()
        waiting = pool.waiting_requests
        llm.keys["sk-test-hanging-0123456789"].script.clear()
        after = [await pool.complete(chat()) for _ in range(10)]

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds["CancelledError"] > 100
    # How many requests finish before their random cancel depends on CPU load; a few must.
    assert kinds["Completion"] >= 5
    assert set(kinds) <= {"CancelledError", "Completion"}
    assert waiting == 0
    for status in statuses:
        assert status.in_flight == 0, status.name
        assert status.tokens_reserved == 0, status.name
        assert status.state is AccountState.ACTIVE, status.name
    assert all(completion.text for completion in after)


async def test_load_follows_capacity(database: str, llm: LLMStandin) -> None:
    wide = await add_account(llm, "wide", latency_s=0.02, columns={"max_concurrency": 6})
    narrow = await add_account(llm, "narrow", latency_s=0.02, columns={"max_concurrency": 2})

    async with open_pool() as pool:
        results = await asyncio.gather(*(pool.complete(chat()) for _ in range(400)))

    served = Counter(result.account_id for result in results)
    assert 0.65 <= served[wide.id] / 400 <= 0.85
    assert served[narrow.id] > 0


async def test_weight_steers_idle_choice(database: str, llm: LLMStandin) -> None:
    heavy = await add_account(llm, "heavy", columns={"weight": 3.0})
    light = await add_account(llm, "light", columns={"weight": 1.0})

    async with open_pool() as pool:
        results = [await pool.complete(chat()) for _ in range(300)]

    served = Counter(result.account_id for result in results)
    assert 0.65 <= served[heavy.id] / 300 <= 0.85
    assert served[light.id] > 0


async def test_waiters_served_in_arrival_order(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "single", latency_s=0.03, columns={"max_concurrency": 1})
    finished: list[int] = []

    async def numbered(pool_number: int, pool: object) -> None:
        await pool.complete(chat(f"Запрос номер {pool_number}."))  # type: ignore[attr-defined]
        finished.append(pool_number)

    async with open_pool() as pool:
        tasks = []
        for number in range(6):
            tasks.append(asyncio.create_task(numbered(number, pool)))
            await asyncio.sleep(0)
        started = time.monotonic()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started

    assert finished == list(range(6))
    assert elapsed < 1.0


async def test_waiter_woken_when_cooldown_ends(database: str, llm: LLMStandin) -> None:
    # With one account, a rate-limited request waits out the cooldown on the same account.
    account = await add_account(llm, "limited", script=["rate_limited:1"])
    policy = PoolPolicy(jitter_fraction=0.0)

    async with open_pool(policy=policy) as pool:
        started = time.monotonic()
        result = await pool.complete(chat(deadline_s=3.0))
        elapsed = time.monotonic() - started

    stored = await ChatGPTAccount.get(id=account.id)

    assert result.text
    assert result.attempts == 2
    assert 0.9 <= elapsed <= 2.0
    assert [r.status for r in llm.requests(account.api_key)] == [429, 200]
    assert stored.state is AccountState.ACTIVE
    assert stored.cooldown_until is None


async def test_rate_limit_cooldown_past_deadline(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "limited", script=["rate_limited:30"])

    async with open_pool() as pool:
        started = time.monotonic()
        with pytest.raises(PoolExhausted) as caught:
            await pool.complete(chat(deadline_s=5.0))
        elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert "within the" in str(caught.value)


async def test_waiting_request_fails_when_accounts_disabled(
    database: str, llm: LLMStandin
) -> None:
    account = await add_account(llm, "busy", latency_s=0.5, columns={"max_concurrency": 1})

    async with open_pool() as pool:
        running = asyncio.create_task(pool.complete(chat()))
        waiting = asyncio.create_task(pool.complete(chat(deadline_s=5.0)))
        await asyncio.sleep(0.05)
        await ChatGPTAccount.filter(id=account.id).update(state=AccountState.DISABLED)
        await pool.refresh()
        started = time.monotonic()
        with pytest.raises(PoolError) as caught:
            await waiting
        elapsed = time.monotonic() - started
        await running

    assert type(caught.value).__name__ == "NoUsableAccount"
    assert elapsed < 0.3


def reject_refusals(completion: object) -> str | None:
    return "refusal" if getattr(completion, "text", "") == REFUSAL_TEXT else None


async def test_keys_never_logged(
    database: str, llm: LLMStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcomes = {
        "revoked": ["invalid_api_key"],
        "denied": ["permission_denied"],
        "broke": ["insufficient_quota"],
        "limited": ["rate_limited:1"],
        "failing": ["server_error"] * 5,
        "hanging": ["hang"],
        "refusing": ["refusal"] * 5,
        "missing": ["model_not_found"],
    }
    accounts = [await add_account(llm, name, script=script) for name, script in outcomes.items()]
    llm.revoke(accounts[0].api_key)
    alerts: list[AdminAlert] = []
    errors: list[BaseException] = []
    env_key = "sk-env-secret-key-99887766"
    llm.add_key(env_key)
    settings = load_settings(
        env_file=None,
        openai_api_key=SecretStr(env_key),
        openai_base_url=llm.base_url,
        openai_model="stand-in",
    )
    await ensure_env_account(settings)

    async with open_pool(request_timeout_s=0.3) as pool:
        pool.subscribe(alerts.append)
        for _ in range(12):
            try:
                await pool.complete(chat(max_attempts=4), reject_refusals)
            except PoolError as error:
                errors.append(error)
        snapshot_text = repr(pool.snapshot())
    rows_text = repr(await ChatGPTAccount.all()) + str(await ChatGPTAccount.all())

    keys = [account.api_key for account in accounts] + [env_key]
    texts = [caplog.text, snapshot_text, rows_text, repr(alerts), repr(errors)]
    texts += [str(error) for error in errors]
    assert len(caplog.records) > 20
    assert len(alerts) >= 4
    for key in keys:
        for text in texts:
            assert key not in text
            assert key[:-4] not in text


async def test_env_account_created_and_updated(database: str) -> None:
    settings = load_settings(
        env_file=None,
        openai_api_key=SecretStr("sk-env-first-key-000001"),
        openai_base_url="http://127.0.0.1:9/v1",
        openai_model="model-a",
    )
    await ensure_env_account(settings)
    row = await ChatGPTAccount.get(name=ENV_ACCOUNT_NAME)
    await ChatGPTAccount.filter(id=row.id).update(
        state=AccountState.DISABLED, state_reason="HTTP 401"
    )

    await ensure_env_account(settings.model_copy(update={"openai_model": "model-b"}))
    same_key = await ChatGPTAccount.get(name=ENV_ACCOUNT_NAME)
    new_key = SecretStr("sk-env-second-key-00002")
    await ensure_env_account(settings.model_copy(update={"openai_api_key": new_key}))
    replaced = await ChatGPTAccount.get(name=ENV_ACCOUNT_NAME)

    assert row.base_url == "http://127.0.0.1:9/v1"
    assert row.model == "model-a"
    assert same_key.model == "model-b"
    assert same_key.state is AccountState.DISABLED
    assert replaced.api_key == "sk-env-second-key-00002"
    assert replaced.state is AccountState.ACTIVE
    assert replaced.state_reason == ""
    assert await ChatGPTAccount.all().count() == 1


async def test_env_account_skipped_without_key(database: str) -> None:
    await ensure_env_account(load_settings(env_file=None, openai_api_key=None))

    assert await ChatGPTAccount.all().count() == 0
