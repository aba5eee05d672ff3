"""Chat calls to one account through its own reused ``openai.AsyncOpenAI`` client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from digester.pool.account import AccountConfig
from digester.pool.api import ChatRequest
from digester.pool.classify import classify, redact
from digester.pool.limits import RateLimitHeaders

PROBE_REQUEST = ChatRequest(
    messages=[{"role": "user", "content": "Reply with the single word: ok"}],
    max_tokens=1,
    temperature=0.0,
)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The parts of a successful chat completion that the pool uses."""

    text: str
    finish_reason: str
    prompt_tokens: int | None  # None when the server sent no usage
    completion_tokens: int | None
    limits: RateLimitHeaders


def make_client(config: AccountConfig, timeout_s: float) -> openai.AsyncOpenAI:
    """Create the account's client with retries off, because the pool is the only retry loop."""
    return openai.AsyncOpenAI(
        api_key=config.api_key, base_url=config.base_url, max_retries=0, timeout=timeout_s
    )


async def send_chat(
    client: openai.AsyncOpenAI, model: str, request: ChatRequest, timeout_s: float
) -> ChatResult:
    """Send one chat completion request; raise the client's exception on any failure."""
    raw = await client.chat.completions.with_raw_response.create(
        model=model,
        messages=cast(list[ChatCompletionMessageParam], request.messages),
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        timeout=timeout_s,
    )
    completion: ChatCompletion = raw.parse()
    limits = RateLimitHeaders.parse(raw.headers)
    usage = completion.usage
    prompt_tokens = usage.prompt_tokens if usage else None
    completion_tokens = usage.completion_tokens if usage else None
    if not completion.choices:
        return ChatResult("", "", prompt_tokens, completion_tokens, limits)
    choice = completion.choices[0]
    text = choice.message.content or ""
    return ChatResult(text, choice.finish_reason or "", prompt_tokens, completion_tokens, limits)


def output_problem(text: str, finish_reason: str) -> str | None:
    """Return why a completion is unusable whatever the caller's validator decides, else None."""
    if finish_reason == "content_filter":
        return "output withheld by the content filter"
    if finish_reason == "length":
        return "output cut off at max_tokens"
    if not text.strip():
        return "empty output"
    return None


async def probe_account(config: AccountConfig, timeout_s: float) -> tuple[str, bool]:
    """Send a one-token chat request, and return a line with the outcome and whether it passed.

    The account's stored state is left as it is.
    """
    started = time.perf_counter()
    try:
        result = await _send_probe(config, timeout_s)
    except Exception as error:
        failure = classify(error, config.api_key)
        if failure is not None:
            return f"failed ({failure.kind}): {failure.reason}", False
        # The client raises other types for settings it cannot send, for example
        # httpx2.InvalidURL, or an ExceptionGroup with an OverflowError for a port above 65535.
        return f"failed (client error): {_describe_error(error, config.api_key)}", False
    elapsed_ms = (time.perf_counter() - started) * 1000
    problem = _probe_output_problem(result)
    if problem is not None:
        return f"failed (output): {problem}, finish_reason={result.finish_reason}", False
    return f"ok in {elapsed_ms:.0f} ms, finish_reason={result.finish_reason}", True


async def _send_probe(config: AccountConfig, timeout_s: float) -> ChatResult:
    client = make_client(config, timeout_s)
    try:
        return await send_chat(client, config.model, PROBE_REQUEST, timeout_s)
    finally:
        await client.close()


def _probe_output_problem(result: ChatResult) -> str | None:
    # The probe allows one token, so a working server may end its reply with finish_reason
    # length. Only an empty reply or a filtered one counts against the account.
    if result.finish_reason == "length":
        return None if result.text.strip() else "empty output"
    return output_problem(result.text, result.finish_reason)


def _describe_error(error: BaseException, api_key: str) -> str:
    """Return one line naming an exception, with the key masked and group members unwrapped."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return redact(text, api_key)[:200]
