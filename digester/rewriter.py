"""Rewriting one post in one tone through the account pool, with validation and fallback.

The model is asked for Telegram HTML limited to b, i, u, s, a and code, and its reply is
sanitised to what Telegram accepts whatever it contains. A result that fails validation is
retried on another account by the pool. When no account can deliver, the tone's version is
the original text, marked as such, so the reader still gets the post.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from digester.html import sanitize_html, visible_text
from digester.language import same_language
from digester.pool import (
    AccountPool,
    ChatRequest,
    Completion,
    NoUsableAccount,
    PoolError,
)
from digester.pool.selection import request_cost
from digester.tones import AS_IS

log = logging.getLogger(__name__)

# Rough characters per token for Russian and English text, used to size max_tokens.
CHARS_PER_TOKEN = 3
# Replies that decline the task instead of doing it, in English and Russian.
REFUSAL = re.compile(
    r"^\s*(I'?m sorry|I am sorry|I can(?:'|no)t|I cannot|As an AI|Sorry, (?:but )?I|"
    r"Извините|Простите|К сожалению, я не могу|Я не могу)",
    re.IGNORECASE,
)

SYSTEM_PROMPT = (
    "You rewrite posts of Telegram channels for a reader's digest. Follow the tone "
    "instruction. Write in the language of the post. Keep every fact, name, number and date "
    "of the post; add nothing that is not in it. Answer with the rewritten text only, at most "
    "{max_chars} characters, formatted as Telegram HTML that uses only <b>, <i>, <u>, <s>, "
    '<code> and <a href="...">, with &, < and > escaped in text.\n\nTone: {instruction}'
)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One tone's version of a post."""

    text_html: str
    is_original: bool
    account_id: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback_reason: str = ""


@dataclass(frozen=True, slots=True)
class PostText:
    """The fields of a post that the rewriter reads."""

    post_id: int
    text_html: str


class Rewriter:
    """Turns a post into a tone's version, counting fallbacks by reason."""

    def __init__(self, pool: AccountPool | None, *, max_chars: int, max_attempts: int,
                 deadline_s: float) -> None:  # fmt: skip
        self._pool = pool
        self._max_chars = max_chars
        self._max_attempts = max_attempts
        self._deadline_s = deadline_s
        self.fallbacks: Counter[str] = Counter()
        self._warned_no_account = False

    def needs_model(self, post: PostText, tone_code: str) -> bool:
        """Tell whether this tone of this post is a model call; "as is" and empty posts are not."""
        return tone_code != AS_IS and bool(visible_text(post.text_html).strip())

    async def rewrite(self, post: PostText, tone_code: str, instruction: str) -> Rewrite:
        """Return the tone's version of the post; pool errors turn into the original text."""
        if not self.needs_model(post, tone_code):
            return Rewrite(text_html=post.text_html, is_original=True)
        if self._pool is None or not self._pool.has_usable_account():
            return self._fallback(post, tone_code, "no_account")
        request = self._request(post, instruction)
        try:
            completion = await self._pool.complete(request, self._validator(post))
        except NoUsableAccount:
            return self._fallback(post, tone_code, "no_account")
        except PoolError as exc:
            return self._fallback(post, tone_code, type(exc).__name__, str(exc))
        except Exception as exc:  # noqa: BLE001 - a fault in the pool must not lose the post
            return self._fallback(post, tone_code, "error", repr(exc), with_traceback=True)
        return Rewrite(
            text_html=sanitize_html(completion.text),
            is_original=False,
            account_id=completion.account_id,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )

    def _request(self, post: PostText, instruction: str) -> ChatRequest:
        system = SYSTEM_PROMPT.format(max_chars=self._max_chars, instruction=instruction)
        return ChatRequest(
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": post.text_html},
            ],
            max_tokens=self._max_chars // CHARS_PER_TOKEN + 64,
            deadline_s=self._deadline_s,
            max_attempts=self._max_attempts,
        )

    def _validator(self, post: PostText) -> ValidatorForPost:
        return ValidatorForPost(visible_text(post.text_html), self._max_chars)

    def _fallback(
        self,
        post: PostText,
        tone_code: str,
        reason: str,
        detail: str = "",
        with_traceback: bool = False,
    ) -> Rewrite:
        self.fallbacks[reason] += 1
        if reason == "no_account":
            if not self._warned_no_account:
                self._warned_no_account = True
                log.warning("no usable ChatGPT account: posts are delivered as written")
        else:
            log.warning(
                "rewrite fell back to the original post_id=%d tone=%s reason=%s detail=%s",
                post.post_id, tone_code, reason, detail, exc_info=with_traceback,
            )  # fmt: skip
        return Rewrite(text_html=post.text_html, is_original=True, fallback_reason=reason)


def smallest_rewrite_cost(max_chars: int) -> int:
    """Return the tokens that the pool reserves for a rewrite of an empty post.

    A longer post or tone instruction reserves more, so every rewrite costs at least this.
    """
    rewriter = Rewriter(None, max_chars=max_chars, max_attempts=1, deadline_s=1.0)
    request = rewriter._request(PostText(post_id=0, text_html=""), instruction="")
    return request_cost(request)[0]


class ValidatorForPost:
    """Checks one completion against the post it rewrites; returns the reason it is invalid."""

    def __init__(self, source_text: str, max_chars: int) -> None:
        self._source_text = source_text
        self._max_chars = max_chars

    def __call__(self, completion: Completion) -> str | None:
        return validate_rewrite(completion, self._source_text, self._max_chars)


def validate_rewrite(completion: Completion, source_text: str, max_chars: int) -> str | None:
    """Return why a completion is not a usable rewrite of the source, or None when it is."""
    if completion.finish_reason != "stop":
        return f"finish_reason_{completion.finish_reason}"
    text = visible_text(sanitize_html(completion.text)).strip()
    if not text:
        return "empty"
    if REFUSAL.match(text):
        return "refusal"
    if not same_language(source_text, text):
        return "wrong_language"
    if len(text) > max_chars:
        return "too_long"
    return None
