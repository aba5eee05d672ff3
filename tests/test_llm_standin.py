"""The LLM stand-in speaks the OpenAI protocol as the real ``openai`` client expects it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import openai
import pytest

from tests.standins import llm_replies
from tests.standins.llm import LLMStandin
from tests.standins.process import StandinProcess

KEY = "sk-test-standin-000000001"
RUSSIAN = (
    "<p>Первое предложение о <b>космосе</b>. Второе предложение про ракеты! "
    + "Третье предложение очень длинное и повторяется. " * 10
    + "</p>"
)


@pytest.fixture
async def llm() -> AsyncIterator[LLMStandin]:
    async with LLMStandin(hang_s=5.0) as server:
        server.add_key(KEY)
        yield server


def client_for(llm: LLMStandin, key: str = KEY, timeout_s: float = 2.0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=llm.base_url, max_retries=0, timeout=timeout_s)


async def ask(client: openai.AsyncOpenAI, text: str = RUSSIAN, max_tokens: int = 200) -> str:
    completion = await client.chat.completions.create(
        model="stand-in", messages=[{"role": "user", "content": text}], max_tokens=max_tokens
    )
    return completion.choices[0].message.content or ""


async def test_default_reply_keeps_language(llm: LLMStandin) -> None:
    client = client_for(llm)
    completion = await client.chat.completions.create(
        model="stand-in",
        messages=[
            {"role": "system", "content": "Rewrite the post."},
            {"role": "user", "content": RUSSIAN},
        ],
        max_tokens=200,
    )
    await client.close()

    text = completion.choices[0].message.content or ""
    assert text.startswith("Первое предложение о космосе. Второе предложение про ракеты!")
    assert "<" not in text
    assert len(text) <= llm_replies.REWRITE_MAX_CHARS
    assert text.endswith(".")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == "stand-in"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(text) // 4 + 1
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


async def test_requests_recorded_per_key(llm: LLMStandin) -> None:
    client = client_for(llm)
    await ask(client, "Один. Два.", max_tokens=50)
    await client.close()

    [request] = llm.requests(KEY)
    assert request.model == "stand-in"
    assert request.max_tokens == 50
    assert request.messages == [{"role": "user", "content": "Один. Два."}]
    assert request.status == 200
    assert request.at <= time.monotonic()
    assert llm.requests("sk-other-key-0000001") == []


@pytest.mark.parametrize(
    ("outcome", "error_class", "code"),
    [
        ("insufficient_quota", openai.RateLimitError, "insufficient_quota"),
        ("invalid_api_key", openai.AuthenticationError, "invalid_api_key"),
        ("permission_denied", openai.PermissionDeniedError, "permission_denied"),
        ("model_not_found", openai.NotFoundError, "model_not_found"),
        ("context_length_exceeded", openai.BadRequestError, "context_length_exceeded"),
        ("server_error", openai.InternalServerError, None),
        ("rate_limited:3", openai.RateLimitError, "rate_limit_exceeded"),
    ],
)
async def test_scripted_error_raises_client_class(
    llm: LLMStandin, outcome: str, error_class: type[openai.APIStatusError], code: str | None
) -> None:
    llm.script(KEY, outcome)
    client = client_for(llm)

    with pytest.raises(error_class) as caught:
        await ask(client)
    reply_after = await ask(client)
    await client.close()

    assert caught.value.code == code
    body = caught.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "code", "param"}
    assert KEY not in str(caught.value)
    assert reply_after.startswith("Первое предложение")


async def test_scripted_rate_limit_headers(llm: LLMStandin) -> None:
    llm.script(KEY, "rate_limited:3:7")
    client = client_for(llm)

    with pytest.raises(openai.RateLimitError) as caught:
        await ask(client)
    await client.close()

    headers = caught.value.response.headers
    assert headers["retry-after"] == "3"
    assert headers["retry-after-ms"] == "3000"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "7s"


async def test_unknown_key_gets_401(llm: LLMStandin) -> None:
    client = client_for(llm, key="sk-unknown-key-0000001")

    with pytest.raises(openai.AuthenticationError) as caught:
        await ask(client)
    await client.close()

    assert caught.value.code == "invalid_api_key"
    assert "sk-unknown-key-0000001" not in str(caught.value)


async def test_hang_raises_timeout(llm: LLMStandin) -> None:
    llm.script(KEY, "hang")
    client = client_for(llm, timeout_s=0.3)
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        await ask(client)
    await client.close()

    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("outcome", "content", "finish_reason"),
    [
        ("empty", "", "stop"),
        ("content_filter", None, "content_filter"),
        ("refusal", llm_replies.REFUSAL_TEXT, "stop"),
        ("wrong_language", llm_replies.ENGLISH_TEXT, "stop"),
    ],
)
async def test_scripted_reply_parsed(
    llm: LLMStandin, outcome: str, content: str | None, finish_reason: str
) -> None:
    llm.script(KEY, outcome)
    client = client_for(llm)

    completion = await client.chat.completions.create(
        model="stand-in", messages=[{"role": "user", "content": RUSSIAN}], max_tokens=200
    )
    await client.close()

    assert completion.choices[0].message.content == content
    assert completion.choices[0].finish_reason == finish_reason


async def test_length_cuts_reply(llm: LLMStandin) -> None:
    llm.script(KEY, "length")
    client = client_for(llm)

    completion = await client.chat.completions.create(
        model="stand-in", messages=[{"role": "user", "content": RUSSIAN}], max_tokens=200
    )
    short = await client.chat.completions.create(
        model="stand-in", messages=[{"role": "user", "content": RUSSIAN}], max_tokens=3
    )
    await client.close()

    assert completion.choices[0].finish_reason == "length"
    assert short.choices[0].finish_reason == "length"
    assert len(short.choices[0].message.content or "") <= 12


async def test_requests_per_minute_enforced(llm: LLMStandin) -> None:
    llm.add_key(KEY, requests_per_minute=2, tokens_per_minute=100_000)
    client = client_for(llm)

    raw = await client.chat.completions.with_raw_response.create(
        model="stand-in", messages=[{"role": "user", "content": "Раз."}], max_tokens=10
    )
    await ask(client, "Два.")
    with pytest.raises(openai.RateLimitError) as caught:
        await ask(client, "Три.")
    await client.close()

    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
    assert caught.value.code == "rate_limit_exceeded"
    headers = caught.value.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert int(headers["retry-after"]) >= 1
    assert [r.status for r in llm.requests(KEY)] == [200, 200, 429]


async def test_tokens_per_minute_enforced(llm: LLMStandin) -> None:
    llm.add_key(KEY, tokens_per_minute=300)
    client = client_for(llm)

    await ask(client, "Раз.", max_tokens=200)
    with pytest.raises(openai.RateLimitError) as caught:
        await ask(client, "Два.", max_tokens=200)
    await client.close()

    # 300 tokens minus the first request's 2 prompt tokens and 200 max_tokens, plus refill.
    assert caught.value.response.headers["x-ratelimit-remaining-tokens"] in ("98", "99")


async def test_fault_rate_seeded(llm: LLMStandin) -> None:
    outcomes = []
    for _ in range(2):
        async with LLMStandin(seed=3) as server:
            server.add_key(KEY, fault_rate=0.5)
            client = client_for(server)
            for _ in range(20):
                try:
                    await ask(client, "Раз.")
                    outcomes.append(200)
                except openai.InternalServerError:
                    outcomes.append(500)
            await client.close()

    assert outcomes[:20] == outcomes[20:]
    assert 3 <= outcomes[:20].count(500) <= 17


async def test_subprocess_serves_and_reports() -> None:
    async with StandinProcess(keys=["sk-process-key-000001"], latency_ms=10) as standin:
        client = openai.AsyncOpenAI(
            api_key="sk-process-key-000001", base_url=standin.base_url, max_retries=0
        )
        text = await ask(client, "Раз. Два.")
        await standin.configure("sk-process-key-000001", script=["server_error"])
        with pytest.raises(openai.InternalServerError):
            await ask(client, "Раз.")
        await client.close()
        counts = await standin.status_counts()

    assert standin.base_url.startswith("http://127.0.0.1:")
    assert text == "Раз. Два."
    assert counts == {200: 1, 500: 1}


def test_format_duration_like_openai() -> None:
    assert llm_replies.format_duration(0.12) == "120ms"
    assert llm_replies.format_duration(1) == "1s"
    assert llm_replies.format_duration(1.5) == "1.5s"
    assert llm_replies.format_duration(360) == "6m0s"
