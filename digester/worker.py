"""The digester worker: takes post ids from the queue and turns each post into summaries
bound to every subscriber's open digest.

Per post it sends a fixed number of statements whatever the number of subscribers. It loads
the post, creates missing open digests, reads the channel's distinct tones and the summaries
already stored, inserts the new ones, binds them and marks the post done. Tones of one post are
rewritten concurrently; the account pool bounds the concurrency of model calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from digester.models import ChatGPTAccount, Post, PostState, Summary
from digester.queries import ToneTarget, bind_post_summaries, prepare_channel_targets
from digester.queue import PostQueue, QueueClosed
from digester.rewriter import PostText, Rewrite, Rewriter

log = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How many posts run at once and how often a failing post is tried."""

    consumers: int = 8
    max_attempts: int = 5
    retry_base_s: float = 2.0
    retry_max_s: float = 300.0


class Digester:
    """Consumes post ids until the queue closes; every task it starts is kept and awaited."""

    def __init__(self, queue: PostQueue, rewriter: Rewriter, config: WorkerConfig) -> None:
        self._queue = queue
        self._rewriter = rewriter
        self._config = config

    async def requeue_unfinished(self) -> int:
        """Queue every post that is not done yet, oldest first; run once at start-up."""
        ids = await Post.filter(state=PostState.PENDING).order_by("id").values("id")
        for row in ids:
            await self._queue.put(int(row["id"]))
        log.info("unfinished posts queued count=%d", len(ids))
        return len(ids)

    async def run(self) -> None:
        """Run the consumers until the queue is closed and the posts they hold are finished."""
        async with asyncio.TaskGroup() as group:
            for number in range(self._config.consumers):
                group.create_task(self._consume(number), name=f"digester-consumer-{number}")

    async def _consume(self, number: int) -> None:
        while True:
            try:
                post_id = await self._queue.get()
            except QueueClosed:
                log.debug("consumer stopped number=%d", number)
                return
            retry_in_s = await self._process_guarded(post_id)
            await self._queue.task_done(post_id, retry_in_s=retry_in_s)

    async def _process_guarded(self, post_id: int) -> float | None:
        """Process one post; on failure record it and return the delay before the next try."""
        try:
            await self.process(post_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad post must not stop the worker
            failure = exc
        else:
            return None
        try:
            return await self._record_failure(post_id, failure)
        except Exception as exc:  # noqa: BLE001 - the database may be down as well
            log.error("post failure not recorded post_id=%d error=%r", post_id, exc)
            return self._config.retry_max_s

    async def process(self, post_id: int) -> None:
        """Rewrite a post in every missing tone, store the summaries and bind them."""
        started = time.perf_counter()
        post = await Post.get_or_none(id=post_id)
        if post is None or post.state != PostState.PENDING:
            return
        now = datetime.now(UTC)
        channel_id: int = post.channel_id  # type: ignore[attr-defined]
        targets = await prepare_channel_targets(channel_id, now)
        rewrites = await self._rewrite_missing(post, targets)
        if rewrites:
            await _store_summaries(post.id, rewrites)
        bound = await bind_post_summaries(channel_id, post.id, now) if targets else 0
        await Post.filter(id=post.id).update(state=PostState.DONE, last_error=None, updated_at=now)
        log.info(
            "post processed post_id=%d tones=%d new_summaries=%d rewritten=%d bound=%d ms=%.0f",
            post.id, len(targets), len(rewrites), _count_rewritten(rewrites), bound,
            (time.perf_counter() - started) * 1000,
        )  # fmt: skip

    async def _rewrite_missing(self, post: Post, targets: list[ToneTarget]) -> dict[int, Rewrite]:
        if not targets:
            return {}
        done = await Summary.filter(
            post_id=post.id, tone_id__in=[target.tone_id for target in targets]
        ).values("tone_id")
        done_ids = {int(row["tone_id"]) for row in done}
        missing = [target for target in targets if target.tone_id not in done_ids]
        text = PostText(post_id=post.id, text_html=post.text)
        async with asyncio.TaskGroup() as group:
            tasks = {
                target.tone_id: group.create_task(
                    self._rewriter.rewrite(text, target.code, target.instruction)
                )
                for target in missing
            }
        return {tone_id: task.result() for tone_id, task in tasks.items()}

    async def _record_failure(self, post_id: int, exc: Exception) -> float | None:
        post = await Post.get_or_none(id=post_id)
        if post is None:
            log.error("post failed and is gone post_id=%d error=%r", post_id, exc)
            return None
        attempts = post.attempts + 1
        error = _describe(exc)[:ERROR_TEXT_LIMIT]
        final = attempts >= self._config.max_attempts
        state = PostState.FAILED if final else PostState.PENDING
        await Post.filter(id=post_id).update(attempts=attempts, last_error=error, state=state)
        if final:
            log.error(
                "post failed for good post_id=%d attempts=%d error=%s", post_id, attempts, error
            )
            return None
        growing_s = self._config.retry_base_s * 2 ** (attempts - 1)
        delay_s: float = min(growing_s, self._config.retry_max_s)
        log.warning(
            "post failed, retrying post_id=%d attempt=%d retry_in_s=%.0f error=%s",
            post_id, attempts, delay_s, error,
        )  # fmt: skip
        return delay_s


def _count_rewritten(rewrites: dict[int, Rewrite]) -> int:
    """Return how many of the new summaries the model wrote, fallbacks and "as is" aside."""
    return sum(not rewrite.is_original for rewrite in rewrites.values())


def _describe(exc: BaseException) -> str:
    """Return "Type: message" of an error, looking inside the groups that TaskGroup raises."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


async def _store_summaries(post_id: int, rewrites: dict[int, Rewrite]) -> None:
    """Insert the new summaries; one already stored for the same post and tone stays."""
    rows = [_summary_row(post_id, tone_id, rewrite) for tone_id, rewrite in rewrites.items()]
    try:
        await Summary.bulk_create(rows, ignore_conflicts=True)
    except IntegrityError:
        # An account removed while its request ran can no longer be referred to, and the
        # rewrite it returned is paid for, so it is kept without the account.
        used = {r.account_id for r in rewrites.values() if r.account_id is not None}
        found = await ChatGPTAccount.filter(id__in=used).values("id")
        existing = {int(account["id"]) for account in found}
        log.warning(
            "summary account not found, storing without it post_id=%d account_ids=%s",
            post_id,
            sorted(used - existing),
        )
        for row, rewrite in zip(rows, rewrites.values(), strict=True):
            if rewrite.account_id not in existing:
                row.account_id = None
        await Summary.bulk_create(rows, ignore_conflicts=True)


def _summary_row(post_id: int, tone_id: int, rewrite: Rewrite) -> Summary:
    return Summary(
        post_id=post_id,
        tone_id=tone_id,
        text=rewrite.text_html,
        is_original=rewrite.is_original,
        fallback_reason=rewrite.fallback_reason,
        account_id=rewrite.account_id,
        prompt_tokens=rewrite.prompt_tokens,
        completion_tokens=rewrite.completion_tokens,
    )
