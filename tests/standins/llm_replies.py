"""Recorded requests, response bodies and rate-limit buckets of the LLM stand-in."""

from __future__ import annotations

import hashlib
import html
import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

REFUSAL_TEXT = "I'm sorry, but I can't help with that."
ENGLISH_TEXT = "Here is a short summary of the post, written in English on purpose."
REWRITE_MAX_CHARS = 300

_TAG = re.compile(r"<[^>]+>")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[,.;:!?…])")

# Scripted outcomes: one of these names is consumed per request, in order.
ERROR_OUTCOMES = {
    "invalid_api_key": (401, "invalid_request_error", None),
    "permission_denied": (403, "invalid_request_error", None),
    "insufficient_quota": (429, "insufficient_quota", None),
    "rate_limited": (429, "requests", None),
    "model_not_found": (404, "invalid_request_error", "model"),
    "context_length_exceeded": (400, "invalid_request_error", "messages"),
    "server_error": (500, "server_error", None),
}
REPLY_OUTCOMES = {"empty", "length", "content_filter", "refusal", "wrong_language"}
OTHER_OUTCOMES = {"ok", "hang"}
OUTCOMES = set(ERROR_OUTCOMES) | REPLY_OUTCOMES | OTHER_OUTCOMES

_ERROR_MESSAGES = {
    "invalid_api_key": "Incorrect API key provided: {key}. Check the key and try again.",
    "permission_denied": "The key {key} has no permission to use this project.",
    "insufficient_quota": "You exceeded your current quota; check your plan and billing.",
    "rate_limited": "Rate limit reached for requests. Please try again in {wait}.",
    "model_not_found": "The model `{model}` does not exist or you do not have access to it.",
    "context_length_exceeded": "This model's maximum context length was exceeded.",
    "server_error": "The server had an error while processing your request.",
}


def mask_key(key: str) -> str:
    """Return a key shortened to its first 3 and last 4 characters, as error messages show it."""
    if len(key) <= 10:
        return "***"
    return f"{key[:3]}***{key[-4:]}"


def plain_text(markup: str) -> str:
    """Strip HTML tags and entities and collapse white space."""
    text = " ".join(html.unescape(_TAG.sub(" ", markup)).split())
    return _SPACE_BEFORE_PUNCTUATION.sub("", text)


def rewrite(markup: str, max_chars: int = REWRITE_MAX_CHARS) -> str:
    """Return the first whole sentences of a text, up to ``max_chars``, in its own language."""
    text = plain_text(markup)
    result = ""
    for sentence in _SENTENCE_BREAK.split(text):
        candidate = f"{result} {sentence}".strip()
        if len(candidate) > max_chars:
            break
        result = candidate
    return result or cut_to_words(text, max_chars)


def cut_to_words(text: str, max_chars: int) -> str:
    """Return the longest prefix of whole words that fits into ``max_chars``."""
    result = ""
    for word in text.split():
        candidate = f"{result} {word}".strip()
        if len(candidate) > max_chars:
            break
        result = candidate
    return result or text[:max_chars]


def estimate_tokens(text: str) -> int:
    """Return the stand-in's token estimate of a text: one token per four characters."""
    return len(text) // 4 + 1


def format_duration(seconds: float) -> str:
    """Format seconds the way OpenAI rate-limit headers do: ``120ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".")
    return f"{int(minutes)}m{rest_text}s" if minutes else f"{rest_text}s"


def error_body(outcome: str, *, key: str, model: str, wait_s: float = 0.0) -> dict[str, Any]:
    """Build the JSON body of a scripted or enforced error, in the OpenAI error shape."""
    _, error_type, param = ERROR_OUTCOMES[outcome]
    message = _ERROR_MESSAGES[outcome].format(
        key=mask_key(key), model=model, wait=format_duration(wait_s)
    )
    code = None if outcome == "server_error" else outcome
    if outcome == "rate_limited":
        code = "rate_limit_exceeded"
    return {"error": {"message": message, "type": error_type, "code": code, "param": param}}


@dataclass
class RecordedRequest:
    """One chat request as the stand-in received it. ``status`` is 0 until the response is sent."""

    key: str
    at: float
    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None
    status: int = 0
    outcome: str = ""


@dataclass
class MinuteBucket:
    """A token bucket of ``limit`` units that refills ``limit`` units per minute."""

    limit: int
    level: float
    updated: float

    @classmethod
    def full(cls, limit: int, now: float) -> MinuteBucket:
        return cls(limit=limit, level=float(limit), updated=now)

    def refill(self, now: float) -> None:
        """Add the units that accrued since the last update."""
        self.level = min(self.limit, self.level + (now - self.updated) * self.limit / 60)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Return the seconds until ``amount`` units are available, 0 when they are now."""
        missing = min(amount, self.limit) - self.level
        return max(0.0, missing * 60 / self.limit)

    def headers(self, resource: str) -> dict[str, str]:
        """Return the ``x-ratelimit-*`` headers of this bucket for ``requests`` or ``tokens``."""
        reset_s = (self.limit - self.level) * 60 / self.limit
        return {
            f"x-ratelimit-limit-{resource}": str(self.limit),
            f"x-ratelimit-remaining-{resource}": str(max(0, math.floor(self.level))),
            f"x-ratelimit-reset-{resource}": format_duration(reset_s),
        }


def key_label(key: str) -> str:
    """Return a label that distinguishes keys without showing them: masked key and hash."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{mask_key(key)}#{digest}"


def estimate_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return estimate_tokens("".join(str(m.get("content") or "") for m in messages))


def retry_after_headers(wait_s: float) -> dict[str, str]:
    return {"retry-after": str(math.ceil(wait_s)), "retry-after-ms": str(math.ceil(wait_s * 1000))}


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def reply_text(record: RecordedRequest, outcome: str) -> tuple[str | None, str]:
    """Return the content and finish reason of a successful response."""
    if outcome == "empty":
        return "", "stop"
    if outcome == "content_filter":
        return None, "content_filter"
    if outcome == "refusal":
        return REFUSAL_TEXT, "stop"
    if outcome == "wrong_language":
        return ENGLISH_TEXT, "stop"
    text = rewrite(last_user_text(record.messages))
    if outcome == "length":
        return cut_to_words(text, max(1, len(text) // 2)), "length"
    max_tokens = record.max_tokens
    if max_tokens is not None and estimate_tokens(text) > max_tokens:
        return cut_to_words(text, max_tokens * 4), "length"
    return text, "stop"


def completion_body(
    record: RecordedRequest, text: str | None, finish_reason: str
) -> dict[str, Any]:
    prompt_tokens = estimate_prompt_tokens(record.messages)
    completion_tokens = estimate_tokens(text or "")
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": record.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
