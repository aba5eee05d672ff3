"""Accounts backed by the LLM stand-in, and a pool over them, for the pool's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from digester.models import ChatGPTAccount
from digester.pool import AccountPool, ChatRequest
from tests.standins.llm import LLMStandin

RUSSIAN_POST = (
    "<b>Новости науки.</b> Учёные измерили скорость ледника в Антарктиде. "
    "Он движется быстрее, чем считалось раньше. Подробности в статье."
)


def chat(text: str = RUSSIAN_POST, **options: Any) -> ChatRequest:
    """Return a small rewrite request, with short defaults for tests."""
    options.setdefault("max_tokens", 100)
    options.setdefault("deadline_s", 5.0)
    return ChatRequest(messages=[{"role": "user", "content": text}], **options)


async def add_account(
    llm: LLMStandin,
    name: str,
    *,
    key: str | None = None,
    columns: dict[str, Any] | None = None,
    **behaviour: Any,
) -> ChatGPTAccount:
    """Accept a key at the stand-in and store an account that uses it."""
    key = key or f"sk-test-{name}-0123456789"
    llm.add_key(key, **behaviour)
    # No rate limits unless a test sets them, because buckets never refill under a ManualClock.
    values: dict[str, Any] = {
        "model": "stand-in",
        "max_concurrency": 8,
        "requests_per_minute": 0,
        "tokens_per_minute": 0,
    }
    values |= columns or {}
    return await ChatGPTAccount.create(name=name, api_key=key, base_url=llm.base_url, **values)


@asynccontextmanager
async def open_pool(**options: Any) -> AsyncIterator[AccountPool]:
    """Create a pool from the database and close it afterwards."""
    options.setdefault("request_timeout_s", 2.0)
    options.setdefault("seed", 7)
    pool = await AccountPool.from_database(**options)
    try:
        yield pool
    finally:
        await pool.close()
